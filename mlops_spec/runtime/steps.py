"""The plan's steps as Prefect tasks. Each task calls one adapter and publishes its report.

Tasks are declared plain (no retries, no cache); ``configured`` gives a task the retries and
cache its plan step names, so what the plan says is what runs. Tasks pass frames in memory
(one process); only feature retrieval is cached by the plan, so a re-run of an unchanged spec
on unchanged entity rows and feature data skips the point-in-time join. No other task hashes
its inputs (``NO_CACHE``): hashing large frames would cost more than it saves.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE, CachePolicy

from mlops_spec.adapters import data_files, feast_store, mlflow_tracking
from mlops_spec.errors import DataSourceError
from mlops_spec.loader import LoadedSpec
from mlops_spec.plan import Step, compile_plan
from mlops_spec.runtime import reports
from mlops_spec.runtime.lineage import file_sha256, tree_sha256
from mlops_spec.runtime.retry_rules import retry_transient
from mlops_spec.runtime.step_log import found

PLAIN: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}

TaskT = TypeVar("TaskT", bound=Task[Any, Any])


@task(name="load_entities", **PLAIN)
def load_entities(loaded: LoadedSpec) -> tuple[pd.DataFrame, str]:
    """Read the entity rows and fingerprint the file they came from."""
    data = loaded.spec.data
    path = loaded.resolve(data.entities)
    if not path.is_file():
        raise DataSourceError(
            f"{data.entities}: entity file not found (spec {loaded.display_path}, data.entities); "
            "run `mlops-spec demo-data` for the demo specs"
        )
    needed = [*data.entity_keys, data.timestamp, data.label]
    if loaded.spec.constraints.fairness is not None:
        needed += loaded.spec.constraints.fairness.columns
    frame = data_files.read_frame(
        path,
        required=needed,
        what="entity file",
        shown=data.entities,
        required_as=f"columns named in {loaded.display_path}",
    )
    unlabeled = int(frame[data.label].isna().sum())
    if unlabeled:
        raise DataSourceError(f"{data.entities}: {unlabeled} rows have no label ({data.label})")
    frame[data.timestamp] = pd.to_datetime(frame[data.timestamp], utc=True)
    get_run_logger().info("read %d labelled entity rows from %s", len(frame), data.entities)
    return frame, file_sha256(path)


_CACHE_KEY_PARTS = ("spec_hash", "entities_sha256", "repo_sha256", "sources_sha256")


def feature_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Spec, entity rows, repo definitions and the sources' data: any change is a new key."""
    digest = hashlib.sha256("\0".join(parameters[name] for name in _CACHE_KEY_PARTS).encode())
    return f"features-{digest.hexdigest()[:32]}"


# The plan names a cache by its key rule; these are the rules the runtime knows.
CACHE_KEYS: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "feature-inputs": feature_cache_key,
}


def configured(step_task: TaskT, step: Step) -> TaskT:
    """``step_task`` with the retries and cache of its plan ``step``: the one place where a
    plan's settings become a task's options."""
    if step.cache is None:
        caching: dict[str, Any] = PLAIN
    else:
        caching = {
            "cache_policy": CachePolicy.from_cache_key_fn(CACHE_KEYS[step.cache.key]),
            "cache_expiration": timedelta(hours=step.cache.hours),
            "persist_result": True,
        }
    options = step_task.with_options(
        retries=step.retries,
        retry_delay_seconds=step.retry_delay_s,
        retry_condition_fn=retry_transient if step.retries else None,
        **caching,
    )
    return options  # type: ignore[return-value]


