"""The fairness audit flow: existing predictions judged by the spec's fairness rules.

No model is trained or registered. The entity rows carry the outcome (the label) and what is
audited (a score, decided at the threshold, or a decision); the report is the one a trained
model's test predictions get (``adapters.fairness``), with the overall rates beside the
per-group ones, recorded as an MLflow run of the audit's experiment (the decision record:
``fairness.verdict``, the rules, the groups, the data fingerprint) and as Prefect artifacts.
The run ends Completed, named ``Passed`` or ``RulesBroken``; the CLI exits 2 for the latter,
as for any run stopped by a rule of the spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from prefect import State, flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed

from mlops_spec.adapters import data_files, mlflow_tracking
from mlops_spec.adapters.fairness import FairnessReport, fairness_report
from mlops_spec.errors import StepError
from mlops_spec.loader import LoadedAudit, load_audit
from mlops_spec.runtime import reports
from mlops_spec.runtime.console import protect_logs
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.lineage import file_sha256
from mlops_spec.runtime.run_names import run_name_for
from mlops_spec.runtime.secret_blocks import use_secret_blocks

PASSED, BROKEN = "Passed", "RulesBroken"


@flow(name="mlops-spec-fairness-audit", flow_run_name=run_name_for("audit"), log_prints=True)
def fairness_audit(spec_path: str) -> State:
    """Judge existing predictions by the audit spec's fairness rules; record the decision.

    Args:
        spec_path: The FairnessAudit spec, relative to the project root (for example
            specs/compas_audit.yaml).
    """
    protect_logs()
    settings = command_settings()
    audit = load_audit(spec_path, settings)
    use_secret_blocks()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    result = run_audit(audit)
    name = PASSED if result["passed"] else BROKEN
    headline = f"{result['audit']}: " + (
        "every blocking fairness rule holds" if result["passed"] else "fairness rules broken"
    )
    return Completed(name=name, message=headline, data=result)


def run_audit(audit: LoadedAudit) -> dict[str, Any]:
    """The audit's report, recorded; returns what the CLI prints."""
    spec = audit.spec
    source = audit.resolve(spec.data.entities)
    rows = data_files.read_frame(source, what="entity rows", shown=spec.data.entities)
    frame = decisions(audit, rows)
    report = fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=spec.fairness)
    label_records, label_passed = _label_rules(audit, frame)
    overall = overall_rates(frame)
    groups = group_rates(report)
    run_id = _record(audit, report, overall, groups, file_sha256(source))
    _publish(spec.metadata.name, report, overall, groups)
    get_run_logger().info(
        "audit of %s on %d rows: %d of %d fairness rules hold (MLflow run %s)",
        spec.score.column,
        len(frame),
        sum(rule.passed for rule in report.rules),
        len(report.rules),
        run_id,
    )
    return {
        "audit": spec.metadata.name,
        "rows": len(frame),
        "passed": report.passed and label_passed,
        "overall": overall,
        "groups": groups.to_dict("records"),
        "rules": report.to_records() + label_records,
        "mlflow_run_id": run_id,
        "prefect_flow_run_id": str(flow_run.id or ""),
    }


def decisions(audit: LoadedAudit, rows: pd.DataFrame) -> pd.DataFrame:
    """The sensitive columns with 0/1 ``y_true`` (the outcome is the positive label) and
    ``y_pred`` (the score at or above the threshold, or the decision is the positive label)."""
    spec = audit.spec
    label, column = spec.data.label, spec.score.column
    needed = [label, column, *spec.fairness.columns]
    lacking = [name for name in needed if name not in rows.columns]
    if lacking:
        raise StepError(f"{spec.data.entities} lacks column(s) {lacking}")
    if rows[label].isna().any() or rows[column].isna().any():
        raise StepError(f"rows without a {label} or a {column} cannot be audited: drop them first")
    frame = rows[spec.fairness.columns].copy()
    frame["y_true"] = (rows[label] == spec.positive_label).astype(int)
    if spec.score.threshold is None:
        frame["y_pred"] = (rows[column] == spec.positive_label).astype(int)
    else:
        scores = pd.to_numeric(rows[column], errors="coerce")
        if scores.isna().any():
            raise StepError(f"{column} must be numeric to compare with threshold")
        frame["y_pred"] = (scores >= spec.score.threshold).astype(int)
    return frame


