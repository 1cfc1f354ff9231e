"""Feast behind a small typed interface: apply a repo, retrieve point-in-time features, materialize.

Feast is imported inside functions only: importing it costs about 5 s, which commands such as
``validate`` and ``plan`` must not pay.

Two guarantees are added on top of Feast, because Feast does not give them:

* Rows in == rows out, in the caller's order. Feast's offline stores return rows in their own
  order and some of them drop or collapse rows (the default file store collapses entity rows
  sharing a key and timestamp). Each request row carries a row number; the result is checked
  against it and put back in order, or ``FeatureJoinError`` is raised.
* Missing or unreadable parquet sources fail up front with ``DataSourceError`` naming the file,
  instead of a DuckDB error from deep inside a query.

``apply_repo`` loads the repo's definition files itself (``feast_definitions``) rather than
calling Feast's CLI helper, which changes the process's working directory and calls
``sys.exit`` on bad input.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_spec.adapters.feast_definitions import CONFIG_NAME, load_repo_contents
from mlops_spec.errors import DataSourceError, FeatureJoinError, StepError

if TYPE_CHECKING:
    from feast import FeatureStore

log = logging.getLogger(__name__)

ROW_COLUMN = "__mlops_spec_row__"


@dataclass(frozen=True)
class RetrievedFeatures:
    """Entity rows joined point-in-time with their features, plus what produced them.

    ``frame`` has exactly the caller's rows, in the caller's order and with the caller's index;
    ``registry_fingerprint`` hashes the definitions used (service, views, entities, sources), so
    two runs with equal fingerprints read the same features from the same files.
    """

    frame: pd.DataFrame
    feature_refs: tuple[str, ...]
    feature_columns: tuple[str, ...]
    registry_fingerprint: str


def apply_repo(repo_path: Path, store: FeatureStore | None = None) -> bool:
    """Register the repo's definitions, like ``feast apply``; returns whether anything changed.

    A dry-run plan is computed first and nothing is written when it is empty, so calling this
    before every run is cheap and leaves the registry untouched. Pass the run's ``store`` to
    apply through it (it then sees what was applied; one store per run).
    """
    from feast.diff.property_diff import TransitionType
    from feast.repo_operations import extract_objects_for_apply_delete

    store = store or open_store(repo_path)
    contents = load_repo_contents(_resolve_repo(repo_path), store.config.project)
    for source in contents.data_sources:
        _check_source(source)
    try:
        registry_diff: Any
        registry_diff, infra_diff, new_infra = store.plan(contents)
        diffs: list[Any] = [*registry_diff.feast_object_diffs, *infra_diff.infra_object_diffs]
        if all(diff.transition_type == TransitionType.UNCHANGED for diff in diffs):
            log.info("feast registry already up to date for %s", repo_path)
            return False
        internals: Any = store
        if internals._should_use_plan():
            # What `feast apply` does for a local provider with SQLite: it also records the
            # online tables in the registry, so the next plan sees no infrastructure change.
            internals._apply_diffs(registry_diff, infra_diff, new_infra)
        else:
            split: Any = extract_objects_for_apply_delete
            to_apply, to_delete, _, _ = split(store.config.project, store.registry, contents)
            store.apply(to_apply, objects_to_delete=to_delete, partial=False)
    except _feast_error() as exc:
        raise StepError(f"feast apply failed for {repo_path}: {exc}") from exc
    log.info("feast registry updated for %s:\n%s", repo_path, registry_diff.to_string())
    return True


def retrieve_features(
    repo_path: Path,
    entity_df: pd.DataFrame,
    *,
    service: str | None = None,
    refs: Sequence[str] | None = None,
    timestamp_column: str = "event_timestamp",
    store: FeatureStore | None = None,
) -> RetrievedFeatures:
    """Join ``entity_df`` point-in-time with a feature service's (or explicit refs') features.

    Exactly one of ``service`` and ``refs`` (``"view:feature"``) is given. Only join keys and the
    timestamp are sent to Feast (naive timestamps are taken as UTC); the caller's other columns
    (labels, groups) come back untouched. A caller column that shares a feature's name must
    hold the same values, else the join is ambiguous and ``FeatureJoinError`` is raised.
    """
    if (service is None) == (refs is None):
        raise ValueError("give exactly one of service= or refs=")
    store = store or open_store(repo_path)
    feature_service, feature_refs, views = requested_features(store, repo_path, service, refs)
    if not feature_refs:
        raise StepError("no features requested")
    for view in views:
        _check_source(view.batch_source)
    join_keys = sorted({key for view in views for key in view.join_keys})
    request = _request_frame(entity_df, join_keys, timestamp_column)
    try:
        job = store.get_historical_features(
            entity_df=request,
            features=feature_service if feature_service is not None else list(feature_refs),
            full_feature_names=False,
        )
        joined = job.to_df()
    except _feast_error() as exc:
        raise StepError(f"feast historical retrieval failed: {exc}") from exc
    feature_columns = tuple(ref.split(":", 1)[1] for ref in feature_refs)
    features = _restore_order(joined, len(request), feature_columns)
    frame = _attach(entity_df, features)
    fingerprint = _fingerprint(store.config.project, feature_service, views, store)
    return RetrievedFeatures(frame, feature_refs, feature_columns, fingerprint)


def source_data_fingerprint(
    repo_path: Path,
    *,
    service: str | None = None,
    refs: Sequence[str] | None = None,
    store: FeatureStore | None = None,
) -> str | None:
    """Hash of the data (not the definitions) of every batch source the features read.

    A cached retrieval is only as fresh as its key: rewriting a parquet source changes no
    definition, so without this the old frame was served and its old hash went into the
    lineage. Each local file source contributes its path, size and a SHA-256 of its bytes (every
    file, for a folder source). ``None`` when a source cannot be fingerprinted (remote, or not
    a file source): the caller must not reuse a cached result then.
    """
    if (service is None) == (refs is None):
        raise ValueError("give exactly one of service= or refs=")
    _, _, views = requested_features(store or open_store(repo_path), repo_path, service, refs)
    paths = [_local_file_source(view.batch_source) for view in views]
    if any(path is None for path in paths):
        return None
    digest = hashlib.sha256()
    for path in sorted({p for p in paths if p is not None}):
        digest.update(_path_digest(path))
    return f"sha256:{digest.hexdigest()}"


def _local_file_source(source: Any) -> Path | None:
    from feast import FileSource

    if not isinstance(source, FileSource) or "://" in source.path:
        return None
    path = Path(source.path)
    return path if path.exists() else None


def _path_digest(path: Path) -> bytes:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.digest()


def materialize(
    repo_path: Path, start: datetime, end: datetime, *, views: Sequence[str] | None = None
) -> None:
    """Load feature values with event times in ``[start, end]`` into the online store."""
    store = open_store(repo_path)
    try:
        targets = [store.get_feature_view(name) for name in views] if views else None
        for view in targets or store.list_feature_views():
            _check_source(view.batch_source)
        store.materialize(start, end, feature_views=list(views) if views else None)
    except _feast_error() as exc:
        raise StepError(f"feast materialize failed for {repo_path}: {exc}") from exc


# --- repo and store -------------------------------------------------------------------------


def _resolve_repo(repo_path: Path) -> Path:
    repo = repo_path.resolve()
    if not (repo / CONFIG_NAME).is_file():
        raise StepError(f"not a Feast repo (no {CONFIG_NAME}): {repo}")
    return repo


def open_store(repo_path: Path) -> FeatureStore:
    """A ``FeatureStore`` on ``repo_path`` with the settings' online store, its state folders
    made and its registry file checked (a ``StepError`` naming the repo otherwise): the one way
    offline retrieval and online serving open a repo."""
    from feast import FeatureStore

    repo = _resolve_repo(repo_path)
    try:
        store = FeatureStore(repo_path=str(repo), config=_config_with_overrides(repo))
    except Exception as exc:  # a bad YAML surfaces as pydantic, yaml or Feast errors
        raise StepError(f"cannot open Feast repo {repo}: {exc}") from exc
    # Feast creates the registry's folder but not its parents: make the state folder first,
    # so a fresh checkout works before anything else has written under .mlops/.
    for configured in (store.config.registry.path, getattr(store.config.online_store, "path", "")):
        if configured and "://" not in configured:
            (repo / configured).parent.mkdir(parents=True, exist_ok=True)
    _check_registry_file(repo, store.config.registry)
    return store


def _check_registry_file(repo: Path, registry: Any) -> None:
    """A local registry file that does not parse fails here, naming it, instead of as a
    protobuf ``DecodeError`` from whichever Feast call reads it first. The file holds only what
    ``feast apply`` derives from the repo's definitions, so rebuilding it loses nothing."""
    from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    configured = str(registry.path or "")
    if getattr(registry, "registry_type", "file") != "file" or "://" in configured:
        return
    path = (Path(configured) if Path(configured).is_absolute() else repo / configured).resolve()
    if not path.is_file():
        return
    try:
        RegistryProto().ParseFromString(path.read_bytes())
    except DecodeError as exc:
        raise StepError(
            f"Feast registry {path} is corrupt ({exc}): delete it and run "
            f"`feast -c {repo} apply`, which rebuilds it from the repo's definitions"
        ) from None


