"""What validate reads from the entity file agrees with the whole file read another way.

validate reads the schema, row count and only the label column (pyarrow's batch reader and
compute kernels); a wrong column list or label set would be a false error, so every answer is
compared with the file read whole by pandas, over files written the ways entity files are
written: codecs, row groups, nulls, NaN, categories, dates, nesting.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_spec.loader.entity_file import EntityTable, _read_cached, read_entity_table

N = 500
COLUMNS: dict[str, Any] = {
    "id": pa.array(range(N), pa.int64()),
    "small_int": pa.array([i % 3 for i in range(N)], pa.int32()),
    "label_text": pa.array(["yes" if i % 4 else "no" for i in range(N)]),
    "with_nulls": pa.array([None if i % 7 == 0 else f"g{i % 2}" for i in range(N)]),
    "with_nan": pa.array([math.nan if i % 9 == 0 else float(i % 2) for i in range(N)]),
    "unicode": pa.array(["é" if i % 2 else "ü" for i in range(N)]),
    "flag": pa.array([i % 2 == 0 for i in range(N)]),
    "when": pa.array(range(N), pa.timestamp("us", tz="UTC")),
    "category": pa.array(["a", "b"] * (N // 2)).dictionary_encode(),
    "many": pa.array([f"value-{i}" for i in range(N)]),
    "amount": pa.array([i * 0.5 for i in range(N)]),
    "nested": pa.array([{"x": i} for i in range(N)]),
}
TABLE = pa.table(COLUMNS)
LABELS = ["small_int", "label_text", "with_nulls", "with_nan", "unicode", "flag", "category"]


def _truth(path: Path, label: str) -> tuple[list[str], int, set[Any], int]:
    """Columns, rows, distinct non-missing label values and nulls, from pandas' whole read.

    A null and a NaN are both NaN in pandas; the nulls are counted from the written table."""
    frame = pd.read_parquet(path)
    column = frame[label].astype(object)
    values = {v for v in column if not (v is None or (isinstance(v, float) and math.isnan(v)))}
    nulls = TABLE.column(label).null_count
    return list(frame.columns), len(frame), values, nulls


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "snappy", "data_page_version": "1.0"},
        {"compression": "gzip", "data_page_version": "2.0"},
        {"compression": "none", "data_page_version": "2.0"},
        {"compression": "zstd"},
        {"use_dictionary": False},
    ],
)
@pytest.mark.parametrize("row_group_size", [N, 64])
@pytest.mark.parametrize("label", [*LABELS, "many", "amount"])
def test_agrees_with_pandas(
    tmp_path: Path, options: dict[str, Any], row_group_size: int, label: str
) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(
        TABLE.drop_columns(["nested"]),  # pandas reads structs as dicts, unhashable
        path,
        row_group_size=row_group_size,
        data_page_size=256,  # many pages per row group
        **options,
    )
    found = read_entity_table(path, label)
    assert isinstance(found, EntityTable)
    names, rows, values, nulls = _truth(path, label)
    assert list(found.columns) == names and found.rows == rows
    assert found.label is not None and found.label.missing == nulls
    assert found.label.values is not None and set(found.label.values) == values
    assert list(found.label.values) == sorted(values)


@pytest.mark.parametrize("row_group_size", [N, 128])
def test_unused_categories_are_not_values(tmp_path: Path, row_group_size: int) -> None:
    """A pandas Categorical keeps unused categories in the parquet dictionary; a binary label
    written that way must not look like three classes."""
    labels = [None if i % 5 == 0 else ("yes" if i % 2 else "no") for i in range(N)]
    frame = pd.DataFrame(
        {"y": pd.Categorical(labels, categories=["maybe", "no", "yes", "unknown"])}
    )
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, row_group_size=row_group_size)
    found = read_entity_table(path, "y")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.values == ("no", "yes")
    assert found.label.missing == N // 5


def test_nan_is_reported_apart_from_nulls(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    values = [None if i % 7 == 0 else (math.nan if i % 9 == 0 else float(i % 2)) for i in range(N)]
    pq.write_table(pa.table({"y": pa.array(values, pa.float64())}), path, row_group_size=64)
    found = read_entity_table(path, "y")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.has_nan and found.label.values == (0.0, 1.0)
    assert found.label.missing == sum(v is None for v in values)
    pq.write_table(TABLE, path)
    clean = read_entity_table(path, "amount")
    assert isinstance(clean, EntityTable) and clean.label is not None
    assert not clean.label.has_nan and clean.label.missing == 0


@pytest.mark.parametrize(
    ("label", "numeric", "described"),
    [
        ("amount", True, "double"),
        ("small_int", True, "int32"),
        ("flag", True, "booleans"),
        ("label_text", False, "text"),
        ("category", False, "text"),
        ("when", False, "dates or times"),
    ],
)
def test_label_types(tmp_path: Path, label: str, numeric: bool, described: str) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    found = read_entity_table(path, label)
    assert isinstance(found, EntityTable) and found.label is not None
    assert (found.label.numeric, found.label.type_name) == (numeric, described)


def test_unreadable_label_values_are_none_not_wrong(tmp_path: Path) -> None:
    """Columns and rows from an intact footer; a damaged label column is unknown, not an error."""
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path, compression="snappy")
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(TABLE.column_names.index("many"))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(data))
    found = read_entity_table(path, "many")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.values is None and found.label.missing is None
    assert list(found.columns) == TABLE.column_names and found.rows == N


def test_nested_label_is_no_label(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    found = read_entity_table(path, "nested")
    assert isinstance(found, EntityTable) and found.label is None
    assert "nested" in found.columns and "x" not in found.columns


def test_not_parquet_and_truncated(tmp_path: Path) -> None:
    text = tmp_path / "rows.parquet"
    text.write_text("id,ts\n1,2\n")
    assert isinstance(read_entity_table(text, "id"), str)
    tiny = tmp_path / "tiny.parquet"
    tiny.write_bytes(b"PAR1")
    assert isinstance(read_entity_table(tiny, "id"), str)
    good = tmp_path / "good.parquet"
    pq.write_table(TABLE, good)
    cut = tmp_path / "cut.parquet"
    data = good.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    cut.write_bytes(data[: -8 - length] + b"\xff" * length + data[-8:])  # a garbage footer
    assert read_entity_table(cut, "id") is None
    assert read_entity_table(tmp_path / "absent.parquet", "id") is None


def test_read_once_while_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    _read_cached.cache_clear()
    first = read_entity_table(path, "label_text")
    assert read_entity_table(path, "label_text") is first
    assert _read_cached.cache_info().hits == 1
    pq.write_table(pa.table({"label_text": ["a", "b", "c"]}), path)
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse clock
    changed = read_entity_table(path, "label_text")
    assert isinstance(changed, EntityTable) and changed.rows == 3
    assert changed.label is not None and changed.label.values == ("a", "b", "c")


def test_too_many_values_are_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A continuous label's values are not kept: unknown, its nulls still counted."""
    monkeypatch.setattr("mlops_spec.loader.entity_file.MAX_VALUES_KEPT", N - 1)
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    found = read_entity_table(path, "many")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.values is None and found.label.missing == 0