def _label_rules(audit: LoadedAudit, frame: pd.DataFrame) -> tuple[list[dict[str, Any]], bool]:
    """``label_rules`` judged on the outcome itself (its rate per group), as records whose
    metric reads ``label <metric>``, and whether every blocking one holds."""
    fairness = audit.spec.fairness
    if not fairness.label_rules:
        return [], True
    judged = fairness.model_copy(update={"rules": fairness.label_rules})
    outcome = frame.assign(y_pred=frame["y_true"])
    report = fairness_report(outcome, y_true="y_true", y_pred="y_pred", fairness=judged)
    records = [{**r, "metric": f"label {r['metric']}"} for r in report.to_records()]
    return records, report.passed


def overall_rates(frame: pd.DataFrame) -> dict[str, float | None]:
    """Selection rate, TPR, FPR, FNR and accuracy over every row (None: no row to count)."""
    truth, pred = frame["y_true"].to_numpy() == 1, frame["y_pred"].to_numpy() == 1

    def share(selected: np.ndarray, among: np.ndarray) -> float | None:
        return float(selected[among].mean()) if among.any() else None

    tpr = share(pred, truth)
    return {
        "n": float(len(frame)),
        "selection_rate": float(pred.mean()),
        "tpr": tpr,
        "fpr": share(pred, ~truth),
        "fnr": None if tpr is None else 1.0 - tpr,
        "accuracy": float((pred == truth).mean()),
        "base_rate": float(truth.mean()),
    }


def group_rates(report: FairnessReport) -> pd.DataFrame:
    """The report's per-group table with each group's false negative rate beside its FPR."""
    groups = report.group_table(overall=False)  # the audit reports its overall rates itself
    groups.insert(groups.columns.get_loc("fpr") + 1, "fnr", 1.0 - groups["tpr"])
    return groups


def _record(
    audit: LoadedAudit,
    report: FairnessReport,
    overall: dict[str, Any],
    groups: pd.DataFrame,
    data_sha256: str,
) -> str:
    spec = audit.spec
    tags = {
        "mlops_spec.kind": "FairnessAudit",
        "mlops_spec.spec_path": audit.display_path,
        "audit.score_column": spec.score.column,
        "audit.threshold": "" if spec.score.threshold is None else str(spec.score.threshold),
        "data.sha256": data_sha256,
        "fairness.verdict": "pass" if report.passed else "blocked",
        "prefect.flow_run_id": str(flow_run.id or ""),
    }
    with mlflow_tracking.tracked_run(spec.metadata.name, "fairness-audit", tags) as run_id:
        mlflow_tracking.log_metrics(
            run_id, {f"overall_{k}": v for k, v in overall.items() if v is not None}
        )
        document = {"passed": report.passed, "overall": overall, "rules": report.to_records()}
        mlflow_tracking.log_dict(run_id, document, "reports/fairness.json")
        mlflow_tracking.log_table(run_id, groups, "reports/fairness_groups.json")
    return run_id


def _publish(
    name: str, report: FairnessReport, overall: dict[str, Any], groups: pd.DataFrame
) -> None:
    shown = {k: reports.table_cell(v) for k, v in overall.items()}
    reports.markdown(
        name,
        "fairness-audit",
        "# Fairness audit\n\nOverall: "
        + ", ".join(f"{k} {v}" for k, v in shown.items())
        + "\n\n"
        + report.to_markdown(),
        "fairness rules and per-group rates of the audited predictions",
    )
    reports.table(
        name,
        "fairness-audit-groups",
        groups.to_dict("records"),
        "selection rate, TPR, FPR, FNR and accuracy per group",
    )
