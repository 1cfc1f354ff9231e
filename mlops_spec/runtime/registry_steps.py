"""Govern, register and promote: the MLflow end of the flow, with every decision recorded.

The gates are judged before registration and the verdict is registered with the version, so
no version exists without one; promotion then moves the alias only on that verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from prefect import get_run_logger, task

from mlops_spec.adapters import mlflow_registry, mlflow_tracking
from mlops_spec.errors import PromotionConflict, StepError
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime import reports
from mlops_spec.runtime.approval import ApprovalDecision
from mlops_spec.runtime.gates import (
    AWAITING_APPROVAL,
    KEEP_CHALLENGER,
    PROMOTE,
    VERDICT_TAG,
    GateDecision,
    decide,
    decision_tags,
    verdict_of,
)
from mlops_spec.runtime.model_steps import score
from mlops_spec.runtime.promotion_lock import promotion_lock
from mlops_spec.runtime.steps import PLAIN

CONFLICT = "conflict"
CHALLENGER = "challenger"  # every new version's alias until it is promoted


@dataclass(frozen=True)
class Judgement:
    """The gates' decisions on a run's numbers and what they mean for its version."""

    decisions: list[GateDecision]
    champion: int | None  # the champion the gates compared against
    verdict: str
    tags: dict[str, str]  # gate.<i>.<gate> and governance.verdict, for the version

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.decisions)


@task(name="register", **PLAIN)
def register(
    loaded: LoadedSpec,
    model: Any,
    example: pd.DataFrame,
    run_id: str,
    tags: dict[str, str],
) -> int:
    """Log the model with signature, register a new version with ``tags``, alias it challenger.

    ``tags`` are the lineage and the gate decisions with their verdict: they travel with the
    registration call itself, so a version never exists without them (a process killed right
    after it leaves a judged version). Retries are safe because a failed attempt registers
    nothing (the plan's register step sets them).
    """
    name = loaded.spec.metadata.name
    info = mlflow_registry.log_and_register_model(
        model,
        run_id=run_id,
        registered_name=name,
        input_example=example,
        pip_requirements=mlflow_registry.pinned_requirements(),
        tags=tags,
    )
    mlflow_registry.set_alias(name, CHALLENGER, info.version)
    get_run_logger().info(
        "registered %s version %d (alias challenger, verdict %s)",
        name,
        info.version,
        tags.get(VERDICT_TAG, "none"),
    )
    return info.version


def champion_metrics(
    loaded: LoadedSpec, version: int | None, test: pd.DataFrame, features: list[str]
) -> tuple[int | None, dict[str, float] | None, str | None]:
    """The current champion scored on this run's test rows, or why it could not be."""
    spec = loaded.spec
    name = spec.metadata.name
    champion = mlflow_registry.get_alias_version(name, spec.governance.promotion.alias)
    if champion is None or champion == version:
        return None, None, None
    try:
        model = mlflow_registry.load_model(f"models:/{name}/{champion}")
        result = score(model, test, features, spec.data.label, spec.model.task)
    except (StepError, KeyError, ValueError) as exc:
        return champion, None, f"champion v{champion} cannot score these rows: {exc}"
    return champion, result.metrics, None


@task(name="governance", **PLAIN)
def governance(
    loaded: LoadedSpec,
    metrics: dict[str, float],
    test: pd.DataFrame,
    features: list[str],
    fairness_failures: list[str] | None,
    run_id: str,
    version: int | None = None,
) -> Judgement:
    """Judge every gate against the current champion, before the version exists.

    None of the gates needs the version number, so the flow judges first and registers the
    version with the verdict in its tags. ``version`` is given when a promotion conflict makes
    the flow judge an existing version again: its tags are then updated in place.
    """
    spec = loaded.spec
    name = spec.metadata.name
    champion, champ_metrics, problem = champion_metrics(loaded, version, test, features)
    decisions = decide(
        spec,
        metrics,
        champion_metrics=champ_metrics,
        champion_version=champion,
        fairness_failures=fairness_failures,
    )
    if problem is not None:
        decisions = [
            GateDecision(d.gate, False, d.value, d.bound, problem) if "champion" in d.gate else d
            for d in decisions
        ]
    records = [d.to_dict() for d in decisions]
    approval = spec.governance.promotion.approval == "required"
    verdict = verdict_of(decisions, approval_required=approval)
    tags = decision_tags(decisions, verdict)
    if version is not None:
        mlflow_registry.set_version_tags(name, version, tags)
    mlflow_tracking.log_dict(
        run_id,
        {
            "verdict": verdict,
            "champion_version": champion,
            "champion_metrics": champ_metrics,
            "decisions": records,
        },
        "reports/governance.json",
    )
    mlflow_tracking.set_tags(run_id, {VERDICT_TAG: verdict})
    which = f"v{version}" if version is not None else f"the model of MLflow run {run_id}"
    reports.table(name, "governance", records, f"gate decisions for {name} {which}")
    return Judgement(decisions, champion, verdict, tags)


@task(name="promote", **PLAIN)
def promote(
    loaded: LoadedSpec,
    version: int,
    decisions: list[GateDecision],
    flow_run: str,
    approval: ApprovalDecision | None,
    compared_with: int | None,
) -> tuple[bool, str]:
    """Move the promotion alias only when every gate passed and, where the spec asks for it,
    a reviewer approved; otherwise record why the version stays challenger.

    ``compared_with`` is the champion the gates judged against. The move is a compare-and-set
    on it, under the model's promotion lock: if another run promoted meanwhile, the status is
    ``conflict`` and the flow judges again against the new champion."""
    spec = loaded.spec
    name = spec.metadata.name
    promotion = spec.governance.promotion
    if not all(d.passed for d in decisions):
        failed = ", ".join(d.gate for d in decisions if not d.passed)
        return False, f"challenger (failed gates: {failed})"
    actor, reason = f"prefect flow run {flow_run}", "every gate passed"
    if promotion.approval == "required":
        if approval is None:
            mlflow_registry.set_version_tags(
                name, version, {"governance.status": "awaiting-approval"}
            )
            return False, "awaiting-approval"
        if not approval.approved:
            status = "rejected" if approval.decision == "reject" else "approval-timeout"
            mlflow_registry.set_version_tags(name, version, after_review(status))
            by = f" by {approval.reviewer}" if approval.reviewer else ""
            return False, f"challenger ({status}{by})"
        mlflow_registry.set_version_tags(name, version, after_review("approved"))
        actor = f"reviewer {approval.reviewer} (prefect flow run {flow_run})"
        reason = f"every gate passed; approved: {approval.comment or 'no comment'}"
    with promotion_lock(name):
        try:
            mlflow_registry.promote(
                name,
                promotion.alias,
                version,
                actor=actor,
                reason=reason,
                expected_from=compared_with,
            )
        except PromotionConflict as exc:
            get_run_logger().warning("%s; judging again against the new champion", exc)
            return False, CONFLICT
    mlflow_registry.set_version_tags(name, version, {"governance.status": "promoted"})
    _retire_challenger(name, version)
    return True, "promoted"


def after_review(status: str) -> dict[str, str]:
    """The status a review left, with the verdict it makes: ``awaiting-approval`` no longer
    holds once a reviewer decided (``promote`` when approved, ``keep-challenger`` when
    rejected); a review that timed out is still awaiting one."""
    verdict = {"approved": PROMOTE, "rejected": KEEP_CHALLENGER}.get(status, AWAITING_APPROVAL)
    return {"governance.status": status, VERDICT_TAG: verdict}


def _retire_challenger(name: str, version: int) -> None:
    """A version that became champion is no longer anyone's challenger: the alias goes, so the
    version page shows one role and shadow serving has nothing to shadow until a new one."""
    if mlflow_registry.get_alias_version(name, CHALLENGER) == version:
        mlflow_registry.delete_alias(name, CHALLENGER)


def summary_markdown(
    loaded: LoadedSpec,
    version: int,
    metrics: dict[str, float],
    decisions: list[GateDecision],
    status: str,
    run_id: str,
) -> str:
    spec = loaded.spec
    lines = [
        f"# {spec.metadata.name} v{version}: {status}",
        "",
        f"spec `{loaded.display_path}` (hash `{loaded.content_hash[:12]}`), MLflow run `{run_id}`",
        "",
        "## Test metrics",
        "",
        reports.markdown_table([{"metric": k, "value": v} for k, v in metrics.items()]),
        "## Gates",
        "",
        reports.markdown_table(
            [
                {"gate": d.gate, "result": "pass" if d.passed else "FAIL", "detail": d.detail}
                for d in decisions
            ]
        ),
    ]
    return "\n".join(lines)
