"""The tuning block: an Optuna study described as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag, model_validator

from mlops_spec.spec.common import Duration, Seed, SpecModel


class FloatParam(SpecModel):
    float_: Annotated[tuple[float, float], Field(alias="float")]
    log: bool = False
    step: float | None = Field(default=None, gt=0)
    kind: ClassVar[str] = "float"

    @model_validator(mode="after")
    def _bounds(self) -> FloatParam:
        low, high = self.float_
        if low >= high:
            raise ValueError(f"the lower bound {low} must be below the upper bound {high}")
        if self.log and low <= 0:
            raise ValueError("a log-scale range must be positive")
        if self.log and self.step is not None:
            raise ValueError("a float range cannot have both log and step (Optuna refuses it)")
        return self


class IntParam(SpecModel):
    int_: Annotated[tuple[int, int], Field(alias="int")]
    log: bool = False
    step: int = Field(default=1, ge=1)
    kind: ClassVar[str] = "int"

    @model_validator(mode="after")
    def _bounds(self) -> IntParam:
        low, high = self.int_
        if low >= high:
            raise ValueError(f"the lower bound {low} must be below the upper bound {high}")
        if self.log and low <= 0:
            raise ValueError("a log-scale range must be positive")
        if self.log and self.step != 1:
            raise ValueError("a log-scale int range needs step 1 (Optuna refuses others)")
        return self


class CategoricalParam(SpecModel):
    choices: list[str | int | float | bool | None] = Field(min_length=1)
    kind: ClassVar[str] = "choices"


def _param_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in ("float", "int", "choices"):
            if kind in value:
                return kind
        return None
    return getattr(value, "kind", None)


Param = Annotated[
    Annotated[FloatParam, Tag("float")]
    | Annotated[IntParam, Tag("int")]
    | Annotated[CategoricalParam, Tag("choices")],
    Discriminator(
        _param_kind,
        custom_error_type="search_space_param",
        custom_error_message="a search-space entry is {float: [low, high]}, {int: [low, high]} "
        "or {choices: [...]}",
    ),
]


class Sampler(StrEnum):
    tpe = "tpe"
    random = "random"
    qmc = "qmc"


class Pruner(StrEnum):
    median = "median"
    hyperband = "hyperband"
    successive_halving = "successive_halving"
    none = "none"


class Direction(StrEnum):
    maximize = "maximize"
    minimize = "minimize"


class Tuning(SpecModel):
    n_trials: int = Field(default=20, ge=1, le=100_000)
    timeout: Duration | None = None
    metric: str
    direction: Direction | None = None
    sampler: Sampler = Sampler.tpe
    pruner: Pruner = Pruner.median
    parallelism: int = Field(default=2, ge=1, le=256)
    seed: Seed | None = None
    max_failed_fraction: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Stop the run when more than this share of finished trials failed.",
    )
    search_space: dict[str, Param] = Field(min_length=1)
