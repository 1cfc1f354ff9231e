"""`mlops-spec audit`: a registered version's lineage, gate decisions and promotion history."""

from __future__ import annotations

from pathlib import Path

from mlops_spec.runtime.environment import command_settings, prepare_environment
from mlops_spec.runtime.gates import VERDICT_TAG, alias_refusal, is_unjudged
from mlops_spec.runtime.outcome import rates_table
from mlops_spec.runtime.secret_blocks import use_secret_blocks

LINEAGE_PREFIXES = ("mlops_spec.", "git.", "data.", "feast.", "optuna.", "prefect.")
UNJUDGED_NOTE = (
    "UNJUDGED: no gate verdict was recorded for this version (registered before verdicts "
    "travelled with registration, its run killed before governance, or made by hand); it "
    "may not be promoted, served or scored"
)


def audit_text(model: str, version_or_alias: str) -> str:
    settings = command_settings()
    prepare_environment(settings)
    use_secret_blocks()
    from mlops_spec.adapters import mlflow_audit, mlflow_registry, mlflow_tracking

    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    record = mlflow_audit.describe_version(
        model, version_or_alias.lstrip("@") if not version_or_alias.isdigit() else version_or_alias
    )
    unjudged = is_unjudged(record.version_tags)
    lines = [
        f"{record.name} version {record.version}"
        + (f" (aliases: {', '.join(record.aliases)})" if record.aliases else ""),
        f"  created {record.created_at}, MLflow run {record.run_id}",
        *(["  UNJUDGED: no gate verdict recorded (see gate decisions)"] if unjudged else []),
        "",
        "lineage:",
    ]
    tags = {**record.run_tags, **record.version_tags}
    for key in sorted(tags):
        if key.startswith(LINEAGE_PREFIXES):
            lines.append(f"  {key}: {tags[key]}")
    lines += ["", "test metrics:"]
    for key in sorted(record.run_metrics):
        if key.startswith("test_"):
            lines.append(f"  {key.removeprefix('test_')}: {record.run_metrics[key]:.4f}")
    lines += ["", "gate decisions:", *governance_lines(record.version_tags)]
    history = mlflow_registry.promotion_history(model)
    lines += ["", "promotion history:"]
    for event in history or [{"note": "none"}]:
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in event.items()))
    if FAIRNESS_GROUPS in record.run_artifacts and record.run_id is not None:
        lines += ["", "fairness per group (test rows):", _fairness_groups(record.run_id)]
    reports = [a for a in record.run_artifacts if a.startswith(("reports/", "profiles/"))]
    lines += ["", "reports: " + (", ".join(reports) if reports else "none")]
    return "\n".join(lines)


FAIRNESS_GROUPS = "tables/reports_fairness_groups.json"


def _fairness_groups(run_id: str) -> str:
    """The per-group rates the training run logged, as the end of ``run`` printed them."""
    import json
    import tempfile

    from mlops_spec.adapters import mlflow_audit

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow_audit.download_artifact(run_id, FAIRNESS_GROUPS, Path(tmp))
        table = json.loads(local.read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    return rates_table(rows)


def governance_lines(tags: dict[str, str]) -> list[str]:
    """The gates, the verdict and what it allows, then approval and canary decisions.

    A version without ``governance.verdict`` is said to be UNJUDGED in so many words: it
    predates verdicts registered with the version, or was tagged by hand, and nothing may
    promote, serve or score it.
    """
    lines = [
        f"  {key.split('.', 2)[2]}: {tags[key]}"
        for key in sorted(tags, key=gate_order)
        if key.startswith("gate.")
    ]
    if is_unjudged(tags):
        lines.append(f"  governance.verdict: none - {UNJUDGED_NOTE}")
    else:
        refusal = alias_refusal("champion", tags)
        allowed = "champion or challenger" if refusal is None else f"challenger only ({refusal})"
        lines += [f"  governance.verdict: {tags[VERDICT_TAG]}", f"  may be: {allowed}"]
    for key in (
        "governance.status",
        "approval.decision",
        "approval.reviewer",
        "approval.comment",
        "canary.decision",
        "canary.reason",
    ):
        if key in tags:
            lines.append(f"  {key}: {tags[key]}")
    return lines


def gate_order(key: str) -> tuple[int, str]:
    """gate.<i>.<name> keys in the spec's gate order (gate.2 before gate.10), others last."""
    parts = key.split(".")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10**6, key)
