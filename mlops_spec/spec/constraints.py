"""Data constraints (checked on the whylogs profile) and fairness rules (checked on predictions)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from mlops_spec.spec.common import Column, SpecModel


class DataConstraint(SpecModel):
    """One column and one or more checks; every check becomes one whylogs constraint."""

    column: Column
    no_missing: bool | None = None
    max_missing_fraction: float | None = Field(default=None, ge=0, le=1)
    in_range: tuple[float, float] | None = None
    min: float | None = None
    max: float | None = None
    in_set: list[str | int | float | bool] | None = Field(default=None, min_length=1)
    unique: bool | None = None

    @model_validator(mode="after")
    def _some_check(self) -> DataConstraint:
        checks = [
            self.no_missing,
            self.max_missing_fraction,
            self.in_range,
            self.min,
            self.max,
            self.in_set,
            self.unique,
        ]
        if all(check is None for check in checks):
            raise ValueError(
                "a constraint needs at least one check: no_missing, max_missing_fraction, "
                "in_range, min, max, in_set or unique"
            )
        if self.in_range is not None and self.in_range[0] > self.in_range[1]:
            raise ValueError(f"in_range {list(self.in_range)} has its bounds reversed")
        return self


class FairnessMetric(StrEnum):
    disparate_impact = "disparate_impact"
    demographic_parity_difference = "demographic_parity_difference"
    equal_opportunity_difference = "equal_opportunity_difference"
    equalized_odds_difference = "equalized_odds_difference"


class FairnessRule(SpecModel):
    metric: FairnessMetric
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> FairnessRule:
        if self.min is None and self.max is None:
            raise ValueError("a fairness rule needs `min` or `max`")
        return self


class Fairness(SpecModel):
    sensitive: list[Column] = Field(min_length=1)
    rules: list[FairnessRule] = Field(min_length=1)
    min_group_size: int = Field(
        default=30, ge=1, description="Smaller groups are reported, not judged."
    )


class Constraints(SpecModel):
    data: list[DataConstraint] = Field(default_factory=list)
    fairness: Fairness | None = None