def _config_with_overrides(repo: Path) -> Any:
    """The repo's feature_store.yaml, with the online store replaced by settings.

    ``MLOPS_SPEC_FEAST_ONLINE_STORE=redis://host:port`` moves online features to Redis without
    touching the repo, so one feature repo serves the embedded default (SQLite) and a
    distributed profile alike.
    """
    import yaml
    from feast.repo_config import RepoConfig

    raw = yaml.safe_load(os.path.expandvars((repo / CONFIG_NAME).read_text()))
    online = os.environ.get("MLOPS_SPEC_FEAST_ONLINE_STORE")
    if online:
        scheme, _, address = online.partition("://")
        if scheme != "redis" or not address:
            raise StepError(f"MLOPS_SPEC_FEAST_ONLINE_STORE={online!r}: expected redis://host:port")
        raw["online_store"] = {"type": "redis", "connection_string": address}
    config = RepoConfig(**raw)
    config.repo_path = repo
    return config


def _feast_error() -> type[Exception]:
    from feast.errors import FeastError

    return FeastError


def _check_source(source: Any) -> None:
    """Fail early, naming the file, if a local parquet source is missing or unreadable."""
    import pyarrow.parquet as pq
    from feast import FileSource

    if not isinstance(source, FileSource) or "://" in source.path:
        return
    path = Path(source.path)
    if not path.is_absolute():
        raise DataSourceError(
            f"Feast source {source.name!r} has a relative path {source.path!r}; the DuckDB "
            "offline store would resolve it against the working directory"
        )
    if not path.exists():
        raise DataSourceError(
            f"Feast source {source.name!r}: {path} does not exist "
            "(run mlops_spec.demo_data.prepare_all or re-apply the repo)"
        )
    try:
        pq.read_schema(path)
    except Exception as exc:
        raise DataSourceError(f"Feast source {source.name!r}: {path} is unreadable: {exc}") from exc


