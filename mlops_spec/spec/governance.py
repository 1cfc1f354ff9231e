"""Governance: the gates a new version must pass and how it is promoted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from mlops_spec.spec.common import Duration, ProjectPath, SpecModel


class ThresholdGate(SpecModel):
    """An absolute bound on a test-set metric."""

    metric: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ThresholdGate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs `min` or `max`")
        return self


class ChampionGate(SpecModel):
    """The challenger may be at most ``max_regression`` worse than the champion on the same rows."""

    compare_to: Literal["champion"]
    metric: str
    max_regression: float = Field(default=0.0, ge=0)


def _gate_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "champion" if "compare_to" in value else "threshold"
    return "champion" if isinstance(value, ChampionGate) else "threshold"


Gate = Annotated[
    Annotated[ChampionGate, Tag("champion")] | Annotated[ThresholdGate, Tag("threshold")],
    Discriminator(_gate_kind),
]


CANDIDATE_ALIAS = "challenger"
"""The alias every newly registered version gets, whatever its gates say."""


class Promotion(SpecModel):
    alias: str = Field(default="champion", pattern=r"^[a-z][a-z0-9_-]*$")
    approval: Literal["required", "none"] = "none"
    approval_timeout: Duration = 86400.0

    @field_validator("alias")
    @classmethod
    def _not_the_candidate_alias(cls, alias: str) -> str:
        """Every new version is made ``challenger``, gates passed or not; promoting to that
        alias would let a version that failed its gates serve as if promoted."""
        if alias == CANDIDATE_ALIAS:
            raise ValueError(
                f"'{CANDIDATE_ALIAS}' is the alias every new version gets, gates passed or "
                "not, so it cannot be the promotion alias; use another, such as champion"
            )
        return alias


class Governance(SpecModel):
    policy: ProjectPath | None = Field(
        default=None, description="A shared policy file merged under this spec; the spec wins."
    )
    gates: list[Gate] = Field(default_factory=list)
    required_metadata: list[str] = Field(
        default_factory=list, description="metadata keys (or metadata.tags keys) that must be set"
    )
    promotion: Promotion = Promotion()
