"""The tuning block: an Optuna study described as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag, model_validator

from mlops_spec.spec.common import Duration, Seed, SpecModel


class FloatParam(SpecModel):
    """A real-valued parameter drawn from `[low, high]`: `{float: [0.01, 0.3], log: true}`."""

    float_: Annotated[
        tuple[float, float],
        Field(
            alias="float",
            description="`[low, high]`, both inclusive; `low` must be below `high`.",
            examples=[[0.01, 0.3]],
        ),
    ]
    log: bool = Field(
        default=False,
        description="Sample on a log scale (for rates and regularization strengths); needs "
        "`low` above 0 and no `step`.",
    )
    step: float | None = Field(
        default=None,
        gt=0,
        description="Draw only `low`, `low + step`, ...; omitted: any value in the range.",
        examples=[0.05],
    )
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
    """A whole-number parameter drawn from `[low, high]`: `{int: [2, 12]}`."""

    int_: Annotated[
        tuple[int, int],
        Field(
            alias="int",
            description="`[low, high]`, both inclusive; `low` must be below `high`.",
            examples=[[2, 12]],
        ),
    ]
    log: bool = Field(
        default=False,
        description="Sample on a log scale (for sizes spanning orders of magnitude); needs "
        "`low` above 0 and `step` 1.",
    )
    step: int = Field(
        default=1,
        ge=1,
        description="Draw only `low`, `low + step`, ... (default 1: every integer).",
        examples=[10],
    )
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
    """A parameter picked from a list of values: `{choices: [gini, entropy]}`."""

    choices: list[str | int | float | bool | None] = Field(
        min_length=1,
        description="The values tried, as the estimator takes them (`null` for None).",
        examples=[["gini", "entropy"], [None, 10, 20]],
    )
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
    """How Optuna picks each trial's parameters: `tpe` (Tree-structured Parzen Estimator,
    learns from earlier trials; the default), `random` (independent uniform draws) or `qmc`
    (quasi-Monte Carlo: scrambled Sobol points that cover the space evenly)."""

    tpe = "tpe"
    random = "random"
    qmc = "qmc"


class Pruner(StrEnum):
    """How Optuna stops unpromising trials early, from the validation score each trial reports
    as its model grows (boosting iterations, trees or epochs; estimators fitted in one go are
    never pruned), or with `cv` the running fold mean after each fold: `median` (stop a trial
    below the median of earlier trials at the same stage; the default), `hyperband`,
    `successive_halving`, or `none` (every trial runs to the end)."""

    median = "median"
    hyperband = "hyperband"
    successive_halving = "successive_halving"
    none = "none"


class Direction(StrEnum):
    """Whether a higher (`maximize`) or a lower (`minimize`) value of the metric is better."""

    maximize = "maximize"
    minimize = "minimize"


class Tuning(SpecModel):
    """An Optuna study over the estimator's parameters, each trial scored on the validation
    holdout of the training rows; the best parameters are then fitted on all training rows."""

    n_trials: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Trials the study needs (completed or pruned) before it ends; a re-run of "
        "an interrupted study runs only the missing ones.",
        examples=[20],
    )
    timeout: Duration | None = Field(
        default=None,
        description="Stop starting new trials after this long, even short of `n_trials`: a "
        "duration such as `10m`, `1h30m` or seconds. Omitted: no time limit.",
        examples=["10m", "1h"],
    )
    metric: str = Field(
        description="The validation metric trials are ranked by, one of the task's metrics "
        "(for example `roc_auc`, `f1_macro`, `rmse`).",
        examples=["roc_auc"],
    )
    direction: Direction | None = Field(
        default=None,
        description="Omitted: the metric's natural direction (`minimize` for `log_loss`, "
        "`rmse`, `mae`; `maximize` otherwise). Given, it must agree with it.",
    )
    sampler: Sampler = Field(
        default=Sampler.tpe, description="How each trial's parameters are chosen."
    )
    pruner: Pruner = Field(
        default=Pruner.median, description="How unpromising trials are stopped early."
    )
    parallelism: int = Field(
        default=2,
        ge=1,
        le=256,
        description="Trials run at once: threads in the flow process, or Prefect tasks on "
        "Dask with the Dask task runner.",
    )
    seed: Seed | None = Field(
        default=None,
        description="Seed of the sampler and of the trials' estimators (0 to 2**32 - 1); "
        "omitted: each run samples differently.",
        examples=[42],
    )
    max_failed_fraction: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Fail the run when more than this share of its finished trials failed, a "
        "fraction from 0 to 1; from the 5th finished trial on, the study stops as soon as the "
        "share is exceeded.",
    )
    cv: int | None = Field(
        default=None,
        ge=2,
        le=20,
        description="Score each trial by k-fold cross-validation on the training rows instead "
        "of one validation holdout: folds keep groups whole for `split.method: group`, follow "
        "time (each fold validated on later rows, days kept whole) for `time`, keep class "
        "shares for classification; the trial's value is the fold mean, and its spread is "
        "reported. Omitted: the `validation_size` holdout.",
        examples=[5],
    )
    search_space: dict[str, Param] = Field(
        min_length=1,
        description="Estimator parameter names to search, each `{float: [low, high]}`, "
        "`{int: [low, high]}` or `{choices: [...]}`; a name may not also be fixed in "
        "`model.params`.",
        examples=[
            {
                "learning_rate": {"float": [0.01, 0.3], "log": True},
                "max_depth": {"int": [2, 12]},
            }
        ],
    )
