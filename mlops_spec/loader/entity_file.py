"""What validate needs from the entity file: its columns, row count and the label's values.

Read by ``parquet_footer`` in pure Python (pyarrow would import numpy, which ``plan`` must not):
the schema, row count and null counts come from the footer, the label's distinct values from
its dictionary pages. Anything that reader cannot tell is None (unknown), and the checks that
need it are skipped. Results are cached while the file is unchanged, so validating several
specs over one file reads it once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from struct import error as struct_error
from typing import Any

from mlops_spec.loader.parquet_footer import (
    Column,
    Footer,
    NotParquet,
    Unreadable,
    column_chunks,
    dictionary_values,
    null_count,
    read_footer,
    used_values,
)

MAX_VALUES_SHOWN = 10


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


def read_entity_table(path: Path, label: str) -> EntityTable | str | None:
    """The file's columns, rows and label summary; a sentence when the file is not parquet;
    None when it is parquet this reader cannot make sense of (then nothing is checked)."""
    try:
        stat = path.stat()
        return _read_cached(str(path), stat.st_mtime_ns, stat.st_size, label)
    except NotParquet as exc:
        return f"the entity file is not parquet: {exc}"
    except (Unreadable, OSError, ValueError, KeyError, IndexError, TypeError, struct_error):
        return None


@lru_cache(maxsize=16)
def _read_cached(path: str, mtime_ns: int, size: int, label: str) -> EntityTable:
    with Path(path).open("rb") as handle:
        footer = read_footer(handle)
        columns = {column.name: column for column in footer.columns}
        summary = None
        column = columns.get(label)
        if column is not None and column.leaf:
            summary = _summarise(handle, footer, column)
    return EntityTable(tuple(columns), footer.rows, summary)


def _summarise(handle: Any, footer: Footer, column: Column) -> LabelSummary:
    kind, numeric = column.described, column.numeric
    try:
        chunks = column_chunks(footer, column.name)
    except Unreadable:
        return LabelSummary(kind, numeric, None, None)
    missing = null_count(chunks)
    try:
        found = dictionary_values(handle, chunks)
        if len(found) > 2:  # an unused category would make a binary label look multiclass
            found = used_values(handle, chunks, column.optional)
    except (Unreadable, ValueError, IndexError, KeyError, struct_error):
        return LabelSummary(kind, numeric, missing, None)
    has_nan = any(isinstance(v, float) and math.isnan(v) for v in found)
    present = sorted((v for v in found if not (isinstance(v, float) and math.isnan(v))), key=_order)
    return LabelSummary(kind, numeric, missing, tuple(present), has_nan)


def _order(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def shown_values(summary: LabelSummary) -> str:
    """The distinct values, or their count when there are many."""
    values = summary.values or ()
    if len(values) > MAX_VALUES_SHOWN:
        return f"{len(values)} distinct values"
    return ", ".join(map(str, values))
