"""MLflow tracking: where the backend lives, runs, and what a run records.

The ``mlops_spec.adapters.mlflow_*`` modules are the only places that import MLflow; nothing
under ``mlops_spec.spec``, ``loader`` or ``plan`` imports them, so ``validate`` and ``plan``
never pay MLflow's ~3 s import.

Design choices, and why:

* **Every call names its run by id** (``log_params(run_id, ...)``) instead of relying on MLflow's
  fluent "active run". Prefect runs tasks in worker threads and MLflow's active-run stack is
  thread-local, so a run started in one task is not active in the next; a run id is a plain
  string that survives task boundaries, retries and result persistence.
* **SQLite by default, explicit artifact locations** under the artifact root (not ``./mlruns``
  of whatever directory the process started in); a tracking server keeps its own store.
* **Concurrent first use is serialised.** Two processes opening a fresh SQLite database at the
  same time both run MLflow's schema migration and one fails (``duplicate column name``, or an
  alembic revision mismatch; reproduced here with MLflow 3.17.2). :func:`configure` holds an
  exclusive file lock next to the database while the stores initialise, and retries
  ``database is locked``.
* **One failure type.** Backend failures (unreachable server, locked or corrupt database,
  unwritable artifact folder, missing entity) surface as :class:`~mlops_spec.errors.RegistryError`
  with a one-line message (:mod:`mlops_spec.adapters.mlflow_backend`); retrying is the
  caller's business (Prefect task retries).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException

from mlops_spec.adapters.mlflow_backend import (
    backend_call,
    hint,
    one_line_error,
    retry_locked,
    sqlite_path,
)
from mlops_spec.errors import RegistryError
from mlops_spec.secrets import redact_url

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "PARAM_VALUE_LIMIT",
    "backend_call",
    "client",
    "configure",
    "end_run",
    "experiment_id_of_run",
    "flatten_params",
    "get_or_create_experiment",
    "log_artifact_file",
    "log_dict",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_table",
    "log_text",
    "set_tags",
    "start_run",
    "tracked_run",
]

T = TypeVar("T")

#: Longest parameter value we send. MLflow 3.17 accepts 6000 characters, but older servers (and
#: the limit most MLflow documentation still quotes) stop at 500; a spec's runs must stay
#: loggable to any server the settings point at, so values are cut at the portable bound.
PARAM_VALUE_LIMIT = 500
_TRUNCATION_MARK = "...[truncated]"
_KEY_LIMIT = 250
_BATCH = 100  # MLflow's limit on params or tags per log_batch call
_INVALID_KEY_CHARS = re.compile(r"[^\w./\- :]")


@dataclass(frozen=True)
class _Config:
    tracking_uri: str
    artifact_root: Path
    client: Any  # one MlflowClient per configuration, shared by every call of the command


_config: _Config | None = None


# --------------------------------------------------------------------------- configuration


def _probe_sqlite(db_path: Path) -> None:
    """Fail fast on a database MLflow cannot use.

    MLflow retries engine creation with exponential back-off for about 100 s before raising
    ("unable to open database file"), which would stall a flow for no benefit. A direct
    sqlite3 connection and a header read answer the same question in milliseconds.
    """
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryError(
            f"MLflow database folder {db_path.parent} cannot be created: {one_line_error(exc)}"
        ) from exc
    try:
        con = sqlite3.connect(str(db_path), timeout=30)
        try:
            con.execute("PRAGMA schema_version").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise RegistryError(
            f"MLflow database {db_path} is not usable: {one_line_error(exc)}{hint(exc)}"
        ) from exc


@contextlib.contextmanager
def _init_lock(db_path: Path | None) -> Iterator[None]:
    """Exclusive lock beside the SQLite file for the duration of store initialisation."""
    if db_path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rely on the locked-retry alone
        yield
        return
    lock_path = db_path.with_name(db_path.name + ".init-lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def configure(tracking_uri: str, artifact_root: Path) -> None:
    """Point MLflow at ``tracking_uri`` and make sure its schema exists before anyone writes.

    Sets the process-wide tracking and registry URIs (``mlflow.sklearn.log_model`` and
    ``models:/`` loading read them), creates ``artifact_root``, and initialises both the
    tracking and the registry store under an exclusive lock, so the ~3-5 s migration of a fresh
    SQLite database runs exactly once even when two processes start together. Safe to call
    repeatedly; later calls are cheap.

    Raises:
        RegistryError: the database is unusable (folder not creatable, file not SQLite,
            still locked after retries) or the server cannot be reached.
    """
    global _config
    root = artifact_root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryError(
            f"artifact root {root} cannot be created: {one_line_error(exc)}"
        ) from exc
    db_path = sqlite_path(tracking_uri)
    if db_path is not None:
        db_path = db_path.expanduser().resolve()
        _probe_sqlite(db_path)
    if redact_url(tracking_uri) != tracking_uri:
        # MLflow prints "View run at <tracking URI>" to stdout, password included.
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)

    if _config is not None and (_config.tracking_uri, _config.artifact_root) == (
        tracking_uri,
        root,
    ):
        return  # configured already: the store exists and the client is built
    built: list[Any] = []

    def initialise() -> None:
        # Building the client creates a fresh database's schema: inside the lock.
        mlflow_client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        mlflow_client.search_experiments(max_results=1)
        mlflow_client.search_registered_models(max_results=1)
        built.append(mlflow_client)

    with _init_lock(db_path):
        retry_locked(f"initialise the tracking store at {redact_url(tracking_uri)}", initialise)
    _config = _Config(tracking_uri=tracking_uri, artifact_root=root, client=built[-1])


def _require_config() -> _Config:
    if _config is None:
        raise RegistryError("MLflow is not configured: call configure(tracking_uri, root) first")
    return _config


def client() -> Any:
    """The ``MlflowClient`` bound to the configured URIs (not the process-global defaults),
    built once by ``configure``."""
    return _require_config().client


#: The MLflow UI opens an experiment in its GenAI view (traces, evaluations) unless the
#: experiment says it holds classic models; its own value for that is this tag.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CLASSIC_ML = "custom_model_development"


def get_or_create_experiment(name: str) -> str:
    """Return the id of experiment ``name``, creating it under the artifact root if needed.

    A deleted experiment of that name is restored rather than shadowed (MLflow refuses to
    create a second one). A concurrent creator winning the race is fine: we read theirs.
    """
    config = _require_config()
    remote = config.tracking_uri.startswith(("http://", "https://"))  # proxied mlflow-artifacts:/
    location = None if remote else (config.artifact_root / _safe_folder(name)).as_uri()

    def get_or_create() -> str:
        mlflow_client = client()
        found = mlflow_client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                mlflow_client.restore_experiment(found.experiment_id)
            if found.tags.get(EXPERIMENT_KIND_TAG) != CLASSIC_ML:
                mlflow_client.set_experiment_tag(
                    found.experiment_id, EXPERIMENT_KIND_TAG, CLASSIC_ML
                )
            return str(found.experiment_id)
        try:
            return str(
                mlflow_client.create_experiment(
                    name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: CLASSIC_ML}
                )
            )
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            again = mlflow_client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    return retry_locked(f"get or create experiment {name!r}", get_or_create)


def _safe_folder(name: str) -> str:
    """Experiment names may hold '/', spaces...; sharing a folder is harmless (runs have ids)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "experiment"