# --- retrieval ------------------------------------------------------------------------------


def requested_features(
    store: FeatureStore, repo_path: Path, service: str | None, refs: Sequence[str] | None
) -> tuple[Any, tuple[str, ...], list[Any]]:
    """The feature service (or None), the feature refs and their views a request names; a
    name the repo does not define is a ``StepError`` naming the repo."""
    try:
        feature_service = store.get_feature_service(service) if service is not None else None
        feature_refs = (
            _service_refs(feature_service) if feature_service is not None else tuple(refs or ())
        )
        return feature_service, feature_refs, _views_for(store, feature_refs)
    except _feast_error() as exc:
        raise StepError(f"feast definitions not found in {repo_path}: {exc}") from exc


def _service_refs(feature_service: Any) -> tuple[str, ...]:
    return tuple(
        f"{projection.name_to_use()}:{feature.name}"
        for projection in feature_service.feature_view_projections
        for feature in projection.features
    )


def _views_for(store: FeatureStore, feature_refs: Sequence[str]) -> list[Any]:
    names: list[str] = []
    for ref in feature_refs:
        view, sep, feature = ref.partition(":")
        if not sep or not view or not feature:
            raise StepError(f"feature ref {ref!r} is not of the form 'view:feature'")
        if view not in names:
            names.append(view)
    return [store.get_feature_view(name) for name in names]


