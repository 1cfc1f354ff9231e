"""Governance: the gates a new version must pass and how it is promoted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from mlops_spec.spec.common import Duration, ProjectPath, SpecModel


class ThresholdGate(SpecModel):
    """An absolute bound on a test-set metric; give `min`, `max` or both."""

    metric: str = Field(
        description="A test-set metric of the model's task (for example `roc_auc`, "
        "`accuracy`, `f1_macro`, `rmse`).",
        examples=["roc_auc"],
    )
    min: float | None = Field(
        default=None,
        description="Lowest value that passes (inclusive), in the metric's own units.",
        examples=[0.85],
    )
    max: float | None = Field(
        default=None,
        description="Highest value that passes (inclusive), for metrics where lower is better "
        "such as `rmse` or `log_loss`.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> ThresholdGate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs `min` or `max`")
        return self


class ChampionGate(SpecModel):
    """The challenger may be at most ``max_regression`` worse than the champion on the same rows."""

    compare_to: Literal["champion"] = Field(
        description="Always `champion`: the version currently holding the promotion alias, "
        "scored on this run's test rows. Passes when there is no champion yet."
    )
    metric: str = Field(
        description="The test-set metric compared; which way is worse follows the metric "
        "(lower `roc_auc`, higher `rmse`).",
        examples=["roc_auc"],
    )
    max_regression: float = Field(
        default=0.0,
        ge=0,
        description="How much worse than the champion the new version may be, in the metric's "
        "units (inclusive); `0` means at least as good.",
        examples=[0.01],
    )


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
    """Where a version that passes every gate goes, and whether a person must approve it first."""

    alias: str = Field(
        default="champion",
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="The MLflow alias a version that passes every gate moves to; scoring and "
        "serving load `models:/<name>@<alias>`. Lower case, and not `challenger` (the alias "
        "every new version gets).",
        examples=["champion"],
    )
    approval: Literal["required", "none"] = Field(
        default="none",
        description="`none`: passing every gate promotes at once. `required`: once every gate "
        "passes, the run pauses for a reviewer to approve or reject in the Prefect UI.",
    )
    approval_timeout: Duration = Field(
        default=86400.0,
        description="How long a paused run waits for a reviewer (a duration such as `1d`, `4h` "
        "or seconds; default 1 day); no answer keeps the version `challenger`.",
        examples=["1d", "4h"],
    )

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
    """What a new version must pass to be promoted, and how promotion happens. Every version is
    registered (as `challenger`) with each gate's decision, passed or not."""

    policy: ProjectPath | None = Field(
        default=None,
        description="A shared policy file (path from the project root) merged under this spec; "
        "the spec wins.",
        examples=["policies/default.yaml"],
    )
    gates: list[Gate] = Field(
        default_factory=list,
        description="Checks on the test metrics, all of which must pass for promotion: an "
        "absolute bound (`{metric, min/max}`) or a comparison with the champion "
        "(`{compare_to: champion, metric, max_regression}`).",
        examples=[
            [
                {"metric": "roc_auc", "min": 0.85},
                {"compare_to": "champion", "metric": "roc_auc", "max_regression": 0.01},
            ]
        ],
    )
    required_metadata: list[str] = Field(
        default_factory=list,
        description="Keys of `metadata` (such as `description`) or of `metadata.tags` that must "
        "be set and non-empty; validate reports a missing one.",
        examples=[["description", "team"]],
    )
    promotion: Promotion = Field(
        default=Promotion(),
        description="The alias a passing version moves to and whether approval is needed; "
        "omitted: `champion`, no approval.",
    )
