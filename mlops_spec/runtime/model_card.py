"""The model card: what a version is for, what it saw, how it scored, what was decided.

It is rendered from what the registry and the run already record (the version's lineage,
gate and approval tags, the run's test metrics and its per-group fairness table), so it can
never say something the audit trail does not, and it is rendered again whenever a decision
changes (promotion, approval, rollback). It is the version's description on the MLflow
version page and ``model_card.md`` in the run. The registered model's description is the
spec's description with the promotion history as a table, so the model page reads as a log
rather than as JSON tags.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_spec.adapters import mlflow_audit, mlflow_documents, mlflow_registry, mlflow_tracking
from mlops_spec.adapters.mlflow_audit import VersionRecord
from mlops_spec.errors import RegistryError
from mlops_spec.runtime.audit import gate_order
from mlops_spec.runtime.gates import VERDICT_TAG, alias_refusal
from mlops_spec.runtime.reports import markdown_table
from mlops_spec.spec.pipeline import TrainingPipeline

log = logging.getLogger(__name__)

CARD_ARTIFACT = "model_card.md"
FAIRNESS_GROUPS_ARTIFACT = "tables/reports_fairness_groups.json"  # see mlflow_tracking.log_table
GOVERNANCE_ARTIFACT = "reports/governance.json"
HISTORY_HEADING = "## Promotion history"


def document(spec: TrainingPipeline, version: int) -> None:
    """Write the version's card and the model's description; a failure is logged, not raised.

    The card is derived from records that are already safe in the registry, so a backend
    hiccup here must not turn a promoted version into a failed run.
    """
    name = spec.metadata.name
    try:
        record = mlflow_audit.describe_version(name, str(version))
        card = render_card(spec, record, *_run_reports(record))
        mlflow_documents.describe_version(name, version, card)
        if record.run_id:
            mlflow_tracking.log_text(record.run_id, card, CARD_ARTIFACT)
        describe_model(name, spec.metadata.description, spec.metadata.owner)
    except RegistryError as exc:
        log.warning("could not write the model card of %s v%d: %s", name, version, exc)


def refresh_history(name: str) -> None:
    """After an alias moved outside a run (a rollback): the model page's history again, with
    its description kept; a failure is logged, not raised (see :func:`document`)."""
    try:
        describe_model(name, None)
    except RegistryError as exc:
        log.warning("could not update the promotion history on %s's page: %s", name, exc)


def describe_model(name: str, description: str | None, owner: str | None = None) -> None:
    """The model page: the spec's description (kept from the page when not given), then the
    promotion history as a table."""
    intro = description
    if intro is None:
        intro = mlflow_documents.model_description(name).split(HISTORY_HEADING)[0].strip()
    elif owner:
        intro = f"{description}\n\nOwner: {owner}"
    history = mlflow_registry.promotion_history(name)
    mlflow_documents.describe_model(name, f"{intro}\n\n{history_markdown(history)}")


def history_markdown(history: Sequence[dict[str, Any]]) -> str:
    rows = [
        {
            "at (UTC)": _when(event.get("at")),
            "alias": event.get("alias", ""),
            "move": f"{_label(event.get('from_version'))} → {_label(event.get('to_version'))}",
            "kind": event.get("kind", "promotion"),
            "by": event.get("actor", ""),
            "why": event.get("reason", ""),
        }
        for event in history
    ]
    body = markdown_table(rows) if rows else "No promotions yet.\n"
    return f"{HISTORY_HEADING}\n\n{body}"


def render_card(
    spec: TrainingPipeline,
    record: VersionRecord,
    groups: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
) -> str:
    """The card's markdown, section by section. ``groups`` is the per-group fairness table and
    ``decisions`` the gate decisions (gate, passed, value, bound, detail) as the run logged
    them; without them the gates come from the version's tags, which hold no bounds."""
    tags = {**record.run_tags, **record.version_tags}
    sections = [
        _heading(spec, record, tags),
        _intended_use(spec),
        _data(spec, record, tags),
        _metrics(record),
        _fairness(spec, groups),
        _gates(tags, decisions),
        _approval(spec, tags),
        _lineage(record, tags),
    ]
    return "\n\n".join(sections) + "\n"


def _heading(spec: TrainingPipeline, record: VersionRecord, tags: dict[str, str]) -> str:
    aliases = ", ".join(f"@{a}" for a in record.aliases) or "no alias"
    status = tags.get("governance.status", "registered")
    verdict = tags.get(VERDICT_TAG, "none")
    return (
        f"# {record.name} v{record.version}\n\n"
        f"**Status:** {status} ({aliases}) · **verdict:** {verdict} · "
        f"registered {_when(record.created_at)} UTC"
    )


def _intended_use(spec: TrainingPipeline) -> str:
    model = spec.model
    positive = f", positive label `{model.positive_label}`" if model.positive_label else ""
    return (
        "## Intended use\n\n"
        f"{spec.metadata.description or 'No description in the spec.'}\n\n"
        f"Owner: {spec.metadata.owner}. Task: {model.task.value}, predicting "
        f"`{spec.data.label}`{positive} with `{model.estimator}`."
    )


