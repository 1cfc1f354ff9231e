"""The data-file adapter: a wrong file is a DataSourceError naming it and what it lacks, and an
output is whole or absent, in parquet or CSV by its suffix."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_spec.adapters import data_files
from mlops_spec.errors import DataSourceError

FRAME = pd.DataFrame(
    {
        "id": np.array([1, 2, 3], dtype="int32"),
        "at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
        "label": ["a", "b", "a"],
    }
)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_frame_round_trips_without_its_index(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / "out" / f"rows{suffix}"
    data_files.write_frame(FRAME.set_index("label", drop=False), target)
    back = data_files.read_frame(target, required=["id"])
    assert list(back.columns) == ["id", "at", "label"]
    assert back["id"].tolist() == [1, 2, 3]
    assert data_files.column_names(target) == ["id", "at", "label"]
    assert data_files.read_frame(target, columns=["label", "id"]).columns.tolist() == [
        "label",
        "id",
    ]


def test_parquet_is_the_default_format(tmp_path: Path) -> None:
    target = tmp_path / "scores.out"
    data_files.write_frame(FRAME, target)
    pd.testing.assert_frame_equal(pd.read_parquet(target), FRAME)


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path) -> None:
    target = tmp_path / "scored.parquet"
    unwritable = pd.DataFrame({"x": [object()]})  # pyarrow cannot store a bare object
    with pytest.raises(Exception):  # noqa: B017  (whatever pyarrow raises)
        data_files.write_frame(unwritable, target)
    assert os.listdir(tmp_path) == []


def test_a_write_replaces_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "scored.parquet"
    data_files.write_frame(FRAME, target)
    data_files.write_frame(FRAME.head(1), target)
    assert len(pd.read_parquet(target)) == 1
    assert os.listdir(tmp_path) == ["scored.parquet"]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"^to_score\.parquet: input file not found$"):
        data_files.read_frame(tmp_path / "x.parquet", what="input", shown="to_score.parquet")


def test_missing_columns_are_listed_with_what_the_file_has(tmp_path: Path) -> None:
    source = tmp_path / "batch.parquet"
    FRAME.to_parquet(source)
    with pytest.raises(DataSourceError) as caught:
        data_files.require_columns(
            source, ["id", "key"], what="input", required_as="entity column(s)"
        )
    assert str(caught.value) == (
        f"{source}: input lacks entity column(s) ['key'] (it has ['id', 'at', 'label'])"
    )
    with pytest.raises(DataSourceError, match=r"outcomes lacks column\(s\) \['truth'\]"):
        data_files.read_frame(source, columns=["id", "truth"], what="outcomes")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_an_unreadable_file_names_the_file_and_the_fix(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"broken{suffix}"
    source.write_bytes(b"\x00\x01 not a table \xff" if suffix == ".parquet" else b"")
    with pytest.raises(DataSourceError) as caught:
        data_files.read_frame(source, what="batch")
    message = str(caught.value)
    assert message.startswith(f"{source}: cannot read the batch file as ")
    assert ("name it *.csv" if suffix == ".parquet" else "name it *.parquet") in message
    assert "Traceback" not in message


def test_integer_ranges_follow_the_column_types(tmp_path: Path) -> None:
    source = tmp_path / "entities.parquet"
    frame = FRAME.assign(big=np.array([1, 2, 3], dtype="uint64"))
    frame.to_parquet(source)
    assert data_files.integer_ranges(source) == {
        "id": (-(2**31), 2**31 - 1),
        "big": (0, 2**64 - 1),
    }
    csv = tmp_path / "entities.csv"
    frame.to_csv(csv, index=False)
    assert data_files.integer_ranges(csv) == {
        "id": (-(2**63), 2**63 - 1),
        "big": (-(2**63), 2**63 - 1),
    }
    assert data_files.integer_ranges(tmp_path / "missing.parquet") is None
