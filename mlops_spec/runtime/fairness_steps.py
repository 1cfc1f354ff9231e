"""The fairness steps of a training run: the spec's rules on the test predictions, and its
label rules on the label itself before anything is trained (both over ``adapters.fairness``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from prefect import get_run_logger, task

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime import reports
from mlops_spec.runtime.model_steps import Evaluation, positive_indicator
from mlops_spec.runtime.step_log import found
from mlops_spec.runtime.steps import PLAIN
from mlops_spec.spec.metrics import Task

if TYPE_CHECKING:
    from mlops_spec.adapters.fairness import FairnessReport


@task(name="fairness", **PLAIN)
def fairness(
    loaded: LoadedSpec, model: Any, test: pd.DataFrame, evaluation: Evaluation, run_id: str
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Per-group rates (a classifier) or errors (a regressor), overall first, and the spec's
    rules on the test predictions; returns the broken blocking rules (they fail the gate),
    the broken ``warn`` rules (only reported) and the per-group table (printed at the end of
    the run)."""
    spec = loaded.spec
    rules = spec.constraints.fairness
    assert rules is not None
    report = _test_report(loaded, model, test, evaluation)
    groups = report.group_table()
    mlflow_tracking.log_dict(
        run_id,
        {
            "passed": report.passed,
            "overall": vars(report.overall),
            "rules": report.to_records(),
        },
        "reports/fairness.json",
    )
    mlflow_tracking.log_table(run_id, groups, "reports/fairness_groups.json")
    name = spec.metadata.name
    regression = spec.model.task is Task.regression
    reports.markdown(name, "fairness", report.to_markdown(), "fairness rules and per-group rates")
    reports.table(
        name,
        "fairness-groups",
        groups.to_dict("records"),
        "MAE, RMSE, mean label and prediction per group, overall first"
        if regression
        else "selection rate, TPR, FPR and accuracy per group, overall first",
    )
    found(
        run_id,
        "fairness on %s: %d of %d rules passed%s",
        ", ".join(rules.names),
        sum(rule.passed for rule in report.rules),
        len(report.rules),
        f" ({len(report.warned())} broken warn-only)" if report.warned() else "",
    )
    failed = [_broken(rule) for rule in report.failed()]
    warned = [f"fairness (warn): {_broken(rule)}" for rule in report.warned()]
    for line in warned:
        get_run_logger().warning("%s", line)
    return failed, warned, groups.to_dict("records")


def _test_report(
    loaded: LoadedSpec, model: Any, test: pd.DataFrame, evaluation: Evaluation
) -> FairnessReport:
    """The fairness report of the test predictions: decisions of a binary classifier as 0/1
    against the positive label, or a regressor's numbers against the label's."""
    from mlops_spec.adapters.fairness import fairness_report, regression_fairness_report

    spec = loaded.spec
    rules = spec.constraints.fairness
    assert rules is not None
    frame = test[rules.columns].copy()
    if spec.model.task is Task.regression:
        frame["y_true"] = test[spec.data.label].to_numpy()
        frame["y_pred"] = evaluation.y_pred
        return regression_fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=rules)
    positive = (
        spec.model.positive_label if spec.model.positive_label is not None else (model.classes_[1])
    )
    frame["y_true"] = positive_indicator(test[spec.data.label], positive)
    frame["y_pred"] = positive_indicator(evaluation.y_pred, positive)
    return fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=rules)


@task(name="label_bias", **PLAIN)
def label_bias(
    loaded: LoadedSpec, frame: pd.DataFrame, run_id: str
) -> tuple[str | None, list[str]]:
    """The label's favourable-outcome rate per group (every entity row, before training),
    judged by ``label_rules``; returns why the run must stop (a broken block rule), or None,
    and the broken warn rules."""
    from mlops_spec.adapters.fairness import fairness_report

    spec = loaded.spec
    fairness = spec.constraints.fairness
    assert fairness is not None
    label = frame[spec.data.label]
    positive = spec.model.positive_label
    if positive is None:
        positive = sorted(label.dropna().unique().tolist())[-1]  # as the classifier's classes_[1]
    rows = frame[fairness.columns].copy()
    rows["y_true"] = rows["y_pred"] = positive_indicator(label, positive)
    judged = fairness.model_copy(update={"rules": fairness.label_rules})
    report = fairness_report(rows, y_true="y_true", y_pred="y_pred", fairness=judged)
    mlflow_tracking.log_dict(
        run_id, {"passed": report.passed, "rules": report.to_records()}, "reports/label_bias.json"
    )
    reports.markdown(
        spec.metadata.name,
        "label-bias",
        f"# Label bias before training ({spec.data.label} = {positive!r})\n\n"
        + report.to_markdown(),
        "the label's favourable-outcome rate per group",
    )
    found(
        run_id,
        "label bias on %s: %d of %d rules passed",
        ", ".join(fairness.names),
        sum(rule.passed for rule in report.rules),
        len(report.rules),
    )
    warned = [f"label bias (warn): {_broken(rule)}" for rule in report.warned()]
    failed = "; ".join(_broken(rule) for rule in report.failed())
    if failed:
        mlflow_tracking.set_tags(run_id, {"mlops_spec.outcome": "stopped:label_bias"})
        return f"label bias rules failed, training not started: {failed}", warned
    return None, warned


def _broken(rule: Any) -> str:
    against = "" if rule.reference_group is None else f" against {rule.reference_group}"
    value = "n/a" if rule.value is None else f"{rule.value:.3f}"
    return f"{rule.metric.value} on {rule.sensitive}{against} = {value} (needs {rule.bound})"
