"""Which metrics each task produces, and which way is better.

Gates, tuning objectives and champion comparisons refer to metrics by these names, so the
spec can be checked without training anything.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    """What the model predicts, which decides its metrics and estimators: `binary_classification`
    (exactly two classes; fairness rules judge its decision rates), `multiclass_classification`
    (two or more classes; no fairness rules) or `regression` (a number; fairness rules judge
    its errors per group)."""

    binary_classification = "binary_classification"
    multiclass_classification = "multiclass_classification"
    regression = "regression"


TASK_METRICS: dict[Task, tuple[str, ...]] = {
    Task.binary_classification: (
        "roc_auc",
        "accuracy",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "average_precision",
    ),
    Task.multiclass_classification: (
        "accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "precision_weighted",
        "recall_macro",
        "recall_weighted",
        "roc_auc_ovr_macro",
        "roc_auc_ovr_weighted",
        "log_loss",
    ),
    Task.regression: ("rmse", "mae", "r2"),
}

LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "rmse", "mae"})


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER
