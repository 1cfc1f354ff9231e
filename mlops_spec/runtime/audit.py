"""`mlops-spec audit`: a registered version's lineage, gate decisions and promotion history."""

from __future__ import annotations

from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.settings import Settings

LINEAGE_PREFIXES = ("mlops_spec.", "git.", "data.", "feast.", "optuna.", "prefect.")


def audit_text(model: str, version_or_alias: str) -> str:
    settings = Settings()
    prepare_environment(settings)
    from mlops_spec.adapters import mlflow_audit, mlflow_registry, mlflow_tracking

    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    record = mlflow_audit.describe_version(
        model, version_or_alias.lstrip("@") if not version_or_alias.isdigit() else version_or_alias
    )
    lines = [
        f"{record.name} version {record.version}"
        + (f" (aliases: {', '.join(record.aliases)})" if record.aliases else ""),
        f"  created {record.created_at}, MLflow run {record.run_id}",
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
    lines += ["", "gate decisions:"]
    for key in sorted(record.version_tags, key=_gate_order):
        if key.startswith("gate."):
            lines.append(f"  {key.split('.', 2)[2]}: {record.version_tags[key]}")
    for key in (
        "governance.verdict",
        "governance.status",
        "approval.decision",
        "approval.reviewer",
        "approval.comment",
        "canary.decision",
        "canary.reason",
    ):
        if key in record.version_tags:
            lines.append(f"  {key}: {record.version_tags[key]}")
    history = mlflow_registry.promotion_history(model)
    lines += ["", "promotion history:"]
    for event in history or [{"note": "none"}]:
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in event.items()))
    reports = [a for a in record.run_artifacts if a.startswith(("reports/", "profiles/"))]
    lines += ["", "reports: " + (", ".join(reports) if reports else "none")]
    return "\n".join(lines)


def _gate_order(key: str) -> tuple[int, str]:
    parts = key.split(".")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10**6, key)
