"""A user's parquet table, read with pyarrow only: its columns' roles, Feast types and entity rows.

``features add`` turns one table into Feast definitions and entity rows. Everything it needs is
in the parquet footer (the arrow schema) plus four columns of data (key, time, label, kept
columns), so this module never imports pandas or Feast. Every problem is found before anything
is written, and reported as one line that names the column and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlops_spec.project import ProjectError

TIMESTAMP_TYPE = "UnixTimestamp"
MAX_CLASSES = 20  # an integer label with more distinct values is taken as a regression target


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str  # a feast.types name: Int64, Float64, String, Bool, UnixTimestamp...


@dataclass(frozen=True)
class TableLayout:
    """Which column plays which part; ``served`` are the features a model can use."""

    path: Path
    rows: int
    key: str
    key_type: str  # a feast ValueType name: INT64 or STRING
    timestamp: str
    label: str | None
    keep: tuple[str, ...]
    features: tuple[Feature, ...]

    @property
    def served(self) -> tuple[str, ...]:
        """Timestamps stay in the view but not in the service: the models refuse datetime
        features (engineer numbers from them instead)."""
        return tuple(f.name for f in self.features if f.dtype != TIMESTAMP_TYPE)


def feast_type(arrow: pa.DataType) -> str | None:
    """The feast.types name for an arrow column type, or None when there is no sound one."""
    if pa.types.is_dictionary(arrow):
        return "String" if _is_text(arrow.value_type) else None
    if pa.types.is_boolean(arrow):
        return "Bool"
    if pa.types.is_int8(arrow) or pa.types.is_int16(arrow) or pa.types.is_int32(arrow):
        return "Int32"
    if pa.types.is_uint8(arrow) or pa.types.is_uint16(arrow):
        return "Int32"
    if pa.types.is_integer(arrow):
        return "Int64"
    if pa.types.is_float16(arrow) or pa.types.is_float32(arrow):
        return "Float32"
    if pa.types.is_float64(arrow):
        return "Float64"
    if _is_text(arrow):
        return "String"
    if pa.types.is_timestamp(arrow):
        return TIMESTAMP_TYPE
    return None


def _is_text(arrow: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow) or pa.types.is_large_string(arrow))


def read_schema(path: Path) -> tuple[pa.Schema, int]:
    """The table's arrow schema (pandas index columns removed) and row count, from the footer."""
    if not path.exists():
        raise ProjectError(f"{path}: file not found")
    if not path.is_file():
        raise ProjectError(f"{path}: not a file; pass one parquet file")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise ProjectError(f"{path}: not a readable parquet file ({exc})") from None
    schema = parquet.schema_arrow
    index = (schema.pandas_metadata or {}).get("index_columns", [])
    hidden = {name for name in index if isinstance(name, str)}
    fields = [field for field in schema if field.name not in hidden]
    return pa.schema(fields), parquet.metadata.num_rows