# --------------------------------------------------------------------------- runs


def start_run(
    experiment: str,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    *,
    parent_run_id: str | None = None,
) -> str:
    """Create a run in ``experiment`` (created if needed) and return its id.

    ``parent_run_id`` nests the run (for example one child per Optuna trial) the way the MLflow
    UI expects (the ``mlflow.parentRunId`` tag).
    """
    experiment_id = get_or_create_experiment(experiment)
    run_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if parent_run_id is not None:
        run_tags["mlflow.parentRunId"] = parent_run_id
    with backend_call(f"start run {run_name!r} in experiment {experiment!r}"):
        run = client().create_run(experiment_id, run_name=run_name, tags=run_tags)
    return str(run.info.run_id)


def end_run(run_id: str, *, failed: bool = False) -> None:
    """Mark the run FINISHED (or FAILED). Ending an ended run again just updates its status."""
    status = RunStatus.to_string(RunStatus.FAILED if failed else RunStatus.FINISHED)
    with backend_call(f"end run {run_id}"):
        client().set_terminated(run_id, status=status)


@contextlib.contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    *,
    parent_run_id: str | None = None,
) -> Iterator[str]:
    """``with tracked_run(...) as run_id:`` - FINISHED on success, FAILED if the block raises."""
    run_id = start_run(experiment, run_name, tags, parent_run_id=parent_run_id)
    try:
        yield run_id
    except BaseException:
        with contextlib.suppress(RegistryError):  # keep the original error, not the cleanup's
            end_run(run_id, failed=True)
        raise
    end_run(run_id)


def experiment_id_of_run(run_id: str) -> str:
    with backend_call(f"read run {run_id}"):
        return str(client().get_run(run_id).info.experiment_id)


# --------------------------------------------------------------------------- logging