def _data(spec: TrainingPipeline, record: VersionRecord, tags: dict[str, str]) -> str:
    features = tags.get("feast.feature_refs", "").split(",")
    service = spec.features.service or "feature references"
    rows = [
        {"what": "entity rows", "value": f"{spec.data.entities} ({tags.get('data.rows', '?')})"},
        {"what": "features", "value": f"{len(features)} from Feast {service}"},
        {"what": "split", "value": _split_text(spec, record)},
        {"what": "training frame sha256", "value": tags.get("data.training_frame_sha256", "")},
    ]
    return (
        "## Data\n\n"
        + markdown_table(rows)
        + "\nFeatures: "
        + ", ".join(f"`{f.split(':')[-1]}`" for f in features if f)
    )


def _split_text(spec: TrainingPipeline, record: VersionRecord) -> str:
    params = record.run_params
    return (
        f"{spec.split.summary()}: {params.get('train_rows', '?')} train, "
        f"{params.get('test_rows', '?')} test rows"
    )


def _metrics(record: VersionRecord) -> str:
    rows = [
        {"metric": key.removeprefix("test_"), "value": value}
        for key, value in sorted(record.run_metrics.items())
        if key.startswith("test_")
    ]
    return "## Test metrics\n\n" + (markdown_table(rows) if rows else "None recorded.")


def _fairness(spec: TrainingPipeline, groups: list[dict[str, Any]]) -> str:
    if spec.constraints.fairness is None:
        return "## Fairness\n\nThe spec sets no fairness constraints."
    sensitive = ", ".join(spec.constraints.fairness.names)
    table = markdown_table(groups) if groups else "No per-group table was recorded."
    return f"## Fairness per group ({sensitive})\n\n{table}"


def _gates(tags: dict[str, str], decisions: list[dict[str, Any]]) -> str:
    rows = [
        {
            "gate": d.get("gate", ""),
            "result": "pass" if d.get("passed") else "FAIL",
            "value": "" if d.get("value") is None else d["value"],
            "bound": d.get("bound", ""),
            "detail": d.get("detail", ""),
        }
        for d in decisions
    ] or [
        {
            "gate": key.split(".", 2)[2],
            "result": tags[key].partition(": ")[0],
            "detail": tags[key].partition(": ")[2],
        }
        for key in sorted((k for k in tags if k.startswith("gate.")), key=gate_order)
    ]
    refusal = alias_refusal("champion", tags)
    allowed = "champion or challenger" if refusal is None else f"challenger only: {refusal}"
    table = markdown_table(rows) if rows else "No gates recorded."
    return f"## Gates\n\n{table}\nMay be: {allowed}."


def _approval(spec: TrainingPipeline, tags: dict[str, str]) -> str:
    if spec.governance.promotion.approval != "required":
        return "## Approval\n\nNot required by the spec: the gates decide."
    decision = tags.get("approval.decision")
    if decision is None:
        return "## Approval\n\nRequired; no decision recorded yet."
    who = tags.get("approval.reviewer") or "unknown reviewer"
    comment = tags.get("approval.comment") or "no comment"
    return f"## Approval\n\n{decision} by {who}: {comment}"


def _lineage(record: VersionRecord, tags: dict[str, str]) -> str:
    rows = [
        {"what": "spec", "value": f"{tags.get('mlops_spec.spec_path', '')}"},
        {"what": "spec hash", "value": tags.get("mlops_spec.spec_hash", "")[:12]},
        {
            "what": "git commit",
            "value": f"{tags.get('git.commit', '')} (dirty: {tags.get('git.dirty', '?')})",
        },
        {"what": "MLflow run", "value": record.run_id or ""},
        {"what": "Prefect flow run", "value": tags.get("prefect.flow_run_name", "")},
    ]
    return "## Lineage\n\n" + markdown_table(rows)


def _run_reports(record: VersionRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-group fairness rows and the gate decisions the version's run logged."""
    wanted = [
        p for p in (FAIRNESS_GROUPS_ARTIFACT, GOVERNANCE_ARTIFACT) if p in record.run_artifacts
    ]
    if not record.run_id or not wanted:
        return [], []
    with tempfile.TemporaryDirectory() as tmp:
        local = {p: mlflow_audit.download_artifact(record.run_id, p, Path(tmp)) for p in wanted}
        groups: list[dict[str, Any]] = (
            pd.read_json(local[FAIRNESS_GROUPS_ARTIFACT], orient="split").to_dict("records")
            if FAIRNESS_GROUPS_ARTIFACT in local
            else []
        )
        decisions: list[dict[str, Any]] = (
            json.loads(local[GOVERNANCE_ARTIFACT].read_text()).get("decisions", [])
            if GOVERNANCE_ARTIFACT in local
            else []
        )
    return groups, decisions


def _label(version: Any) -> str:
    return "none" if version is None else f"v{version}"


def _when(at: Any) -> str:
    try:
        return datetime.fromisoformat(str(at)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(at or "")
