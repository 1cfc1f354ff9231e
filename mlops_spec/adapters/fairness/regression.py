"""Group fairness of a regressor: its errors per group, as fairlearn's ``MetricFrame`` with
``mean_absolute_error`` and root mean squared error gives them.

A regression has no decision and no selection rate; what differs between groups is how wrong
the model is for them. Per group (of a sensitive column or an intersection) the report gives
n, MAE, RMSE and the mean label and prediction (a model can be equally precise for two groups
and still under-predict one), next to the same numbers over every row. The rules:

* ``mae_difference`` / ``rmse_difference``: the worst judged group's error minus the best's,
  fairlearn's ``MetricFrame.difference()``; against a reference group, the largest distance
  of a group's error from the reference's;
* ``mae_ratio`` / ``rmse_ratio``: the worst judged group's error divided by the best's (1 is
  parity; the inverse of fairlearn's ``ratio()``, which divides the smaller by the larger, so
  that a bound reads "at most 25% more error": ``max: 1.25``); against a reference group, the
  largest ratio of a group's error to the reference's.

Sums come from the same whylogs profile segmented per group as a classifier's counts
(``groups.segment_means``): a group's MAE is the mean of the logged absolute
errors, its RMSE the square root of the mean squared error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from mlops_spec.adapters.fairness.groups import (
    OVERALL_GROUP,
    FairnessReport,
    SensitiveResult,
    group_codes,
    judge_rules,
    reference_stats,
    require_columns,
    segment_means,
)
from mlops_spec.errors import StepError
from mlops_spec.spec.constraints import Fairness, FairnessMetric

_VALUES = ("_f_abs", "_f_sq", "_f_true", "_f_pred")


@dataclass(frozen=True)
class ErrorStats:
    group: str
    n: int
    mae: float
    rmse: float
    mean_true: float
    mean_pred: float
    judged: bool  # n >= min_group_size

    # (heading, attribute) of the report's per-group markdown tables
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("MAE", "mae"),
        ("RMSE", "rmse"),
        ("mean label", "mean_true"),
        ("mean prediction", "mean_pred"),
    )


def regression_fairness_report(
    frame: pd.DataFrame, *, y_true: str, y_pred: str, fairness: Fairness
) -> FairnessReport:
    """Errors per group of every sensitive entry and overall; every rule judged on each
    entry it applies to."""
    require_columns(frame, [y_true, y_pred, *fairness.columns])
    truth, pred = _numbers(frame, y_true), _numbers(frame, y_pred)
    error = pred - truth
    values = dict(zip(_VALUES, (np.abs(error), error**2, truth, pred), strict=True))
    codes, labels = group_codes(frame, fairness.sensitive)
    means = segment_means(pd.DataFrame({**codes, **values}, index=frame.index), labels)
    size = fairness.min_group_size
    results = []
    for name in labels:
        groups = tuple(_stats(label, n, m, size) for label, n, m in means[name])
        results.append(SensitiveResult(name, groups, _metrics(groups)))
    overall = _stats(
        OVERALL_GROUP, len(frame), {k: float(v.mean()) for k, v in values.items()}, size
    )
    rules = judge_rules(results, fairness.rules, _against_reference)
    return FairnessReport(tuple(results), rules, size, overall)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise StepError(f"regression fairness needs {column} as finite numbers in every row")
    return values


def _stats(label: str, n: int, means: dict[str, float], min_group_size: int) -> ErrorStats:
    return ErrorStats(
        group=label,
        n=n,
        mae=means["_f_abs"],
        rmse=math.sqrt(max(means["_f_sq"], 0.0)),
        mean_true=means["_f_true"],
        mean_pred=means["_f_pred"],
        judged=n >= min_group_size,
    )


def _ratio(high: float, low: float) -> float:
    """``high / low``; two error-free groups are alike (1), an error against none is
    infinitely worse."""
    if low > 0:
        return high / low
    return 1.0 if high == 0 else math.inf


def _metrics(groups: tuple[ErrorStats, ...]) -> dict[FairnessMetric, float | None]:
    judged = [g for g in groups if g.judged]
    if len(judged) < 2:
        return dict.fromkeys(_ERRORS, None)
    out: dict[FairnessMetric, float | None] = {}
    for (difference, ratio), attribute in _ERRORS_BY_STAT.items():
        errors = [getattr(g, attribute) for g in judged]
        out[difference] = max(errors) - min(errors)
        out[ratio] = _ratio(max(errors), min(errors))
    return out


def _against_reference(
    result: SensitiveResult, reference: str
) -> dict[FairnessMetric, float | None]:
    """Each judged group's error against the reference's (judged whatever its size: it is the
    yardstick): the largest distance, and the largest ratio."""
    base = reference_stats(result, reference)
    others = [g for g in result.groups if g.judged and g.group != reference]
    if not others:
        return dict.fromkeys(_ERRORS, None)
    out: dict[FairnessMetric, float | None] = {}
    for (difference, ratio), attribute in _ERRORS_BY_STAT.items():
        errors = [getattr(g, attribute) for g in others]
        yardstick = getattr(base, attribute)
        out[difference] = max(abs(error - yardstick) for error in errors)
        out[ratio] = max(_ratio(error, yardstick) for error in errors)
    return out


_ERRORS_BY_STAT = {
    (FairnessMetric.mae_difference, FairnessMetric.mae_ratio): "mae",
    (FairnessMetric.rmse_difference, FairnessMetric.rmse_ratio): "rmse",
}
_ERRORS = tuple(metric for pair in _ERRORS_BY_STAT for metric in pair)