@task(name="retrieve_features", **PLAIN)
def retrieve_features(
    repo: str,
    entities: pd.DataFrame,
    *,
    service: str | None,
    refs: list[str] | None,
    timestamp: str,
    spec_hash: str,
    entities_sha256: str,
    repo_sha256: str,
    sources_sha256: str,
    store: Any = None,
) -> feast_store.RetrievedFeatures:
    """Point-in-time join through Feast; cached by spec hash, entity data, repo definitions and
    the feature sources' data (the repo is applied before the key is computed). ``store`` is
    the run's open store, not part of the key."""
    repo_path = Path(repo)
    retrieved = feast_store.retrieve_features(
        repo_path, entities, service=service, refs=refs, timestamp_column=timestamp, store=store
    )
    get_run_logger().info(
        "joined %d features onto %d entity rows (rows in == rows out)",
        len(retrieved.feature_columns),
        len(retrieved.frame),
    )
    return retrieved


def spec_features(
    loaded: LoadedSpec, entities: pd.DataFrame, entities_sha256: str, step: Step | None = None
) -> feast_store.RetrievedFeatures:
    """The spec's features (its service or refs) for entity rows, point-in-time; training,
    monitoring and scoring all join through here, so they see features the same way. The
    retrieval runs as the plan's ``retrieve_features`` step says (the run passes its step;
    scoring and monitoring compile the same one)."""
    spec = loaded.spec
    if step is None:
        step = compile_plan(loaded).step("retrieve_features")
    repo = loaded.resolve(spec.features.repo)
    refs = list(spec.features.refs) if spec.features.refs else None
    store = feast_store.open_store(repo)  # one store: applied, fingerprinted, joined through
    feast_store.apply_repo(repo, store)
    sources = feast_store.source_data_fingerprint(
        repo, service=spec.features.service, refs=refs, store=store
    )
    if sources is None:
        get_run_logger().info("a feature source cannot be fingerprinted; not reusing a cached join")
    return configured(retrieve_features, step)(
        str(repo),
        entities,
        service=spec.features.service,
        refs=refs,
        timestamp=spec.data.timestamp,
        spec_hash=loaded.content_hash,
        entities_sha256=entities_sha256,
        repo_sha256=tree_sha256(repo),
        sources_sha256=sources or f"unfingerprinted-{uuid.uuid4().hex}",
        store=store,
    )


@task(name="profile_data", **PLAIN)
def profile_data(frame: pd.DataFrame, out_dir: Path, run_id: str) -> tuple[Any, Path]:
    """Profile the training frame; the profile is the reference that monitoring compares with."""
    from mlops_spec.adapters import whylogs_profiling

    view = whylogs_profiling.profile_frame(frame)
    path = whylogs_profiling.write_profile(view, out_dir / "reference_profile.bin")
    mlflow_tracking.log_artifact_file(run_id, path, "profiles")
    found(
        run_id,
        "profiled %d rows x %d columns; logged as the reference profile for monitoring",
        len(frame),
        len(frame.columns),
    )
    return view, path


@task(name="check_constraints", **PLAIN)
def check_constraints(loaded: LoadedSpec, view: Any, rows: int, run_id: str) -> str | None:
    """Data constraints on the profile; returns why the run must stop, or None.

    The task itself completes (its report is the point); the flow turns a failure into a
    Failed run with this message, so the UI shows the reason rather than a traceback.
    """
    from mlops_spec.adapters import whylogs_profiling

    name = loaded.spec.metadata.name
    report = whylogs_profiling.check_constraints(view, loaded.spec.constraints.data, row_count=rows)
    records = report.to_records()
    mlflow_tracking.log_dict(
        run_id, {"passed": report.passed, "results": records}, "reports/constraints.json"
    )
    reports.markdown(
        name,
        "constraints",
        f"# Data constraints: {'passed' if report.passed else 'FAILED'}\n\n" + report.to_markdown(),
        "whylogs data constraints on the training frame",
    )
    if records:
        reports.table(name, "constraints-table", records, "each data constraint and its result")
    passed = sum(1 for r in records if r.get("passed"))
    found(run_id, "data constraints: %d of %d passed on %d rows", passed, len(records), rows)
    if not report.passed:
        failed = "; ".join(f"{r.column} {r.check}: {r.detail}" for r in report.failed())
        mlflow_tracking.set_tags(run_id, {"mlops_spec.outcome": "stopped:constraints"})
        return f"data constraints failed, training not started: {failed}"
    return None
