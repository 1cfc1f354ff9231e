"""Runs a compiled plan inside the training flow: its steps in its order, each step kind one
task function, configured with that step's retries and cache (``steps.configured``).

So the plan is not a description of the run but its program: a spec without tuning has no
``tune`` step and none runs; a plan with other retries gives the tasks other retries; a step
kind the runtime does not know fails before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import get_run_logger
from prefect.runtime import flow_run

from mlops_spec.adapters import mlflow_documents, mlflow_registry, mlflow_tracking
from mlops_spec.adapters.thresholds import decision_threshold
from mlops_spec.errors import ConstraintsFailed
from mlops_spec.loader import LoadedSpec
from mlops_spec.plan import Plan, Step
from mlops_spec.runtime import (
    fairness_steps,
    model_card,
    model_steps,
    registry_steps,
    reports,
    steps,
)
from mlops_spec.runtime.approval import ApprovalDecision, request_approval
from mlops_spec.runtime.lineage import frame_fingerprint, git_commit
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.runtime.step_log import found
from mlops_spec.secrets import redact_url
from mlops_spec.settings import Settings

# Each attempt re-judges the version against a champion another run just promoted.
PROMOTION_ATTEMPTS = 3


@dataclass
class Run:
    """What the steps of one run hand each other, filled in as the plan proceeds."""

    loaded: LoadedSpec
    settings: Settings
    plan: Plan
    run_id: str
    show_progress: bool
    entities: pd.DataFrame | None = None
    entities_sha: str = ""
    retrieved: Any = None
    features: list[str] = field(default_factory=list)
    frame_sha: str = ""
    view: Any = None
    train_rows: pd.DataFrame | None = None
    test_rows: pd.DataFrame | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    evaluation: Any = None
    fairness_failures: list[str] | None = None
    judged: registry_steps.Judgement | None = None
    version: int | None = None
    approval: ApprovalDecision | None = None
    promoted: bool = False
    status: str = ""
    warnings: list[str] = field(default_factory=list)
    fairness_groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.loaded.spec.metadata.name

    def need(self, value: Any, what: str) -> Any:
        """A value an earlier step must have produced: a plan out of order fails loudly."""
        if value is None:
            raise RuntimeError(f"plan step order: {what} is not available yet")
        return value


def _load_entities(run: Run, step: Step) -> None:
    run.entities, run.entities_sha = steps.configured(steps.load_entities, step)(run.loaded)


def _retrieve_features(run: Run, step: Step) -> None:
    entities = run.need(run.entities, "entity rows")
    run.retrieved = steps.spec_features(run.loaded, entities, run.entities_sha, step)
    label = run.loaded.spec.data.label
    run.features = [c for c in run.retrieved.feature_columns if c != label]
    run.frame_sha = frame_fingerprint(run.retrieved.frame)


def _training_frame(run: Run) -> pd.DataFrame:
    frame: pd.DataFrame = run.need(run.retrieved, "the feature frame").frame
    return frame[[*run.features, run.loaded.spec.data.label]]


def _profile_data(run: Run, step: Step) -> None:
    out_dir = run.settings.state / "runs" / run.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = steps.configured(steps.profile_data, step)
    run.view, _ = profile(_training_frame(run), out_dir, run.run_id)


def _check_constraints(run: Run, step: Step) -> None:
    check = steps.configured(steps.check_constraints, step)
    rows = len(_training_frame(run))
    stopped = check(run.loaded, run.need(run.view, "the profile"), rows, run.run_id)
    if stopped is not None:
        raise ConstraintsFailed(stopped)


def _label_bias(run: Run, step: Step) -> None:
    check = steps.configured(fairness_steps.label_bias, step)
    frame = run.need(run.retrieved, "the feature frame").frame  # with the sensitive columns
    stopped, warned = check(run.loaded, frame, run.run_id)
    run.warnings += warned
    if stopped is not None:
        raise ConstraintsFailed(stopped)


def _split(run: Run, step: Step) -> None:
    frame = run.need(run.retrieved, "the feature frame").frame
    run.train_rows, run.test_rows, warnings = steps.configured(model_steps.split, step)(
        run.loaded, frame
    )
    run.warnings += warnings
    if warnings:
        mlflow_tracking.set_tags(run.run_id, {"split.warnings": "; ".join(warnings)})
        reports.markdown(
            run.name,
            "split-warnings",
            "# Split warnings\n\n" + "\n".join(f"- {w}" for w in warnings) + "\n",
            "What the split found that may mislead the test metrics",
        )
    mlflow_tracking.log_params(
        run.run_id,
        {
            "train_rows": len(run.train_rows),
            "test_rows": len(run.test_rows),
            "features": ",".join(run.features),
        },
    )
    spec = run.loaded.spec
    mlflow_documents.log_datasets(
        run.run_id,
        {"training": run.train_rows, "test": run.test_rows},
        name=spec.features.service or spec.metadata.name,
        source=str(run.loaded.root / spec.data.entities),
        label=spec.data.label,
    )


def _tune(run: Run, step: Step) -> None:
    """Tune locally, or fill the study from Dask shards first when the task runner is Dask;
    the tune task then records the study either way."""
    study, train = step.setting("study"), run.need(run.train_rows, "training rows")
    loaded, settings = run.loaded, run.settings
    if settings.task_runner == "dask":
        from mlops_spec.adapters.tuning_storage import open_storage

        open_storage(settings.optuna_storage_url)  # schema created once, not by racing shards
        shard_task = steps.configured(model_steps.tune_shard, step)
        shards = [
            shard_task.submit(loaded, settings, train, run.features, study, i)
            for i in range(step.setting("parallelism"))
        ]
        get_run_logger().info("tuning trials per Dask task: %s", [s.result() for s in shards])
    tune = steps.configured(model_steps.tune, step)
    run.best_params = tune(
        loaded, settings, train, run.features, study, run.run_id, run.show_progress
    )


def _fit(run: Run, step: Step) -> None:
    train = run.need(run.train_rows, "training rows")
    fit = steps.configured(model_steps.fit, step)
    run.model = fit(run.loaded, run.settings, train, run.features, run.best_params)
    decided = decision_threshold(run.model)
    if decided is not None:
        mlflow_tracking.log_params(
            run.run_id, {"decision_threshold": decided[0], "decision_positive": decided[1]}
        )


def _evaluate(run: Run, step: Step) -> None:
    evaluate = steps.configured(model_steps.evaluate_model, step)
    test = run.need(run.test_rows, "test rows")
    run.evaluation = evaluate(
        run.loaded, run.need(run.model, "the model"), test, run.features, run.run_id
    )


def _fairness(run: Run, step: Step) -> None:
    fairness = steps.configured(fairness_steps.fairness, step)
    test = run.need(run.test_rows, "test rows")
    evaluation = run.need(run.evaluation, "the evaluation")
    run.fairness_failures, warned, run.fairness_groups = fairness(
        run.loaded, run.model, test, evaluation, run.run_id
    )
    run.warnings += warned


def _judge(run: Run, version: int | None) -> registry_steps.Judgement:
    """The governance step on what training produced; ``version`` only when judging again."""
    governance = steps.configured(registry_steps.governance, run.plan.step("governance"))
    evaluation = run.need(run.evaluation, "the evaluation")
    test = run.need(run.test_rows, "test rows")
    return governance(
        run.loaded,
        evaluation.metrics,
        test,
        run.features,
        run.fairness_failures,
        run.run_id,
        version,
    )


def _governance(run: Run, step: Step) -> None:
    run.judged = _judge(run, None)
    decisions = run.judged.decisions
    shown = "; ".join(f"{d.gate} {d.bound} {'pass' if d.passed else 'FAIL'}" for d in decisions)
    found(
        run.run_id,
        "gates: %d of %d passed (%s); verdict %s",
        sum(d.passed for d in decisions),
        len(decisions),
        shown,
        run.judged.verdict,
    )


def _register(run: Run, step: Step) -> None:
    judged = run.need(run.judged, "the gates' verdict")
    lineage = _lineage(run)
    mlflow_tracking.set_tags(run.run_id, lineage)
    example = run.need(run.train_rows, "training rows")[run.features]
    register = steps.configured(registry_steps.register, step)
    run.version = register(run.loaded, run.model, example, run.run_id, lineage | judged.tags)
    model_card.document(run.loaded.spec, run.version)


def _lineage(run: Run) -> dict[str, str]:
    """Where the version came from: spec, code, data, features, study and Prefect run."""
    loaded, spec = run.loaded, run.loaded.spec
    retrieved = run.need(run.retrieved, "the feature frame")
    commit, dirty = git_commit(loaded.root)
    tags = {
        "mlops_spec.spec_name": spec.metadata.name,
        "mlops_spec.spec_path": loaded.display_path,
        "mlops_spec.spec_hash": loaded.content_hash,
        "mlops_spec.spec_sources": ",".join(loaded.sources),
        "mlops_spec.owner": spec.metadata.owner,
        "git.commit": commit,
        "git.dirty": str(dirty).lower(),
        "data.entities": spec.data.entities,
        "data.entities_sha256": run.entities_sha,
        "data.training_frame_sha256": run.frame_sha,
        "data.rows": str(len(retrieved.frame)),
        "feast.repo": spec.features.repo,
        "feast.service": spec.features.service or "",
        "feast.feature_refs": ",".join(retrieved.feature_refs),
        "feast.registry_fingerprint": retrieved.registry_fingerprint,
        "prefect.flow_run_id": str(flow_run.id or ""),
        "prefect.flow_run_name": str(flow_run.name or ""),
    }
    if run.plan.has("tune"):
        tags["optuna.study"] = run.plan.step("tune").setting("study")
        tags["optuna.storage"] = redact_url(run.settings.optuna_storage_url)
    return tags


def _approval(run: Run, step: Step) -> None:
    """Ask a reviewer once the gates passed; a version that failed them needs no review."""
    judged = run.need(run.judged, "the gates' verdict")
    if not judged.passed or run.approval is not None:
        return
    version = run.need(run.version, "the version")
    request = registry_steps.summary_markdown(
        run.loaded, version, _test_metrics(run), judged.decisions, "awaiting approval", run.run_id
    )
    run.approval = request_approval(run.loaded, version, request, run.run_id)


def _test_metrics(run: Run) -> dict[str, float]:
    metrics: dict[str, float] = run.need(run.evaluation, "the evaluation").metrics
    return metrics


def _promote(run: Run, step: Step) -> None:
    """Promote on the verdict; when another run promoted meanwhile, judge again against the
    new champion (and ask the reviewer if that verdict now needs one)."""
    promote = steps.configured(registry_steps.promote, step)
    version = run.need(run.version, "the version")
    for attempt in range(PROMOTION_ATTEMPTS):
        if attempt:
            run.judged = _judge(run, version)
            if run.plan.has("approval"):
                _approval(run, run.plan.step("approval"))
        judged = run.need(run.judged, "the gates' verdict")
        run.promoted, run.status = promote(
            run.loaded, version, judged.decisions, str(flow_run.id), run.approval, judged.champion
        )
        if run.status != registry_steps.CONFLICT:
            break
    else:
        run.status = f"challenger (the champion kept moving over {PROMOTION_ATTEMPTS} attempts)"
    _log_promotion(run, version)


def _log_promotion(run: Run, version: int) -> None:
    """Where the alias points now, and why."""
    alias = run.loaded.spec.governance.promotion.alias
    before = run.need(run.judged, "the gates' verdict").champion
    if run.promoted:
        was = f"v{before}" if before is not None else "none"
        found(run.run_id, "moved %s@%s to v%d (was %s)", run.name, alias, version, was)
    else:
        found(run.run_id, "%s v%d is not %s: %s", run.name, version, alias, run.status)


STEP_KINDS: dict[str, Callable[[Run, Step], None]] = {
    "load_entities": _load_entities,
    "retrieve_features": _retrieve_features,
    "profile_data": _profile_data,
    "check_constraints": _check_constraints,
    "label_bias": _label_bias,
    "split": _split,
    "tune": _tune,
    "fit": _fit,
    "evaluate": _evaluate,
    "fairness": _fairness,
    "governance": _governance,
    "register": _register,
    "approval": _approval,
    "promote": _promote,
}


def unknown_steps(plan: Plan) -> list[str]:
    return [step.name for step in plan.steps if step.name not in STEP_KINDS]


def execute(run: Run) -> RunOutcome:
    """Every step of the plan in order, then the run's summary and outcome."""
    unknown = unknown_steps(run.plan)
    if unknown:
        raise RuntimeError(f"the plan has steps this runtime cannot run: {unknown}")
    for step in run.plan.steps:
        STEP_KINDS[step.name](run, step)
    return _outcome(run)


def _outcome(run: Run) -> RunOutcome:
    judged = run.need(run.judged, "the gates' verdict")
    version = run.need(run.version, "the version")
    model_card.document(run.loaded.spec, version)  # again: approval and promotion are decided
    metrics = _test_metrics(run)
    status = "promoted" if run.promoted else run.status
    summary = registry_steps.summary_markdown(
        run.loaded, version, metrics, judged.decisions, run.status, run.run_id
    )
    reports.markdown(
        run.name, "summary", summary, "the run's outcome: metrics and every gate decision"
    )
    alias = run.loaded.spec.governance.promotion.alias
    champion = (
        mlflow_registry.get_alias_version(run.name, alias)
        if run.promoted or judged.champion is not None
        else None
    )
    return RunOutcome(
        spec_name=run.name,
        registered_model=run.name,
        version=version,
        promoted=run.promoted,
        status=status,
        metrics=metrics,
        decisions=[d.to_dict() for d in judged.decisions],
        mlflow_run_id=run.run_id,
        prefect_flow_run_id=str(flow_run.id or ""),
        champion_version=champion,
        warnings=list(run.warnings),
        fairness_groups=list(run.fairness_groups),
    )
