"""Data constraints (checked on the whylogs profile) and fairness rules (checked on predictions)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from mlops_spec.spec.common import Column, SpecModel


class DataConstraint(SpecModel):
    """One column and one or more checks; every check becomes one whylogs constraint, judged on
    the profile of the training frame (the features and the label) before the split. A failed
    check stops the run (exit code 2) before anything is trained."""

    column: Column = Field(
        description="The column checked: a feature or the label, as named in the training frame.",
        examples=["age"],
    )
    no_missing: bool | None = Field(
        default=None,
        description="`true`: the column may have no missing values. `false` checks nothing.",
    )
    max_missing_fraction: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest share of missing values allowed, a fraction from 0 to 1 "
        "(inclusive): `0.05` passes with at most 5% missing.",
        examples=[0.05],
    )
    in_range: tuple[float, float] | None = Field(
        default=None,
        description="`[low, high]`: every non-missing value lies in this range, both bounds "
        "inclusive; the check fails on a column with no numeric values.",
        examples=[[17, 100]],
    )
    min: float | None = Field(
        default=None,
        description="Smallest value allowed (inclusive); a one-sided `in_range`.",
        examples=[0],
    )
    max: float | None = Field(
        default=None,
        description="Largest value allowed (inclusive); a one-sided `in_range`.",
        examples=[1000000],
    )
    in_set: list[str | int | float | bool] | None = Field(
        default=None,
        min_length=1,
        description="The only values the column may hold (missing values aside), judged on the "
        "profile's frequent items.",
        examples=[["Male", "Female"]],
    )
    unique: bool | None = Field(
        default=None,
        description="`true`: no two non-missing values are equal (estimated from the profile's "
        "cardinality sketch). `false` checks nothing.",
    )

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
    """A group-fairness metric of the test predictions, computed across the groups of one
    sensitive column (or intersection of columns). For binary classification:
    `disparate_impact` is the lowest group's selection rate (share predicted positive) divided
    by the highest (1 is parity; 0.8 the usual floor); `demographic_parity_difference` the
    highest selection rate minus the lowest; `equal_opportunity_difference` the spread of
    true-positive rates; `equalized_odds_difference` the larger of the true- and
    false-positive-rate spreads (0 is parity for the three differences). For regression, on
    each group's mean absolute error (MAE) and root mean squared error (RMSE):
    `mae_difference` / `rmse_difference` the worst group's error minus the best's (fairlearn's
    `MetricFrame.difference()`; 0 is parity), `mae_ratio` / `rmse_ratio` the worst group's
    error divided by the best's (1 is parity, `max: 1.25` allows a quarter more error; the
    inverse of fairlearn's `ratio()`)."""

    disparate_impact = "disparate_impact"
    demographic_parity_difference = "demographic_parity_difference"
    equal_opportunity_difference = "equal_opportunity_difference"
    equalized_odds_difference = "equalized_odds_difference"
    mae_difference = "mae_difference"
    mae_ratio = "mae_ratio"
    rmse_difference = "rmse_difference"
    rmse_ratio = "rmse_ratio"


CLASSIFICATION_FAIRNESS_METRICS = (
    FairnessMetric.disparate_impact,
    FairnessMetric.demographic_parity_difference,
    FairnessMetric.equal_opportunity_difference,
    FairnessMetric.equalized_odds_difference,
)
"""Rates of decisions: what a binary classifier (or an audited score) is judged by."""

REGRESSION_FAIRNESS_METRICS = (
    FairnessMetric.mae_difference,
    FairnessMetric.mae_ratio,
    FairnessMetric.rmse_difference,
    FairnessMetric.rmse_ratio,
)
"""Errors of numbers: what a regressor is judged by (a regression has no selection rate)."""

INTERSECTION_JOIN = " & "
"""Between the columns of an intersection's name (`race & sex`) and the values of its groups
(`African-American & Male`): how reports print them and how `reference_group` may spell one."""

Sensitive = Column | list[Column]
"""A sensitive column, or a list of columns whose combined values form intersectional groups."""


def sensitive_name(entry: Sensitive) -> str:
    """How reports, rules and plans name a sensitive entry: the column, or the columns of an
    intersection joined (`race & sex`)."""
    return entry if isinstance(entry, str) else INTERSECTION_JOIN.join(entry)


class Severity(StrEnum):
    """What a broken rule does: `block` fails the fairness gate (the version stays
    `challenger`); `warn` reports it in the run's summary and reports and never gates."""

    block = "block"
    warn = "warn"


