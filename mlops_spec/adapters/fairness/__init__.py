"""Group fairness of predictions, counted with whylogs segments: a binary classifier's rates
per group (``groups``) and a regressor's errors per group (``regression``), each per sensitive
column or intersection of columns, beside the same numbers over every row."""

from mlops_spec.adapters.fairness.groups import (
    MISSING_GROUP,
    OVERALL_GROUP,
    OVERALL_SENSITIVE,
    FairnessReport,
    GroupStats,
    RuleOutcome,
    SensitiveResult,
    fairness_report,
    group_labels,
)
from mlops_spec.adapters.fairness.regression import ErrorStats, regression_fairness_report

__all__ = [
    "MISSING_GROUP",
    "OVERALL_GROUP",
    "OVERALL_SENSITIVE",
    "ErrorStats",
    "FairnessReport",
    "GroupStats",
    "RuleOutcome",
    "SensitiveResult",
    "fairness_report",
    "group_labels",
    "regression_fairness_report",
]
