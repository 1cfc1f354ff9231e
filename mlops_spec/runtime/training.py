"""The training flow: a spec's plan run as Prefect tasks, with one MLflow run as its trail.

The flow takes a spec *path* and loads it at run time, so one static entrypoint serves every
spec as a deployment. The MLflow run starts first: even a run stopped by a constraint leaves
its report behind, and the Prefect run and the MLflow run point at each other.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import State, flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.errors import ConstraintsFailed, RegistryError, StepError
from mlops_spec.loader import LoadedSpec, load_spec
from mlops_spec.plan import compile_plan, study_name
from mlops_spec.runtime import model_steps, registry_steps, reports, steps
from mlops_spec.runtime.approval import request_approval
from mlops_spec.runtime.console import protect_logs
from mlops_spec.runtime.lineage import frame_fingerprint, git_commit
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.secrets import redact_url
from mlops_spec.settings import Settings

STOPPED_PREFIX = "stopped by the spec: "
FAILED_PREFIX = "step failed: "
# Each attempt re-judges the version against a champion another run just promoted.
PROMOTION_ATTEMPTS = 3


def _run_name() -> str:
    spec_path = str(flow_run.parameters.get("spec_path", "spec"))
    try:
        name = load_spec(spec_path).spec.metadata.name
    except Exception:  # the flow itself reports a bad spec; the name only needs to exist
        name = Path(spec_path).stem
    return f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


@flow(name="mlops-spec-train", flow_run_name=_run_name, log_prints=True)
def train(spec_path: str, show_progress: bool = False) -> dict[str, Any] | State:
    """Train, evaluate, govern and register the model a spec describes.

    A run stopped by a data constraint ends Failed with the constraint in its message: an
    outcome the spec asked for, reported without a traceback. So does a step that failed for a
    reason it could name (``StepError``: an unreachable backend, a corrupt source file).
    """
    protect_logs()
    settings = Settings()
    loaded = load_spec(spec_path, settings)
    try:
        return run_pipeline(loaded, settings, show_progress=show_progress).__dict__
    except ConstraintsFailed as exc:
        get_run_logger().error("%s", exc)
        return Failed(message=f"{STOPPED_PREFIX}{exc}")
    except StepError as exc:
        # A located, explained failure (an outage, a bad file): Failed with that one line,
        # not a crash report.
        get_run_logger().error("%s", exc)
        return Failed(message=f"{FAILED_PREFIX}{exc}")


def _lineage(
    loaded: LoadedSpec,
    entities_sha: str,
    frame_sha: str,
    rows: int,
    retrieved: Any,
    study: str | None,
    settings: Settings,
) -> dict[str, str]:
    spec = loaded.spec
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
        "data.entities_sha256": entities_sha,
        "data.training_frame_sha256": frame_sha,
        "data.rows": str(rows),
        "feast.repo": spec.features.repo,
        "feast.service": spec.features.service or "",
        "feast.feature_refs": ",".join(retrieved.feature_refs),
        "feast.registry_fingerprint": retrieved.registry_fingerprint,
        "prefect.flow_run_id": str(flow_run.id or ""),
        "prefect.flow_run_name": str(flow_run.name or ""),
    }
    if study is not None:
        tags["optuna.study"] = study
        tags["optuna.storage"] = redact_url(settings.optuna_storage_url)
    return tags


def run_pipeline(loaded: LoadedSpec, settings: Settings, *, show_progress: bool) -> RunOutcome:
    logger = get_run_logger()
    spec = loaded.spec
    name = spec.metadata.name
    plan = compile_plan(loaded)
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    run_id = mlflow_tracking.start_run(
        name,
        str(flow_run.name or name),
        {
            "mlops_spec.spec_hash": loaded.content_hash,
            "mlops_spec.spec_path": loaded.display_path,
            "prefect.flow_run_id": str(flow_run.id or ""),
            "mlops_spec.outcome": "running",
        },
    )
    logger.info("MLflow run %s (tracking %s)", run_id, redact_url(settings.tracking_uri))
    try:
        outcome = _steps(loaded, settings, plan, run_id, show_progress)
    except BaseException:
        # Keep the error that stopped the run: when the backend itself is gone, marking the
        # run failed fails too, and that second error says less.
        with contextlib.suppress(RegistryError):
            mlflow_tracking.end_run(run_id, failed=True)
        raise
    mlflow_tracking.set_tags(run_id, {"mlops_spec.outcome": outcome.status})
    mlflow_tracking.end_run(run_id)
    return outcome


def _steps(
    loaded: LoadedSpec, settings: Settings, plan: Any, run_id: str, show_progress: bool
) -> RunOutcome:
    spec = loaded.spec
    mlflow_tracking.log_dict(run_id, loaded.resolved_document(), "spec/resolved_spec.json")
    mlflow_tracking.log_artifact_file(run_id, loaded.path, "spec")
    mlflow_tracking.log_dict(run_id, plan.to_dict(), "spec/plan.json")
    mlflow_tracking.log_params(
        run_id,
        {
            "spec": {
                k: v
                for k, v in loaded.resolved_document().items()
                if k in ("data", "features", "split", "model", "tuning")
            },
        },
    )

    entities, entities_sha = steps.load_entities(loaded)
    retrieved = steps.spec_features(loaded, entities, entities_sha)
    frame = retrieved.frame
    features = [c for c in retrieved.feature_columns if c != spec.data.label]
    training_frame = frame[[*features, spec.data.label]]
    frame_sha = frame_fingerprint(frame)
    out_dir = settings.state / "runs" / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    view, _ = steps.profile_data(training_frame, out_dir, run_id)
    stopped = steps.check_constraints(loaded, view, len(training_frame), run_id)
    if stopped is not None:
        raise ConstraintsFailed(stopped)

    train_rows, test_rows = model_steps.split(loaded, frame)
    study = study_name(spec, loaded.content_hash) if spec.tuning is not None else None
    model, evaluation, fairness_failures = _model(
        loaded, settings, train_rows, test_rows, features, study, run_id, show_progress
    )
    lineage = _lineage(loaded, entities_sha, frame_sha, len(frame), retrieved, study, settings)
    mlflow_tracking.set_tags(run_id, lineage)
    mlflow_tracking.log_params(
        run_id,
        {
            "train_rows": len(train_rows),
            "test_rows": len(test_rows),
            "features": ",".join(features),
        },
    )
    trained = _Trained(model, features, train_rows, test_rows, evaluation, fairness_failures)
    return _govern_register_promote(loaded, trained, lineage, run_id)


def _model(
    loaded: LoadedSpec,
    settings: Settings,
    train_rows: Any,
    test_rows: Any,
    features: list[str],
    study: str | None,
    run_id: str,
    show_progress: bool,
) -> tuple[Any, Any, list[str] | None]:
    """Tune (locally or in Dask shards), fit, evaluate and check fairness: the fitted model,
    its evaluation and the failed fairness rules (``None`` when the spec has none)."""
    spec = loaded.spec
    best_params: dict[str, Any] = {}
    if spec.tuning is not None and study is not None:
        if settings.task_runner == "dask":
            from mlops_spec.adapters.tuning_storage import open_storage

            open_storage(settings.optuna_storage_url)  # schema created once, not by racing shards
            shards = [
                model_steps.tune_shard.submit(loaded, settings, train_rows, features, study, i)
                for i in range(spec.tuning.parallelism)
            ]
            ran = [shard.result() for shard in shards]
            get_run_logger().info("tuning trials per Dask task: %s", ran)
        best_params = model_steps.tune(
            loaded, settings, train_rows, features, study, run_id, show_progress
        )
    model = model_steps.fit(loaded, settings, train_rows, features, best_params)
    evaluation = model_steps.evaluate_model(loaded, model, test_rows, features, run_id)
    fairness_failures: list[str] | None = None
    if spec.constraints.fairness is not None:
        fairness_failures = model_steps.fairness(loaded, model, test_rows, evaluation, run_id)
    return model, evaluation, fairness_failures


@dataclass(frozen=True)
class _Trained:
    """What governance, registration and promotion need from the training half of the run."""

    model: Any
    features: list[str]
    train_rows: Any
    test_rows: Any
    evaluation: Any
    fairness_failures: list[str] | None


def _judge(
    loaded: LoadedSpec, trained: _Trained, run_id: str, version: int | None
) -> registry_steps.Judgement:
    """The governance task on what training produced; ``version`` only when judging again."""
    return registry_steps.governance(
        loaded,
        trained.evaluation.metrics,
        trained.test_rows,
        trained.features,
        trained.fairness_failures,
        run_id,
        version,
    )


def _govern_register_promote(
    loaded: LoadedSpec, trained: _Trained, lineage: dict[str, str], run_id: str
) -> RunOutcome:
    """Judge the gates, register the version with its verdict, then promote on it.

    The gates are judged first (they need the metrics, the champion on the test rows and the
    fairness failures, never the version number) so the version is created with lineage, gate
    decisions and verdict in one registry call: a run killed at any moment leaves either no
    version or a judged one.
    """
    spec = loaded.spec
    name = spec.metadata.name
    metrics = trained.evaluation.metrics
    judged = _judge(loaded, trained, run_id, None)
    example = trained.train_rows[trained.features]
    version = registry_steps.register(loaded, trained.model, example, run_id, lineage | judged.tags)
    approval = None
    for attempt in range(PROMOTION_ATTEMPTS):
        if attempt:  # another run promoted meanwhile: judge again against the new champion
            judged = _judge(loaded, trained, run_id, version)
        if spec.governance.promotion.approval == "required" and judged.passed and approval is None:
            request = registry_steps.summary_markdown(
                loaded, version, metrics, judged.decisions, "awaiting approval", run_id
            )
            approval = request_approval(loaded, version, request, run_id)
        promoted, status = registry_steps.promote(
            loaded, version, judged.decisions, str(flow_run.id), approval, judged.champion
        )
        if status != registry_steps.CONFLICT:
            break
    else:
        status = f"challenger (the champion kept moving over {PROMOTION_ATTEMPTS} attempts)"
    summary = registry_steps.summary_markdown(
        loaded, version, metrics, judged.decisions, status, run_id
    )
    reports.markdown(name, "summary", summary, "the run's outcome: metrics and every gate decision")
    from mlops_spec.adapters import mlflow_registry

    return RunOutcome(
        spec_name=name,
        registered_model=name,
        version=version,
        promoted=promoted,
        status="promoted" if promoted else status,
        metrics=metrics,
        decisions=[d.to_dict() for d in judged.decisions],
        mlflow_run_id=run_id,
        prefect_flow_run_id=str(flow_run.id or ""),
        champion_version=mlflow_registry.get_alias_version(name, spec.governance.promotion.alias)
        if promoted or judged.champion is not None
        else None,
    )
