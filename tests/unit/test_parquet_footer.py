"""The pure-Python parquet reader agrees with pyarrow, or says it does not know.

validate reads the entity file without pyarrow (which imports numpy); a wrong column list or
label set would be a false error, so every answer is compared with pyarrow's on files written
the ways entity files are written: codecs, row groups, nulls, NaN, categories, dates, nesting.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from mlops_spec.loader.entity_file import EntityTable, read_entity_table
from mlops_spec.loader.parquet_footer import snappy_decompress

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


def _truth(path: Path, label: str) -> tuple[list[str], int, set[Any], int]:
    parquet = pq.ParquetFile(path)
    column = parquet.read(columns=[label]).column(0)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = set(pc.unique(pc.drop_null(column)).to_pylist())
    return parquet.schema_arrow.names, parquet.metadata.num_rows, values, column.null_count


@pytest.mark.parametrize(
    ("compression", "page_version"), [("snappy", "1.0"), ("gzip", "2.0"), ("none", "2.0")]
)
@pytest.mark.parametrize("row_group_size", [N, 64])
@pytest.mark.parametrize(
    "label", ["small_int", "label_text", "with_nulls", "unicode", "category", "many", "amount"]
)
def test_agrees_with_pyarrow(
    tmp_path: Path, compression: str, page_version: str, row_group_size: int, label: str
) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(
        TABLE,
        path,
        compression=compression,
        row_group_size=row_group_size,
        data_page_version=page_version,
        data_page_size=256,  # many pages per row group
    )
    found = read_entity_table(path, label)
    assert isinstance(found, EntityTable)
    names, rows, values, nulls = _truth(path, label)
    assert list(found.columns) == names and found.rows == rows
    assert found.label is not None and found.label.missing == nulls
    assert found.label.values is not None and set(found.label.values) == values


@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
def test_unused_categories_are_not_values(tmp_path: Path, page_version: str) -> None:
    """A pandas Categorical keeps unused categories in the parquet dictionary; a binary label
    written that way must not look like three classes."""
    labels = [None if i % 5 == 0 else ("yes" if i % 2 else "no") for i in range(N)]
    categories = pa.array(["maybe", "no", "yes", "unknown"])
    indices = pa.array([None if v is None else ["no", "yes"].index(v) + 1 for v in labels])
    table = pa.table({"y": pa.DictionaryArray.from_arrays(indices, categories)})
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, data_page_version=page_version, row_group_size=128)
    found = read_entity_table(path, "y")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.values == ("no", "yes")
    assert found.label.missing == N // 5


def test_nan_is_reported_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    found = read_entity_table(path, "with_nan")
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.has_nan and found.label.values == (0.0, 1.0)


@pytest.mark.parametrize(
    ("label", "numeric", "described"),
    [("amount", True, "DOUBLE"), ("label_text", False, "text"), ("when", False, "dates or times")],
)
def test_label_types(tmp_path: Path, label: str, numeric: bool, described: str) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path)
    found = read_entity_table(path, label)
    assert isinstance(found, EntityTable) and found.label is not None
    assert (found.label.numeric, found.label.type_name) == (numeric, described)


@pytest.mark.parametrize(
    ("label", "options"),
    [
        ("flag", {}),  # booleans are not dictionary-encoded
        ("label_text", {"compression": "zstd"}),  # a codec this reader does not decode
        ("label_text", {"use_dictionary": False}),
    ],
)
def test_unknown_values_are_none_not_wrong(
    tmp_path: Path, label: str, options: dict[str, Any]
) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(TABLE, path, **options)
    found = read_entity_table(path, label)
    assert isinstance(found, EntityTable) and found.label is not None
    assert found.label.values is None
    assert list(found.columns) == TABLE.column_names


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
    good = tmp_path / "good.parquet"
    pq.write_table(TABLE, good)
    cut = tmp_path / "cut.parquet"
    data = good.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    cut.write_bytes(data[: -8 - length] + b"\xff" * length + data[-8:])  # a garbage footer
    assert read_entity_table(cut, "id") is None


def test_snappy_round_trip() -> None:
    data = b"abcabcabcabc" * 300 + bytes(range(256)) * 20 + b"z" * 5000
    compressed = pa.compress(data, codec="snappy", asbytes=True)
    assert snappy_decompress(compressed) == data