def _request_frame(entity_df: pd.DataFrame, join_keys: list[str], ts: str) -> pd.DataFrame:
    """Join keys, UTC timestamps and a row number: all Feast needs, nothing it could mangle."""
    if entity_df.empty:
        raise DataSourceError("no entity rows to retrieve features for")
    missing = [col for col in [*join_keys, ts] if col not in entity_df.columns]
    if missing:
        raise DataSourceError(f"entity rows lack column(s) {missing} needed for the feature join")
    request = entity_df[[*join_keys, ts]].reset_index(drop=True)
    timestamps = pd.to_datetime(request[ts], utc=True)
    if timestamps.isna().any():
        raise DataSourceError(f"entity rows have missing {ts!r} values")
    request[ts] = timestamps
    request[ROW_COLUMN] = pd.RangeIndex(len(request), dtype="int64")
    return request


def _restore_order(joined: pd.DataFrame, rows: int, columns: tuple[str, ...]) -> pd.DataFrame:
    if len(joined) != rows:
        raise FeatureJoinError(
            f"feature join returned {len(joined)} rows for {rows} entity rows; "
            "the offline store dropped or duplicated rows"
        )
    order = joined[ROW_COLUMN].to_numpy()
    # ``rows`` distinct numbers in [0, rows) are exactly a permutation of the request's rows.
    if rows and (
        not np.issubdtype(order.dtype, np.integer)
        or order.min() != 0
        or order.max() != rows - 1
        or not joined[ROW_COLUMN].is_unique
    ):
        raise FeatureJoinError("feature join returned rows that do not map one-to-one to entities")
    absent = [col for col in columns if col not in joined.columns]
    if absent:
        raise FeatureJoinError(f"feature join did not return feature column(s) {absent}")
    position = np.empty(rows, dtype=np.int64)
    position[order] = np.arange(rows, dtype=np.int64)  # where each request row came back
    return joined[list(columns)].take(position).reset_index(drop=True)


def _attach(entity_df: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The caller's columns as given, then the features; a shared column must agree."""
    base = entity_df.reset_index(drop=True)
    shared = [col for col in features.columns if col in base.columns]
    for col in shared:
        if not _same_values(base[col], features[col]):
            raise FeatureJoinError(
                f"entity column {col!r} has the same name as a feature but different values; "
                "drop or rename it before retrieval"
            )
    frame = pd.concat([base, features.drop(columns=shared)], axis=1)
    frame.index = entity_df.index
    return frame


def _same_values(left: pd.Series, right: pd.Series) -> bool:
    both_missing = left.isna() & right.isna()
    return bool((both_missing | (left.astype(object) == right.astype(object))).all())


def _fingerprint(project: str, service: Any, views: list[Any], store: FeatureStore) -> str:
    """Hash of the definitions behind the features: stable across re-applies that change nothing."""
    digest = hashlib.sha256(project.encode())
    specs: list[bytes] = []
    if service is not None:
        specs.append(service.to_proto().spec.SerializeToString(deterministic=True))
    for view in views:
        specs.append(view.to_proto().spec.SerializeToString(deterministic=True))
        specs.append(view.batch_source.to_proto().SerializeToString(deterministic=True))
        for entity_name in view.entities:
            entity = store.get_entity(entity_name)
            specs.append(entity.to_proto().spec.SerializeToString(deterministic=True))
    for spec in sorted(specs):
        digest.update(hashlib.sha256(spec).digest())
    return f"sha256:{digest.hexdigest()}"
