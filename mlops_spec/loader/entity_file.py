"""What validate needs from the entity file: its columns, row count and the label's values.

Read with pyarrow: the schema and row count from the footer, the label's nulls, NaN and
distinct values from the label column alone (``iter_batches``, never ``read_table``, which
imports pandas). pyarrow is imported inside the functions, so only a load that checks the
data pays for it (``plan`` loads with ``check_data=False`` and imports no numpy). Anything
that cannot be read is None (unknown), and the checks that need it are skipped. Results are
cached while the file is unchanged, so validating several specs over one file reads it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MAX_VALUES_SHOWN = 10
MAX_VALUES_KEPT = 100_000  # more distinct values than this are no classification's: unknown
MAGIC = b"PAR1"


@dataclass(frozen=True)
class LabelSummary:
    """The label column as a task sees it; None fields were not readable."""

    type_name: str
    numeric: bool
    missing: int | None  # nulls (NaN is reported through ``has_nan``)
    values: tuple[Any, ...] | None  # every distinct non-missing value, sorted
    has_nan: bool = False

    @property
    def distinct(self) -> int | None:
        return None if self.values is None else len(self.values)


@dataclass(frozen=True)
class EntityTable:
    columns: tuple[str, ...]
    rows: int
    label: LabelSummary | None  # None when the label is not a plain column


class _NotParquet(ValueError):
    """The file is not parquet at all, as opposed to parquet that cannot be read."""


def read_entity_table(path: Path, label: str) -> EntityTable | str | None:
    """The file's columns, rows and label summary; a sentence when the file is not parquet;
    None when it is parquet that cannot be read (then nothing is checked)."""
    import pyarrow as pa

    try:
        stat = path.stat()
        return _read_cached(str(path), stat.st_mtime_ns, stat.st_size, label)
    except _NotParquet as exc:
        return f"the entity file is not parquet: {exc}"
    except (pa.ArrowException, OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def _check_magic(path: str, size: int) -> None:
    if size < 12:
        raise _NotParquet("the file is too small to be parquet")
    with Path(path).open("rb") as handle:
        head = handle.read(4)
        handle.seek(size - 4)
        tail = handle.read(4)
    if head != MAGIC or tail != MAGIC:
        raise _NotParquet("no parquet magic bytes (PAR1) at the start and end of the file")


@lru_cache(maxsize=16)
def _read_cached(path: str, mtime_ns: int, size: int, label: str) -> EntityTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_magic(path, size)
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    names = tuple(schema.names)
    summary = None
    if names.count(label) == 1:
        field = schema.field(label)
        if not pa.types.is_nested(field.type):
            summary = _summarise(parquet, label, field.type)
    return EntityTable(names, parquet.metadata.num_rows, summary)


def _summarise(parquet: Any, label: str, kind: Any) -> LabelSummary:
    """Nulls, NaN and distinct values of the label; values None when they cannot be read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(kind):
        kind = kind.value_type  # decoded below, so unused categories are not values
    type_name, numeric = _described(kind)
    floating = pa.types.is_floating(kind)
    missing, has_nan, uniques = 0, False, []
    try:
        for batch in parquet.iter_batches(columns=[label]):
            column = batch.column(0)
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            missing += column.null_count
            if floating:
                nan = pc.is_nan(column)
                has_nan = has_nan or bool(pc.any(nan).as_py())
                column = column.filter(pc.invert(nan))  # drops the nulls too
            uniques.append(pc.unique(pc.drop_null(column)))
        found = pc.unique(pa.chunked_array(uniques, type=kind))
        if len(found) > MAX_VALUES_KEPT:
            return LabelSummary(type_name, numeric, missing, None, has_nan)
        values = tuple(found.sort().to_pylist())
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError):
        return LabelSummary(type_name, numeric, None, None)
    return LabelSummary(type_name, numeric, missing, values, has_nan)


def _described(kind: Any) -> tuple[str, bool]:
    """What the values are, in words, and whether they are numbers as a model's label:
    ints, floats, decimals and booleans, not dates or text."""
    import pyarrow as pa

    types = pa.types
    if types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind):
        return str(kind), True
    if types.is_boolean(kind):
        return "booleans", True
    if types.is_temporal(kind):
        return "dates or times", False
    if types.is_string(kind) or types.is_large_string(kind) or types.is_string_view(kind):
        return "text", False
    if types.is_binary(kind) or types.is_large_binary(kind) or types.is_fixed_size_binary(kind):
        return "text", False
    return str(kind), False


def shown_values(summary: LabelSummary) -> str:
    """The distinct values, or their count when there are many."""
    values = summary.values or ()
    if len(values) > MAX_VALUES_SHOWN:
        return f"{len(values)} distinct values"
    return ", ".join(map(str, values))
