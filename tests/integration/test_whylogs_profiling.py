"""Data constraints against real whylogs on the Palmer penguins (real missing values, strings).

Columns are added in the awkward dtypes that break whylogs 1.6.4 under numpy 2 / pandas 2
(string, category, nullable Int64/boolean, tz-aware datetime), so every check type is run on
every kind of column the project may feed it. Expected outcomes come from pandas, not whylogs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import palmerpenguins
import pandas as pd
import pytest
import whylogs as why

from mlops_spec.adapters.whylogs_profiling import (
    ConstraintReport,
    ConstraintResult,
    check_constraints,
    profile_frame,
    read_profile,
    write_profile,
)
from mlops_spec.errors import DataSourceError
from mlops_spec.spec.constraints import DataConstraint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    df = palmerpenguins.load_penguins()
    df["penguin_id"] = [f"P{i:04d}" for i in range(len(df))]
    df["row"] = np.arange(len(df))
    df["island_cat"] = df["island"].astype("category")
    df["sex_cat"] = df["sex"].astype("category")  # 11 missing
    df["sex_str"] = df["sex"].astype("string")  # pandas StringDtype, 11 missing
    df["heavy"] = df["body_mass_g"] > 4000  # numpy bool
    df["heavy_na"] = (df["body_mass_g"] > 4000).astype("boolean")
    df.loc[df["body_mass_g"].isna(), "heavy_na"] = pd.NA  # 2 missing
    df["year_i"] = df["year"].astype("Int64")
    df.loc[df.index[:5], "year_i"] = pd.NA
    day = pd.to_timedelta(np.arange(len(df)) % 100, unit="D")  # repeats
    df["seen"] = (pd.to_datetime(df["year"].astype(str)) + day).dt.tz_localize("Europe/Paris")
    df.loc[df.index[10], "seen"] = pd.NaT
    df["adelie"] = (df["species"] == "Adelie").astype(float)  # 0/1 as float, with a gap
    df.loc[df.index[3], "adelie"] = np.nan
    return df


@pytest.fixture(scope="module")
def view(penguins: pd.DataFrame) -> Any:
    return profile_frame(penguins)


def _epoch(ts: pd.Timestamp) -> float:
    return float(ts.tz_convert("UTC").timestamp())


def _cases(df: pd.DataFrame) -> list[tuple[dict[str, Any], bool]]:
    """(constraint fields, expected outcome); bounds are taken from the data with pandas."""
    bill = df["bill_length_mm"]
    lo, hi = float(bill.min()), float(bill.max())
    missing_bill = bill.isna().mean()
    first_seen, last_seen = _epoch(df["seen"].min()), _epoch(df["seen"].max())
    sex_missing = df["sex_str"].isna().mean()
    return [
        # float with gaps
        ({"column": "bill_length_mm", "in_range": (lo, hi)}, True),  # inclusive at both ends
        ({"column": "bill_length_mm", "in_range": (lo + 0.1, hi)}, False),
        ({"column": "bill_length_mm", "in_range": (lo, hi - 0.1)}, False),
        ({"column": "bill_length_mm", "min": lo}, True),
        ({"column": "bill_length_mm", "min": lo + 0.1}, False),
        ({"column": "bill_length_mm", "max": hi}, True),
        ({"column": "bill_length_mm", "max": hi - 0.1}, False),
        ({"column": "bill_length_mm", "no_missing": True}, False),
        ({"column": "bill_length_mm", "max_missing_fraction": missing_bill}, True),
        ({"column": "bill_length_mm", "max_missing_fraction": missing_bill / 2}, False),
        ({"column": "bill_length_mm", "unique": True}, False),
        ({"column": "bill_length_mm", "in_set": [float(lo), float(hi)]}, False),
        # float 0/1 label with a gap: frequent items are tracked for floats too
        ({"column": "adelie", "in_set": [0, 1]}, True),
        ({"column": "adelie", "in_set": [1]}, False),
        ({"column": "adelie", "no_missing": True}, False),
        # plain int64 and nullable Int64
        ({"column": "year", "in_set": [2007, 2008, 2009], "no_missing": True}, True),
        ({"column": "year_i", "in_set": [2007, 2008, 2009]}, True),
        ({"column": "year_i", "in_set": [2007, 2008]}, False),
        ({"column": "year_i", "in_range": (2007, 2009)}, True),
        ({"column": "year_i", "min": 2008}, False),
        ({"column": "year_i", "max": 2008}, False),
        ({"column": "year_i", "no_missing": True}, False),
        ({"column": "year_i", "max_missing_fraction": 5 / len(df)}, True),
        ({"column": "year_i", "unique": True}, False),
        ({"column": "row", "unique": True, "min": 0}, True),
        # object strings
        ({"column": "island", "in_set": ["Biscoe", "Dream", "Torgersen"]}, True),
        ({"column": "island", "in_set": ["Biscoe", "Dream"]}, False),
        ({"column": "island", "no_missing": True}, True),
        ({"column": "island", "unique": True}, False),
        ({"column": "island", "in_range": (0, 1)}, False),  # no numbers to check
        ({"column": "penguin_id", "unique": True, "no_missing": True}, True),
        # pandas string dtype (the numpy-2 path)
        ({"column": "sex_str", "in_set": ["male", "female"]}, True),
        ({"column": "sex_str", "in_set": ["male"]}, False),
        ({"column": "sex_str", "no_missing": True}, False),
        ({"column": "sex_str", "max_missing_fraction": sex_missing}, True),
        ({"column": "sex_str", "max_missing_fraction": 0.01}, False),
        ({"column": "sex_str", "unique": True}, False),
        # categoricals (the pandas-2 masking path), with and without missing values
        ({"column": "island_cat", "in_set": ["Biscoe", "Dream", "Torgersen"]}, True),
        ({"column": "island_cat", "in_set": ["Dream", "Torgersen"]}, False),
        ({"column": "island_cat", "no_missing": True, "unique": False}, True),
        ({"column": "sex_cat", "in_set": ["male", "female"]}, True),
        ({"column": "sex_cat", "no_missing": True}, False),
        ({"column": "sex_cat", "unique": True}, False),
        # booleans, plain and nullable
        ({"column": "heavy", "in_set": [True, False], "in_range": (0, 1)}, True),
        ({"column": "heavy", "in_set": [True]}, False),
        ({"column": "heavy", "no_missing": True}, True),
        ({"column": "heavy_na", "in_set": [True, False]}, True),
        ({"column": "heavy_na", "in_set": [False]}, False),
        ({"column": "heavy_na", "no_missing": True}, False),
        ({"column": "heavy_na", "max_missing_fraction": 0.01}, True),
        # tz-aware datetimes: compared as seconds since the epoch (UTC)
        ({"column": "seen", "in_range": (first_seen, last_seen)}, True),
        ({"column": "seen", "min": first_seen + 1}, False),
        ({"column": "seen", "max": last_seen - 1}, False),
        ({"column": "seen", "no_missing": True}, False),
        ({"column": "seen", "max_missing_fraction": 1 / len(df)}, True),
        ({"column": "seen", "unique": True}, False),
    ]


def test_every_check_on_every_dtype(penguins: pd.DataFrame, view: Any) -> None:
    cases = _cases(penguins)
    constraints = [DataConstraint(**fields) for fields, _ in cases]
    report = check_constraints(view, constraints, row_count=len(penguins))
    # one row per declared check (unique: False declares nothing), in spec order
    per_case = [sum(v is not None and v is not False for v in f.values()) - 1 for f, _ in cases]
    assert len(report.rows) == sum(per_case)
    start = 0
    for (fields, expected), count in zip(cases, per_case, strict=True):
        rows = report.rows[start : start + count]
        start += count
        outcome = all(row.passed for row in rows)
        assert outcome is expected, (fields, [(r.check, r.passed, r.detail) for r in rows])
        assert all(row.column == fields["column"] for row in rows)
    assert not report.passed


def test_details_explain_the_outcome(penguins: pd.DataFrame, view: Any) -> None:
    report = check_constraints(
        view,
        [
            DataConstraint(column="island", in_set=["Biscoe"]),
            DataConstraint(column="sex_str", no_missing=True),
            DataConstraint(column="bill_length_mm", min=40),
            DataConstraint(column="bill_length_mm", in_set=[40.0]),
        ],
        row_count=len(penguins),
    )
    in_set, missing, low, outside = report.rows
    assert "Dream" in in_set.detail and "Torgersen" in in_set.detail
    assert missing.detail.startswith(f"{penguins['sex_str'].isna().sum()} of {len(penguins)}")
    assert f"observed [{penguins['bill_length_mm'].min():g}" in low.detail
    assert "also found 32.100000" in outside.detail  # floats as whylogs itemizes them
    assert report.failed() == list(report.rows)


def test_in_set_is_not_fooled_by_a_sketch_that_cannot_list_everything() -> None:
    """Over ~768 distinct values whylogs lists only heavy hitters; absent ones prove nothing."""
    from sklearn.datasets import load_breast_cancer

    values = pd.DataFrame({"x": load_breast_cancer().data.ravel()})  # thousands of distinct
    assert values["x"].nunique() > 2000
    common = [float(v) for v in values["x"].value_counts().index[:100]]  # every heavy hitter
    report = check_constraints(
        profile_frame(values), [DataConstraint(column="x", in_set=common)], row_count=len(values)
    )
    assert not report.passed
    assert "cannot be shown" in report.rows[0].detail


def test_missing_column_fails_cleanly(penguins: pd.DataFrame, view: Any) -> None:
    report = check_constraints(
        view,
        [
            DataConstraint(column="wing_span", in_range=(0, 10), no_missing=True),
            DataConstraint(column="island", no_missing=True),
        ],
        row_count=len(penguins),
    )
    assert [(r.column, r.check, r.passed) for r in report.rows] == [
        ("wing_span", "no_missing", False),
        ("wing_span", "in_range", False),
        ("island", "no_missing", True),
    ]
    assert "'wing_span' is not in the data" in report.rows[0].detail
    assert [r.column for r in report.failed()] == ["wing_span", "wing_span"]


def test_no_rows_fails_every_check(view: Any) -> None:
    constraints = [DataConstraint(column="island", no_missing=True)]
    report = check_constraints(view, constraints, row_count=0)
    assert not report.passed
    assert report.rows[0].detail == "no rows to check"


def test_profile_round_trip(penguins: pd.DataFrame, view: Any, tmp_path: Path) -> None:
    path = write_profile(view, tmp_path / "nested" / "penguins.bin")
    back = read_profile(path)
    assert set(back.get_columns()) == set(penguins.columns)
    for name in ("bill_length_mm", "sex_str", "seen", "island_cat"):
        counts = back.get_column(name).get_metric("counts")
        assert counts.n.value == len(penguins)
        assert counts.null.value == penguins[name].isna().sum()
    constraints = [DataConstraint(**fields) for fields, _ in _cases(penguins)]
    before = check_constraints(view, constraints, row_count=len(penguins))
    after = check_constraints(back, constraints, row_count=len(penguins))
    assert after == before
    assert list(tmp_path.joinpath("nested").iterdir()) == [path]  # no temporary file left


def test_read_profile_errors(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="cannot read"):
        read_profile(tmp_path / "absent.bin")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a profile")
    with pytest.raises(DataSourceError, match="not a whylogs profile"):
        read_profile(junk)


def test_whylogs_still_needs_the_dtype_workaround(penguins: pd.DataFrame) -> None:
    """A canary: when whylogs fixes these, `loggable_frame` can be simplified."""
    with pytest.raises(AttributeError, match="unicode_"):
        why.log(penguins[["sex_str"]])
    with pytest.raises(AttributeError, match="unicode_"):
        why.log(penguins[["seen"]])
    with pytest.raises(ValueError, match="Cannot mask"):
        why.log(penguins[["sex_cat"]])


def test_markdown_and_records() -> None:
    report = ConstraintReport(
        (
            ConstraintResult("age", "in_range", True, "expected values in [17, 100]"),
            ConstraintResult("code", "in_set", False, "expected values in {a|b}; also found c"),
        )
    )
    lines = report.to_markdown().splitlines()
    assert lines[0] == "**1 of 2 data constraint checks passed.**"
    assert lines[2] == "| column | check | result | detail |"
    assert lines[3] == "|---|---|---|---|"
    assert lines[4] == "| age | in_range | pass | expected values in [17, 100] |"
    assert lines[5] == "| code | in_set | **FAIL** | expected values in {a\\|b}; also found c |"
    assert all(line.count(" | ") == 3 for line in [lines[2], *lines[4:]])
    records = report.to_records()
    assert json.loads(json.dumps(records)) == records
    assert records[1] == {
        "column": "code",
        "check": "in_set",
        "passed": False,
        "detail": "expected values in {a|b}; also found c",
    }
    assert ConstraintReport(()).passed
    assert ConstraintReport(()).to_markdown() == "No data constraints declared.\n"