def _check_named(schema: pa.Schema, path: Path, option: str, column: str) -> None:
    if column in schema.names:
        return
    close = difflib.get_close_matches(column, schema.names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    shown = ", ".join(schema.names[:20]) + (", ..." if len(schema.names) > 20 else "")
    raise ProjectError(f"{path.name} has no column '{column}' for {option}{hint}; it has {shown}")


def _check_roles(
    key: str, timestamp: str, label: str | None, keep: Sequence[str], exclude: Sequence[str]
) -> None:
    roles = {"--entity": [key], "--timestamp": [timestamp], "--label": [label] if label else []}
    roles |= {"--keep": list(keep), "--exclude": list(exclude)}
    seen: dict[str, str] = {}
    for option, columns in roles.items():
        for column in columns:
            if column in seen:
                raise ProjectError(
                    f"column '{column}' is given to both {seen[column]} and {option}; "
                    "a column plays one part"
                )
            seen[column] = option


def layout(
    path: Path,
    *,
    key: str,
    timestamp: str,
    label: str | None,
    keep: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> TableLayout:
    """Read the schema and decide each column's part; every other column becomes a feature."""
    schema, rows = read_schema(path)
    _check_roles(key, timestamp, label, keep, exclude)
    named = [("--entity", key), ("--timestamp", timestamp)]
    named += [("--label", label)] if label else []
    named += [("--keep", c) for c in keep] + [("--exclude", c) for c in exclude]
    for option, column in named:
        _check_named(schema, path, option, column)
    key_type = _key_type(schema.field(key).type, key)
    if not pa.types.is_timestamp(schema.field(timestamp).type):
        raise ProjectError(
            f"--timestamp column '{timestamp}' is {schema.field(timestamp).type}, not a "
            "timestamp; write it as a datetime column (pandas: pd.to_datetime)"
        )
    if label and feast_type(schema.field(label).type) in (None, TIMESTAMP_TYPE):
        raise ProjectError(
            f"--label column '{label}' is {schema.field(label).type}; a label is a number, "
            "a boolean or text"
        )
    taken = {key, timestamp, *([label] if label else []), *keep, *exclude}
    features = _features(schema, taken)
    layout = TableLayout(path, rows, key, key_type, timestamp, label, tuple(keep), features)
    if not layout.served:
        raise ProjectError(f"{path.name}: no feature columns are left once the roles are taken")
    return layout


def _key_type(arrow: pa.DataType, key: str) -> str:
    if pa.types.is_integer(arrow):
        return "INT64"
    if _is_text(arrow):
        return "STRING"
    raise ProjectError(f"--entity column '{key}' is {arrow}; an entity key is an integer or text")


def _features(schema: pa.Schema, taken: set[str]) -> tuple[Feature, ...]:
    features: list[Feature] = []
    unusable: list[str] = []
    for field in schema:
        if field.name in taken:
            continue
        dtype = feast_type(field.type)
        if dtype is None or ":" in field.name:
            unusable.append(field.name if dtype else f"{field.name} ({field.type})")
        else:
            features.append(Feature(field.name, dtype))
    if unusable:
        names = ",".join(u.split(" (")[0] for u in unusable)
        raise ProjectError(
            f"column(s) {', '.join(unusable)} cannot be features (a type Feast or the models "
            f"cannot use, or ':' in the name); convert them or pass --exclude {names}"
        )
    return tuple(features)


def entity_rows(layout: TableLayout) -> tuple[pa.Table, int]:
    """Key, event time (UTC), label and kept columns; and how many unlabeled rows were dropped.

    A key and time shared by two rows is refused: a point-in-time join cannot tell them apart,
    so both would get the same features whatever their own values.
    """
    if layout.label is None:
        raise ValueError("entity rows need a label")
    columns = [layout.key, layout.timestamp, layout.label, *layout.keep]
    table = pq.read_table(layout.path, columns=columns)
    for column in (layout.key, layout.timestamp):
        missing = table.column(column).null_count
        if missing:
            raise ProjectError(f"{layout.path.name}: {missing} rows have no '{column}'")
    counts = table.group_by([layout.key, layout.timestamp]).aggregate([([], "count_all")])
    shared = pc.sum(pc.greater(counts.column("count_all"), 1)).as_py() or 0
    if shared:
        raise ProjectError(
            f"{layout.path.name}: {shared} ({layout.key}, {layout.timestamp}) pairs occur more "
            "than once; point-in-time features need one row per key and time"
        )
    labels = table.column(layout.label)
    present = pc.is_valid(labels)
    if pa.types.is_floating(labels.type):
        present = pc.and_(present, pc.invert(pc.is_nan(labels)))
    labelled = table.filter(present)
    if labelled.num_rows == 0:
        raise ProjectError(f"{layout.path.name}: no row has a '{layout.label}' label")
    return _normalized(labelled, layout), table.num_rows - labelled.num_rows


def _normalized(table: pa.Table, layout: TableLayout) -> pa.Table:
    """Event times as UTC (naive ones are taken as UTC, as Feast does), in the source's unit so
    a row never moves before its own feature row; a dictionary-encoded label as plain text."""
    ts_type = table.schema.field(layout.timestamp).type
    times = table.column(layout.timestamp).cast(pa.timestamp(ts_type.unit, tz="UTC"))
    position = table.schema.get_field_index(layout.timestamp)
    table = table.set_column(position, layout.timestamp, times)
    assert layout.label is not None
    label = table.column(layout.label)
    if pa.types.is_dictionary(label.type):
        decoded = label.cast(label.type.value_type)
        table = table.set_column(table.schema.get_field_index(layout.label), layout.label, decoded)
    return table


def infer_task(label: pa.ChunkedArray, name: str, task: str | None = None) -> tuple[str, Any]:
    """The task a label implies (or the one asked for), and the positive class for a binary
    task whose classes are not 0/1 or booleans (None when they are).

    Two values make a binary task; text, or at most ``MAX_CLASSES`` whole numbers, a multiclass
    one; other numbers a regression. ``--task`` overrides the guess.
    """
    numeric = pa.types.is_integer(label.type) or pa.types.is_floating(label.type)
    values = sorted(v for v in pc.unique(label).to_pylist() if v is not None)
    integral = numeric and all(float(v).is_integer() for v in values)
    if integral:
        values = [int(v) for v in values]
    if len(values) < 2:
        raise ProjectError(f"--label column '{name}' has {len(values)} distinct value(s)")
    if task is None:
        if len(values) == 2:
            task = "binary_classification"
        elif not numeric or (integral and len(values) <= MAX_CLASSES):
            task = "multiclass_classification"
        else:
            task = "regression"
    if task == "regression" and not numeric:
        raise ProjectError(f"--label column '{name}' holds classes, not numbers: no regression")
    if task != "binary_classification":
        return task, None
    if len(values) != 2:
        raise ProjectError(
            f"binary classification needs two label values; '{name}' has {len(values)}"
        )
    plain = pa.types.is_boolean(label.type) or values == [0, 1]
    return task, None if plain else values[1]