class FairnessRule(SpecModel):
    """A bound on one fairness metric, judged for every sensitive column (or those in `on`);
    give `min`, `max` or both."""

    metric: FairnessMetric = Field(description="The fairness metric bounded.")
    severity: Severity = Field(
        default=Severity.block,
        description="`block` (a broken rule fails the fairness gate) or `warn` (reported, "
        "never gates).",
    )
    on: list[Sensitive] | None = Field(
        default=None,
        min_length=1,
        description="The sensitive entries this rule judges, written as in `sensitive` (a "
        "column, or a list of columns for an intersection); omitted: every one in `sensitive`.",
        examples=[["race"], [["race", "sex"]]],
    )
    reference_group: str | list[str] | None = Field(
        default=None,
        min_length=1,
        description="Measure each group against this one (its value as text, e.g. `White`; "
        "for an intersection one value per column in its order, `[African-American, Male]`, "
        "or the joined label `African-American & Male`): `disparate_impact` becomes the lowest "
        "ratio of a group's selection rate to the reference's, the differences the largest gap "
        "to the reference, `mae_ratio`/`rmse_ratio` the largest ratio of a group's error to "
        "the reference's. Omitted: the widest gap over all groups.",
        examples=["White", ["African-American", "Male"]],
    )
    min: float | None = Field(
        default=None,
        description="Lowest value allowed (inclusive), e.g. `0.8` for `disparate_impact`.",
        examples=[0.8],
    )
    max: float | None = Field(
        default=None,
        description="Highest value allowed (inclusive), e.g. `0.1` for a `*_difference` metric.",
        examples=[0.1],
    )

    @model_validator(mode="after")
    def _bounded(self) -> FairnessRule:
        if self.min is None and self.max is None:
            raise ValueError("a fairness rule needs `min` or `max`")
        return self

    @property
    def reference_label(self) -> str | None:
        """The reference group as reports label groups (an intersection's values joined)."""
        ref = self.reference_group
        return ref if ref is None or isinstance(ref, str) else INTERSECTION_JOIN.join(ref)

    @property
    def on_names(self) -> list[str] | None:
        """The judged entries by name (see ``sensitive_name``); None: every one."""
        return None if self.on is None else [sensitive_name(entry) for entry in self.on]


class Fairness(SpecModel):
    """Group fairness of the test predictions (binary classification: rates of decisions;
    regression: errors). A broken rule fails the `fairness` gate: the version is registered
    but stays `challenger`."""

    sensitive: list[Sensitive] = Field(
        min_length=1,
        description="Columns of the entity file whose values form the groups compared, such as "
        "sex or an age band; each is judged on its own. A list of two or more columns is an "
        "intersection: its groups are the combinations of values present in the rows "
        "(`[race, sex]` gives `African-American & Male`, ...).",
        examples=[["sex", "race"], ["race", ["race", "sex"]]],
    )
    rules: list[FairnessRule] = Field(
        default_factory=list,
        description="Bounds the model's test predictions must meet for every sensitive column "
        "(or those in a rule's `on`); the metrics follow `model.task`.",
        examples=[[{"metric": "disparate_impact", "min": 0.8}]],
    )
    label_rules: list[FairnessRule] = Field(
        default_factory=list,
        description="Bounds on the label itself, checked on every entity row before training "
        "(pre-training bias): `disparate_impact` or `demographic_parity_difference` of the "
        "favourable outcome per group. A broken `block` rule stops the run like a data "
        "constraint; a `warn` rule is reported.",
        examples=[[{"metric": "disparate_impact", "min": 0.8, "severity": "warn"}]],
    )
    min_group_size: int = Field(
        default=30,
        ge=1,
        description="Test rows a group needs to count: smaller groups are reported, not judged. "
        "A metric with fewer than two judged groups is not judged, which counts as passing.",
    )

    @property
    def names(self) -> list[str]:
        """Each sensitive entry by name (see ``sensitive_name``), in the spec's order."""
        return [sensitive_name(entry) for entry in self.sensitive]

    @property
    def columns(self) -> list[str]:
        """Every column the entries read, each once, in the spec's order."""
        seen: dict[str, None] = {}
        for entry in self.sensitive:
            seen.update(dict.fromkeys([entry] if isinstance(entry, str) else entry))
        return list(seen)


LABEL_METRICS = (FairnessMetric.disparate_impact, FairnessMetric.demographic_parity_difference)
"""What a label alone can be judged by: outcome rates per group (no prediction, no error)."""


class Constraints(SpecModel):
    """Rules on the data (checked before training) and on the model's fairness (checked on
    its test predictions)."""

    data: list[DataConstraint] = Field(
        default_factory=list,
        description="Per-column data checks on the training frame; any failure stops the run.",
        examples=[[{"column": "age", "in_range": [17, 100], "no_missing": True}]],
    )
    fairness: Fairness | None = Field(
        default=None,
        description="Fairness rules on the test predictions (binary classification or "
        "regression); omitted: no fairness gate.",
    )