def flatten_params(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """Nested mappings become dotted keys; values become strings of at most PARAM_VALUE_LIMIT.

    Lists and other containers are JSON-encoded so they read back unambiguously. Truncated
    values end with ``...[truncated]`` so nobody mistakes them for the full value; log the
    full object with :func:`log_dict` when it matters.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        full_key = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=full_key))
            continue
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
            text = json.dumps(items, default=str)
        else:
            text = str(value)
        if len(text) > PARAM_VALUE_LIMIT:
            text = text[: PARAM_VALUE_LIMIT - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK
        flat[_clean_key(full_key)] = text
    return flat


def _clean_key(key: str) -> str:
    """MLflow accepts letters, digits, ``_ - . / :`` and spaces in keys, up to 250 characters."""
    return _INVALID_KEY_CHARS.sub("_", key)[:_KEY_LIMIT]


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def log_params(run_id: str, params: Mapping[str, Any]) -> None:
    """Log (nested) params; see :func:`flatten_params`. Params are write-once in MLflow."""
    flat = [Param(k, v) for k, v in flatten_params(params).items()]
    with backend_call(f"log params to run {run_id}"):
        mlflow_client = client()
        for batch in _chunks(flat, _BATCH):
            mlflow_client.log_batch(run_id, params=batch, synchronous=True)


def log_metrics(run_id: str, metrics: Mapping[str, float], *, step: int = 0) -> None:
    """Log numeric metrics at ``step``; MLflow itself stores NaN and clamps infinities."""
    now_ms = int(time.time() * 1000)
    entries = [
        Metric(_clean_key(str(k)), _as_float(k, v), now_ms, step) for k, v in metrics.items()
    ]
    with backend_call(f"log metrics to run {run_id}"):
        mlflow_client = client()
        for batch in _chunks(entries, 1000):
            mlflow_client.log_batch(run_id, metrics=batch, synchronous=True)


def _as_float(key: object, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metric {key!r} is not a number: {value!r}") from exc
    return number


def set_tags(run_id: str, tags: Mapping[str, Any]) -> None:
    """Set run tags; values are stringified (tags, unlike params, may be overwritten)."""
    entries = [RunTag(_clean_key(str(k)), str(v)) for k, v in tags.items()]
    with backend_call(f"set tags on run {run_id}"):
        mlflow_client = client()
        for batch in _chunks(entries, _BATCH):
            mlflow_client.log_batch(run_id, tags=batch, synchronous=True)


def log_dict(run_id: str, data: Mapping[str, Any] | list[Any], artifact_file: str) -> None:
    """Write ``data`` as JSON (``.json``) or YAML (``.yaml``/``.yml``) into the run's artifacts."""
    with backend_call(f"log {artifact_file} to run {run_id}"):
        client().log_dict(run_id, data, artifact_file)


def log_text(run_id: str, text: str, artifact_file: str) -> None:
    with backend_call(f"log {artifact_file} to run {run_id}"):
        client().log_text(run_id, text, artifact_file)


def log_figure(run_id: str, figure: Figure, artifact_file: str) -> None:
    """Save a matplotlib figure (PNG/SVG/PDF by extension); the caller keeps ownership of it."""
    with backend_call(f"log {artifact_file} to run {run_id}"):
        client().log_figure(run_id, figure, artifact_file)


def log_artifact_file(run_id: str, path: Path, artifact_path: str | None = None) -> None:
    """Copy a local file (or folder) into the run's artifacts, under ``artifact_path`` if given."""
    if not path.exists():
        raise RegistryError(f"cannot log {path} to run {run_id}: the file does not exist")
    with backend_call(f"log {path.name} to run {run_id}"):
        mlflow_client = client()
        if path.is_dir():
            mlflow_client.log_artifacts(run_id, str(path), artifact_path)
        else:
            mlflow_client.log_artifact(run_id, str(path), artifact_path)


def log_table(run_id: str, df: pd.DataFrame, name: str) -> str:
    """Log a DataFrame as ``tables/<name>.json`` (pandas "split" orientation); return the path.

    Not ``MlflowClient.log_table``: that one *appends* to an existing file of the same name, so
    a Prefect retry of the logging task would duplicate rows. Here a second call replaces the
    table. The JSON layout is the one ``log_table`` writes, so ``mlflow.load_table`` reads it.
    """
    stem = name[:-5] if name.endswith(".json") else name
    artifact_file = f"tables/{_safe_folder(stem)}.json"
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(artifact_file).name
        df.to_json(local, orient="split", index=False, date_format="iso")
        with backend_call(f"log table {name!r} to run {run_id}"):
            client().log_artifact(run_id, str(local), "tables")
    return artifact_file
