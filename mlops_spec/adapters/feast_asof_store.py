"""Feast's DuckDB offline store, with point-in-time retrieval done as DuckDB ``ASOF`` joins.

Why this exists: the stock store builds its point-in-time join through ibis as an inner join on
the join keys with range predicates (feature ts <= entity ts <= feature ts + ttl), a windowed
``row_number()`` per entity row and a left join back. Every entity row meets every feature row
of its key inside the TTL before the window throws all but one away, so a key with many rows
(three origin airports, hourly weather) makes the intermediate result explode: 8.6x slower
than an ``ASOF LEFT JOIN`` at 100k entity rows, 16x at 1M. An ``ASOF`` join finds the latest
feature row at or before each entity row directly, after one sort.

Feast loads this class through its own extension point: ``offline_store: type:
mlops_spec.adapters.feast_asof_store.AsofDuckDBOfflineStore`` in ``feature_store.yaml`` makes
Feast import this module and take ``AsofDuckDBOfflineStoreConfig`` from it. Registry, feature
services, TTLs and everything other than historical retrieval stay Feast's own code.

The result is meant to be the stock store's, value for value and dtype for dtype: for each
entity row and feature view, the feature row with the same join keys and the greatest event
timestamp not after the entity's, ties broken by the greatest created timestamp (a missing one
lowest), and nulls when that row is older than the view's TTL (a row exactly TTL old is valid).
Only the row order differs (neither store promises one), and rows tied on created time too:
Feast leaves the choice open, this store takes the row later in the source. Like the stock
store it compares source times in microseconds (finer ones floored), see
``tests/integration/test_feast_asof_property.py``.
Requests this module has not been checked against go to the stock implementation unchanged.

Only Feast imports this module (when it opens a store), so importing Feast and DuckDB at the top
costs the CLI's ``validate`` and ``plan`` nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import duckdb
import ibis  # type: ignore[import-untyped]
import pandas as pd
import pyarrow as pa
from feast.data_format import ParquetFormat
from feast.feature_view import FeatureView
from feast.infra.offline_stores import offline_utils
from feast.infra.offline_stores.duckdb import (
    DuckDBOfflineStore,
    DuckDBOfflineStoreConfig,
    _write_data_source,
)
from feast.infra.offline_stores.file_source import FileSource
from feast.infra.offline_stores.ibis import _get_entity_df_event_timestamp_range
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig
from feast.saved_dataset import SavedDatasetStorage
from ibis.backends.duckdb.converter import DuckDBPyArrowData  # type: ignore[import-untyped]
from ibis.backends.sql.datatypes import DuckDBType  # type: ignore[import-untyped]
from pydantic import StrictStr

log = logging.getLogger(__name__)

STORE_TYPE = "mlops_spec.adapters.feast_asof_store.AsofDuckDBOfflineStore"

_ENTITY_TABLE = "feast_asof_entity_rows"
_TS = "__feast_asof_ts__"
_CREATED = "__feast_asof_created__"
_FILE = "__feast_asof_file__"
_ROW = "__feast_asof_row__"
# The stock store adds (and drops) a column of this name on the entity rows.
_STOCK_ROW_ID = "entity_row_id"


class AsofDuckDBOfflineStoreConfig(DuckDBOfflineStoreConfig):
    """The stock DuckDB settings; only ``type`` differs, since Feast finds the store by it."""

    type: StrictStr = STORE_TYPE


class AsofDuckDBOfflineStore(DuckDBOfflineStore):
    """DuckDB offline store whose historical retrieval runs as one ASOF join per feature view."""

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str,
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
    ) -> RetrievalJob:
        """Point-in-time join by ASOF joins when the request is one the fast path reproduces.

        Anything else is handed to ``DuckDBOfflineStore.get_historical_features`` unchanged:
        an entity SQL query instead of a frame, a source that is not a plain local parquet
        ``FileSource`` or has a field mapping, on-demand feature views among the refs,
        ``filter_by_created_timestamp``, a staging location (remote export needs the stock
        job), a missing join key column (so the caller sees Feast's own error) and entity
        column names the stock store treats specially (``entity_row_id``, a feature's name,
        non-string or repeated names).
        """
        reason = _fallback_reason(
            config,
            feature_views,
            feature_refs,
            entity_df,
            full_feature_names,
            filter_by_created_timestamp,
        )
        if reason is not None:
            log.debug("feast asof store: using the stock DuckDB retrieval (%s)", reason)
            return DuckDBOfflineStore.get_historical_features(
                config=config,
                feature_views=feature_views,
                feature_refs=feature_refs,
                entity_df=entity_df,
                registry=registry,
                project=project,
                full_feature_names=full_feature_names,
                filter_by_created_timestamp=filter_by_created_timestamp,
            )
        assert isinstance(entity_df, pd.DataFrame)  # _fallback_reason said so
        return _asof_job(config, feature_views, feature_refs, entity_df, full_feature_names)


# --- eligibility ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ViewJoin:
    """What the SQL needs of one feature view, named as the stock ibis path names it."""

    path: str
    timestamp_field: str
    created_timestamp_column: str | None
    join_key_map: dict[str, str]  # feature-table column -> entity column
    features: list[tuple[str, str]]  # (source column, output column)
    ttl_microseconds: int | None


def _local_parquet_path(source: Any) -> str | None:
    """The path DuckDB's ``read_parquet`` would open for the stock store, if local parquet.

    Mirrors the stock reader (``ibis.read_parquet``): parquet by format or by suffix, a
    ``file://``/``parquet://`` prefix dropped, a relative path taken from the working directory.
    """
    if type(source) is not FileSource or source.field_mapping:
        return None
    path = source.path
    is_parquet = isinstance(source.file_format, ParquetFormat) or (
        source.file_format is None and path.endswith(".parquet")
    )
    if not is_parquet or not source.timestamp_field:
        return None
    for prefix in ("parquet://", "file://"):
        path = path.removeprefix(prefix)
    if "://" in path:
        return None
    return os.path.abspath(path)


def _fallback_reason(
    config: RepoConfig,
    feature_views: Sequence[Any],
    feature_refs: Sequence[str],
    entity_df: Any,
    full_feature_names: bool,
    filter_by_created_timestamp: bool,
) -> str | None:
    if not isinstance(entity_df, pd.DataFrame):
        return "entity rows are not a pandas DataFrame"
    if filter_by_created_timestamp:
        return "filter_by_created_timestamp"
    if getattr(config.offline_store, "staging_location", None):
        return "a staging location is configured"
    views = {}
    for view in feature_views:
        if not isinstance(view, FeatureView):  # e.g. an on-demand view
            return f"{getattr(view, 'name', view)!r} is not a plain feature view"
        if _local_parquet_path(view.batch_source) is None:
            return f"the source of {view.name!r} is not a plain local parquet FileSource"
        views[_name_to_use(view)] = view
    for ref in feature_refs:
        if ref.split(":", 1)[0] not in views:
            return f"{ref!r} is not a feature of the given views (on-demand feature view?)"
    if not all(isinstance(c, str) for c in entity_df.columns) or entity_df.columns.has_duplicates:
        return "entity column names are not distinct strings"
    columns = set(entity_df.columns)
    if columns & {_STOCK_ROW_ID, _TS}:
        return "an entity column has a name the stock store or this store uses internally"
    needed = {col for view in feature_views for col in _join_key_map(view).values()}
    if not needed <= columns:
        return f"entity rows lack join key column(s) {sorted(needed - columns)}"
    outputs = {
        out
        for view in feature_views
        for _, out in _features(view, feature_refs, full_feature_names)
    }
    if columns & outputs:
        return "an entity column has the name of a requested feature"
    return None


def _join_key_map(view: FeatureView) -> dict[str, str]:
    return dict(view.projection.join_key_map) or {e.name: e.name for e in view.entity_columns}


def _name_to_use(view: FeatureView) -> str:
    projection: Any = view.projection  # name_to_use is untyped in Feast
    return str(projection.name_to_use())


def _features(
    view: FeatureView, feature_refs: Sequence[str], full_feature_names: bool
) -> list[tuple[str, str]]:
    """(source column, output column) per requested feature, as ``ibis.py``'s ``read_fv``.

    Refs match on ``name_to_use()`` (alias and version), the output prefix is the alias or
    the view name without the version.
    """
    prefix = f"{_name_to_use(view)}:"
    names = [ref.split(":")[1] for ref in feature_refs if ref.startswith(prefix)]
    if not full_feature_names:
        return [(name, name) for name in names]
    base = view.projection.name_alias or view.name
    return [(name, f"{base}__{name}") for name in names]


# --- the job --------------------------------------------------------------------------------


def _asof_job(
    config: RepoConfig,
    feature_views: Sequence[FeatureView],
    feature_refs: Sequence[str],
    entity_df: pd.DataFrame,
    full_feature_names: bool,
) -> AsofRetrievalJob:
    schema = dict(zip(entity_df.columns, entity_df.dtypes, strict=True))
    ts_col = offline_utils.infer_event_timestamp_from_entity_df(entity_schema=schema)
    ts_range = _get_entity_df_event_timestamp_range(entity_df, ts_col)
    entity = _entity_memtable(entity_df, ts_col)
    joins = []
    for view in feature_views:
        features = _features(view, feature_refs, full_feature_names)
        if not features:
            continue  # the stock path joins such a view and then selects nothing from it
        source = view.batch_source
        path = _local_parquet_path(source)
        assert source is not None and path is not None  # _fallback_reason said so
        ttl = view.ttl
        joins.append(
            _ViewJoin(
                path=path,
                timestamp_field=source.timestamp_field,
                created_timestamp_column=source.created_timestamp_column or None,
                join_key_map=_join_key_map(view),
                features=features,
                ttl_microseconds=ttl // timedelta(microseconds=1) if ttl else None,
            )
        )
    sql = _asof_sql(ts_col, list(entity_df.columns), joins)
    metadata = RetrievalMetadata(
        features=list(feature_refs),
        keys=list(set(entity_df.columns) - {ts_col}),
        min_event_timestamp=ts_range[0],
        max_event_timestamp=ts_range[1],
    )
    return AsofRetrievalJob(sql, entity, full_feature_names, metadata, str(config.repo_path))


def _entity_memtable(entity_df: pd.DataFrame, ts_col: str) -> Any:
    """The entity rows as the stock path hands them to DuckDB: an ``ibis.memtable``.

    Like ``ibis.py``'s ``_to_utc``, string or object timestamps are parsed as UTC (on a copy:
    the stock path overwrites the caller's column). The memtable's schema is ibis's inference,
    not pyarrow's: pyarrow alone gives other types for, e.g., an all-null column or a
    seconds-resolution timestamp, and they come back out as other pandas dtypes.
    """
    stamps = entity_df[ts_col].infer_objects()
    if pd.api.types.is_string_dtype(stamps) or pd.api.types.is_object_dtype(stamps):
        entity_df = entity_df.assign(**{ts_col: pd.to_datetime(stamps, utc=True)})
    return ibis.memtable(entity_df)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _feature_subquery(join: _ViewJoin) -> str:
    """One source's rows, timestamps as TIMESTAMPTZ, one row per (join keys, event time).

    With a created timestamp the row kept is the latest created, a missing one ranking lowest
    (as the stock dedup's ``created DESC`` does, nulls last); among equal created times the
    row later in the source (file name, then row in file) wins, so ties come out the same on
    every run (Feast leaves them arbitrary). The order is total and written without a NULLS
    LAST key on purpose: DuckDB 1.5 rewrites ``QUALIFY row_number() OVER (... ORDER BY created
    DESC NULLS LAST) = 1`` into ``arg_max_nulls_last``, and that aggregate, for a struct (two or
    more features) or boolean argument, returns the group's last row once a group starts with
    a NULL key. With several sort keys DuckDB plans an ordinary window instead. ``filename``
    and ``file_row_number`` are DuckDB's virtual columns; a source column of either name takes
    their place, which only makes ties arbitrary again.
    """
    keys = [_quote(k) for k in join.join_key_map]
    cols = [
        *keys,
        f"CAST({_quote(join.timestamp_field)} AS TIMESTAMPTZ) AS {_quote(_TS)}",
        *dict.fromkeys(_quote(src) for src, _ in join.features),
    ]
    if not join.created_timestamp_column:
        return f"SELECT {', '.join(cols)} FROM read_parquet({_literal(join.path)})"
    created, file, row = _quote(_CREATED), _quote(_FILE), _quote(_ROW)
    cols += [
        f"CAST({_quote(join.created_timestamp_column)} AS TIMESTAMPTZ) AS {created}",
        f"filename AS {file}",
        f"file_row_number AS {row}",
    ]
    inner = f"SELECT {', '.join(cols)} FROM read_parquet({_literal(join.path)})"
    partition = ", ".join([*keys, _quote(_TS)])
    order = f"{created} IS NULL, {created} DESC, {file} DESC, {row} DESC"
    return (
        f"SELECT * EXCLUDE ({created}, {file}, {row}) FROM ({inner}) "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {order}) = 1"
    )


def _asof_sql(ts_col: str, entity_columns: list[str], joins: list[_ViewJoin]) -> str:
    """Entity rows, each ASOF-joined to every view: the latest feature row at or before it.

    An ASOF LEFT JOIN yields each left row exactly once, so duplicated entity rows stay
    duplicated. Join conditions name the entity alias ``e``, never an earlier view, as the
    stock path joins every view to the entity rows themselves. TTL: the stock rule, feature
    ts + ttl >= entity ts, else nulls. Chaining the joins measured faster (0.9 s against
    1.4 s at 1M rows) than joining each view to a narrow projection and re-joining by row.
    """
    ts = _quote(_TS)
    select = [f"e.{_quote(c)}" for c in entity_columns]
    joined = [
        f"(SELECT *, CAST({_quote(ts_col)} AS TIMESTAMPTZ) AS {ts} "
        f"FROM {_quote(_ENTITY_TABLE)}) AS e"
    ]
    for i, join in enumerate(joins):
        f = f"f{i}"
        on = [f"e.{_quote(ent)} = {f}.{_quote(col)}" for col, ent in join.join_key_map.items()]
        on.append(f"e.{ts} >= {f}.{ts}")
        valid = (
            f"{f}.{ts} + to_microseconds({join.ttl_microseconds}) >= e.{ts}"
            if join.ttl_microseconds
            else None
        )
        for src, out in join.features:
            value = f"{f}.{_quote(src)}"
            if valid is not None:
                value = f"CASE WHEN {valid} THEN {value} END"
            select.append(f"{value} AS {_quote(out)}")
        joined.append(f"ASOF LEFT JOIN ({_feature_subquery(join)}) AS {f} ON {' AND '.join(on)}")
    return f"SELECT {', '.join(select)} FROM {' '.join(joined)}"


class AsofRetrievalJob(RetrievalJob):
    """Runs the ASOF query when the result is asked for, on a connection of its own.

    Each call opens, uses and closes its DuckDB connection (session time zone UTC, as ibis
    sets it, so naive timestamps read as UTC), so a job holds no open handles and can be read
    more than once.
    """

    def __init__(
        self,
        sql: str,
        entity: Any,
        full_feature_names: bool,
        metadata: RetrievalMetadata,
        repo_path: str,
    ) -> None:
        super().__init__()
        self._sql = sql
        self._entity = entity  # an ibis memtable
        self._full_feature_names = full_feature_names
        self._metadata = metadata
        self._repo_path = repo_path

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            # An Arrow scan is estimated at ~1 row, and below this threshold DuckDB rewrites
            # the ASOF join as a nested loop join plus arg_max: 9 s instead of 0.05 s at 100k.
            con.execute("SET asof_loop_join_threshold = 0")
            entity_schema = self._entity.schema()
            # What ibis's DuckDB backend registers for a pandas memtable.
            con.register(_ENTITY_TABLE, self._entity.op().data.to_pyarrow(entity_schema))
            relation = con.sql(self._sql)
            table = relation.to_arrow_table()
            types = dict(zip(relation.columns, relation.types, strict=True))
        finally:
            con.close()
        # The stock job ends with ibis casting DuckDB's Arrow result to the expression's
        # schema: the entity columns' memtable schema, the features' DuckDB types.
        features = {
            name: DuckDBType.from_string(str(kind))
            for name, kind in types.items()
            if name not in entity_schema
        }
        schema = ibis.schema({**dict(entity_schema.items()), **features})
        result: pa.Table = DuckDBPyArrowData.convert_table(table, schema)
        return result

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self._to_arrow_internal(timeout).to_pandas()
        return frame

    def to_sql(self) -> str:
        """The query; it reads the entity rows from a table registered as ``_ENTITY_TABLE``."""
        return self._sql

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return []  # requests with on-demand views take the stock path

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata

    def persist(
        self,
        storage: SavedDatasetStorage,
        allow_overwrite: bool = False,
        timeout: int | None = None,
    ) -> None:
        """Write the result with the stock store's writer, so saved datasets look the same."""
        _write_data_source(
            ibis.memtable(self._to_arrow_internal(timeout)),
            storage.to_data_source(),
            self._repo_path,
            "overwrite",
            allow_overwrite,
        )
