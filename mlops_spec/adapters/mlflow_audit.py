"""The audit view of a registered version: its registry entry, its run and its artifacts.

Kept apart from registration because it only reads, and ``mlops-spec audit`` needs nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_spec.adapters.mlflow_backend import backend_call, is_not_found
from mlops_spec.adapters.mlflow_registry import is_missing_alias
from mlops_spec.adapters.mlflow_tracking import client
from mlops_spec.errors import RegistryError

__all__ = ["VersionRecord", "describe_version"]


@dataclass(frozen=True)
class VersionRecord:
    """Everything an audit shows about one registered version (see ``mlops-spec audit``)."""

    name: str
    version: int
    aliases: tuple[str, ...]
    status: str
    created_at: str  # ISO 8601, UTC
    run_id: str | None
    model_id: str | None
    source: str
    version_tags: dict[str, str] = field(default_factory=dict)
    run_params: dict[str, str] = field(default_factory=dict)
    run_metrics: dict[str, float] = field(default_factory=dict)
    run_tags: dict[str, str] = field(default_factory=dict)
    run_artifacts: tuple[str, ...] = ()
    model_artifacts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``audit --json``."""
        return asdict(self)


def describe_version(name: str, version_or_alias: str) -> VersionRecord:
    """Collect a version's registry entry, its run's params/metrics/tags and artifact lists.

    ``version_or_alias`` is a version number ("3") or an alias ("champion").

    Raises:
        RegistryError: the model, version or alias does not exist, or the backend failed.
    """
    mlflow_client = client()
    ref = version_or_alias.strip()
    try:
        with backend_call(f"find {name!r} version or alias {ref!r}"):
            if ref.isdigit():
                mv = mlflow_client.get_model_version(name, ref)
            else:
                mv = mlflow_client.get_model_version_by_alias(name, ref)
    except RegistryError as exc:
        cause = exc.__cause__
        if cause is not None and (is_not_found(cause) or is_missing_alias(cause)):
            raise RegistryError(
                f"registered model {name!r} has no version or alias {ref!r}"
            ) from cause
        raise

    run_id = mv.run_id or None
    params: dict[str, str] = {}
    metrics: dict[str, float] = {}
    run_tags: dict[str, str] = {}
    run_artifacts: list[str] = []
    if run_id:
        with backend_call(f"read run {run_id} of {name} v{mv.version}"):
            run = mlflow_client.get_run(run_id)
            params = dict(run.data.params)
            metrics = {k: float(v) for k, v in run.data.metrics.items()}
            run_tags = dict(run.data.tags)
            run_artifacts = _walk(lambda p: mlflow_client.list_artifacts(run_id, p))
    model_id = getattr(mv, "model_id", None) or _model_id_from_source(str(mv.source))
    model_artifacts: list[str] = []
    if model_id:
        with backend_call(f"list the artifacts of {name} v{mv.version}"):
            model_artifacts = _walk(
                lambda p: mlflow_client.list_logged_model_artifacts(model_id, p)
            )
    return VersionRecord(
        name=name,
        version=int(mv.version),
        aliases=tuple(sorted(mv.aliases or ())),
        status=str(mv.status),
        created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC).isoformat(),
        run_id=run_id,
        model_id=model_id,
        source=str(mv.source),
        version_tags=dict(mv.tags or {}),
        run_params=params,
        run_metrics=metrics,
        run_tags=run_tags,
        run_artifacts=tuple(run_artifacts),
        model_artifacts=tuple(model_artifacts),
    )


def _model_id_from_source(source: str) -> str | None:
    """The SQL registry store does not persist ``model_id``; its source ``models:/m-…`` has it."""
    match = re.fullmatch(r"models:/(m-[0-9a-f]+)", source)
    return match.group(1) if match else None


def _walk(list_dir: Callable[[str | None], Iterable[Any]], path: str | None = None) -> list[str]:
    """Every file path under ``path`` of an artifact listing, depth first."""
    files: list[str] = []
    for entry in list_dir(path):
        if entry.is_dir:
            files.extend(_walk(list_dir, entry.path))
        else:
            files.append(str(entry.path))
    return files


def download_artifact(run_id: str, artifact_path: str, dst: Path) -> Path:
    """Copy one artifact of a run to ``dst`` (a folder); returns the local file."""
    dst.mkdir(parents=True, exist_ok=True)
    with backend_call(f"download {artifact_path} of run {run_id}"):
        local = client().download_artifacts(run_id, artifact_path, str(dst))
    return Path(local)
