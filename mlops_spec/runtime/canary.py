"""The canary decision: promote the canary or take it out of traffic, from what was logged.

The service logs, for every canary request, both the canary's and the champion's answer (see
``prediction_log``). With outcomes (a parquet of entity keys and the true label) the two are
compared on accuracy over the same requests; without, on agreement. The spec's
``serving.canary`` rules decide, once enough canary requests were logged:

* promote: the champion alias moves to the canary version (compare-and-set under the
  promotion lock, as in training), recorded as a promotion;
* roll back: the candidate alias is removed, so the service stops routing to it at its next
  reload, recorded as a ``canary-rollback`` event;
* wait: too few requests yet; nothing changes;
* refused: the canary's recorded gate verdict does not allow it to be champion (it failed its
  gates, awaits approval, or was never judged). The canary rules add to the gates, never
  replace them: the candidate alias is removed, as for a rollback, and recorded as a
  ``canary-refused`` event, whatever the traffic says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from mlops_spec.errors import StepError
from mlops_spec.runtime import reports
from mlops_spec.runtime.console import protect_logs
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.gates import alias_refusal, is_unjudged, within_allowance
from mlops_spec.runtime.prediction_log import log_path, read_log
from mlops_spec.runtime.promotion_lock import promotion_lock
from mlops_spec.runtime.run_names import run_name_for
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.spec.sections import CanaryRules


@dataclass(frozen=True)
class CanaryVerdict:
    decision: str  # promote | rollback | wait | refused
    champion_version: int
    canary_version: int
    requests: int
    agreement: float | None
    labelled: int
    champion_accuracy: float | None
    canary_accuracy: float | None
    reason: str


@dataclass(frozen=True)
class _Comparison:
    """The canary's answers next to the champion's, on the requests routed to the canary."""

    requests: int
    agreement: float | None
    labelled: int
    champion_accuracy: float | None
    canary_accuracy: float | None


def _entity_id(entity: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(entity[k]) for k in sorted(entity))


def _compare(
    records: list[dict[str, Any]],
    champion: int,
    canary: int,
    outcomes: dict[tuple[Any, ...], Any] | None,
) -> _Comparison:
    rows = [
        r
        for r in records
        if r.get("route") == "canary"
        and r.get("version") == canary
        and r.get("champion_version") == champion
        and r.get("store") == "ok"
    ]
    n = len(rows)
    agreement = (
        sum(str(r["champion_prediction"]) == str(r["prediction"]) for r in rows) / n if n else None
    )
    labelled = [r for r in rows if outcomes and _entity_id(r["entity"]) in outcomes]
    if outcomes is None or not labelled:
        return _Comparison(n, agreement, len(labelled), None, None)
    truth = [str(outcomes[_entity_id(r["entity"])]) for r in labelled]
    pairs = list(zip(labelled, truth, strict=True))
    champion_acc = sum(str(r["champion_prediction"]) == t for r, t in pairs) / len(labelled)
    canary_acc = sum(str(r["prediction"]) == t for r, t in pairs) / len(labelled)
    return _Comparison(n, agreement, len(labelled), champion_acc, canary_acc)


def judge(
    records: list[dict[str, Any]],
    rules: CanaryRules,
    *,
    champion: int,
    canary: int,
    candidate_tags: Mapping[str, str],
    approval_required: bool = False,
    outcomes: dict[tuple[Any, ...], Any] | None = None,
) -> CanaryVerdict:
    """Apply the spec's rules to the canary requests logged for this champion/canary pair.

    The canary rules add to the gates, never replace them: a canary whose recorded verdict
    does not allow it to be champion (``candidate_tags``, see ``gates.alias_refusal``) is
    ``refused`` whatever its traffic says, and leaves traffic.
    """
    seen = _compare(records, champion, canary, outcomes)

    def verdict(decision: str, reason: str) -> CanaryVerdict:
        return CanaryVerdict(decision, champion, canary, reason=reason, **asdict(seen))

    refusal = alias_refusal("champion", candidate_tags, approval_required=approval_required)
    if refusal is not None:
        return verdict("refused", f"v{canary} may not be promoted: {refusal}")
    counted = seen.labelled if outcomes is not None else seen.requests
    if counted < rules.min_requests:
        what = "labelled canary requests" if outcomes is not None else "canary requests"
        return verdict("wait", f"{counted} {what} logged, {rules.min_requests} needed")
    if seen.champion_accuracy is not None and seen.canary_accuracy is not None:
        champion_acc, canary_acc = seen.champion_accuracy, seen.canary_accuracy
        ok = within_allowance(champion_acc - canary_acc, rules.max_regression)
        return verdict(
            "promote" if ok else "rollback",
            f"canary accuracy {canary_acc:.4f} {'>=' if ok else '<'} champion {champion_acc:.4f}"
            f" - {rules.max_regression} on {seen.labelled} labelled requests",
        )
    assert seen.agreement is not None
    ok = seen.agreement >= rules.min_agreement
    return verdict(
        "promote" if ok else "rollback",
        f"agreement with the champion {seen.agreement:.4f} {'>=' if ok else '<'} "
        f"{rules.min_agreement} on {seen.requests} canary requests (no outcomes)",
    )


def _outcomes(path: Path, keys: list[str], label: str) -> dict[tuple[Any, ...], Any]:
    from mlops_spec.adapters import data_files

    frame = data_files.read_frame(path, columns=[*keys, label], what="outcomes")
    records = frame.to_dict(orient="records")
    return {_entity_id({k: row[k] for k in keys}): row[label] for row in records}


@flow(name="mlops-spec-canary", flow_run_name=run_name_for("canary"), log_prints=True)
def canary(spec_path: str, outcomes_path: str | None = None) -> dict[str, Any]:
    """Decide the canary of a spec served with ``serving.mode: canary``.

    Args:
        spec_path: The served spec, relative to the project root.
        outcomes_path: A parquet file of observed labels for served predictions (entity
            keys and the label), so the canary is judged on outcomes too.
    """
    protect_logs()
    settings = command_settings()
    loaded = load_once(spec_path, settings)
    spec = loaded.spec
    serving = spec.serving
    if serving is None or serving.mode != "canary":
        raise StepError(f"{loaded.display_path}: serving.mode is not canary; nothing to decide")
    from mlops_spec.adapters import mlflow_registry, mlflow_tracking

    use_secret_blocks()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    name, alias = spec.metadata.name, spec.governance.promotion.alias
    champion = mlflow_registry.get_alias_version(name, alias)
    candidate = mlflow_registry.get_alias_version(name, serving.candidate_alias)
    if champion is None or candidate is None or candidate == champion:
        raise StepError(
            f"{name}: no canary in traffic ({alias}=v{champion}, "
            f"{serving.candidate_alias}=v{candidate})"
        )
    if is_unjudged(mlflow_registry.get_version_tags(name, champion)):
        raise StepError(
            f"{name}@{alias} is v{champion}, which is unjudged (no governance.verdict): no "
            "canary is decided against it; promote a judged version first"
        )
    candidate_tags = mlflow_registry.get_version_tags(name, candidate)
    outcomes = (
        _outcomes(loaded.resolve(outcomes_path), list(spec.data.entity_keys), spec.data.label)
        if outcomes_path
        else None
    )
    verdict = judge(
        list(read_log(log_path(settings.state, name))),
        serving.canary,
        champion=champion,
        canary=candidate,
        candidate_tags=candidate_tags,
        approval_required=spec.governance.promotion.approval == "required",
        outcomes=outcomes,
    )
    _carry_out(verdict, name, alias, serving.candidate_alias, f"prefect flow run {flow_run.id}")
    logger = get_run_logger()
    logger.info("%s canary v%d: %s (%s)", name, candidate, verdict.decision, verdict.reason)
    reports.table(name, "canary", [asdict(verdict)], f"canary decision for {name} v{candidate}")
    if verdict.decision == "refused" and is_unjudged(candidate_tags):
        raise StepError(
            f"{name} v{candidate} is unjudged (no governance.verdict): refused as a canary and "
            f"taken out of traffic (alias {serving.candidate_alias!r} removed)"
        )
    return asdict(verdict)


_TAKEN_OUT = {
    "rollback": ("canary-rollback", "canary rolled back", "canary-rolled-back"),
    "refused": ("canary-refused", "canary refused", "canary-refused"),
}


def _carry_out(
    verdict: CanaryVerdict, name: str, alias: str, candidate_alias: str, actor: str
) -> None:
    """Move the champion to the canary, or take the canary out of traffic (its candidate alias
    removed, an event in the promotion history), under the promotion lock; tag the version."""
    from mlops_spec.adapters import mlflow_registry

    if verdict.decision == "wait":
        return
    candidate, champion = verdict.canary_version, verdict.champion_version
    tags = {"canary.decision": verdict.decision, "canary.reason": verdict.reason}
    with promotion_lock(name):
        if verdict.decision == "promote":
            mlflow_registry.promote(
                name,
                alias,
                candidate,
                actor=actor,
                reason=f"canary: {verdict.reason}",
                expected_from=champion,
            )
            tags["governance.status"] = "promoted (canary)"
        else:
            kind, what, status = _TAKEN_OUT[verdict.decision]
            mlflow_registry.delete_alias(name, candidate_alias)
            mlflow_registry.record_promotion(
                name, candidate_alias, candidate, champion, actor, f"{what}: {verdict.reason}", kind
            )
            tags["governance.status"] = status
    mlflow_registry.set_version_tags(name, candidate, tags)
