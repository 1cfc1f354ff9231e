"""The prepared demo data: real row counts, honest timestamps, idempotent and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_spec.demo_data import adult, prepare_all

pytestmark = pytest.mark.integration

FLIGHTS_TOTAL = 336_776
FLIGHTS_CANCELLED = 9_430  # flights without arr_delay


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-data")
    prepare_all(root)
    return root


def _read(data_dir: Path, relative: str) -> pd.DataFrame:
    return pd.read_parquet(data_dir / relative)


def test_prepare_all_returns_one_folder_per_dataset(data_dir: Path) -> None:
    assert prepare_all(data_dir) == {
        "adult": data_dir / "adult",
        "penguins": data_dir / "penguins",
        "flights": data_dir / "flights",
        "compas": data_dir / "compas",
    }


def test_every_timestamp_is_utc_microseconds(data_dir: Path) -> None:
    files = sorted(data_dir.rglob("*.parquet"))
    assert len(files) == 13  # 9 dataset files and 2 monitoring batches each for adult, flights
    for path in files:
        field = pq.read_schema(path).field("event_timestamp")
        assert field.type == pa.timestamp("us", tz="UTC"), path


def test_adult_keeps_uci_rows_and_split(data_dir: Path) -> None:
    entities = _read(data_dir, "adult/entities.parquet")
    features = _read(data_dir, "adult/features.parquet")
    assert len(entities) == len(features) == 48_842
    assert entities["person_id"].is_unique
    assert entities["event_timestamp"].is_monotonic_increasing
    assert (features["event_timestamp"] <= entities["event_timestamp"]).all()
    assert entities["sex"].value_counts().to_dict() == {"Male": 32_650, "Female": 16_192}
    assert entities["income_gt_50k"].mean() == pytest.approx(0.239, abs=0.001)
    # The last 16,281 rows in time are exactly UCI's adult.test rows.
    test_rows = entities.sort_values("event_timestamp").tail(adult.TEST_ROWS)
    assert test_rows["person_id"].min() == adult.TRAIN_ROWS
    assert {"sex", "race", "age_band"}.isdisjoint(features.columns)
    assert features["workclass"].isna().sum() > 0  # '?' read as missing, not as a category
    assert not features["workclass"].str.startswith(" ").any()


def test_penguins_use_real_dates_and_short_species(data_dir: Path) -> None:
    entities = _read(data_dir, "penguins/entities.parquet")
    features = _read(data_dir, "penguins/features.parquet")
    assert len(entities) == len(features) == 344  # no row lacks a species in 0.1.6
    assert set(entities["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert entities["sex"].isna().sum() == 11
    years = entities["event_timestamp"].dt.year
    assert years.between(2007, 2009).all()
    assert (features["event_timestamp"] <= entities["event_timestamp"]).all()
    assert "delta_15_n" in features.columns


def test_flights_drop_cancelled_and_use_real_utc(data_dir: Path) -> None:
    entities = _read(data_dir, "flights/entities.parquet")
    schedule = _read(data_dir, "flights/flight_features.parquet")
    assert len(entities) == len(schedule) == FLIGHTS_TOTAL - FLIGHTS_CANCELLED
    assert entities["flight_id"].is_unique
    assert entities["arr_delayed_15"].mean() == pytest.approx(0.245, abs=0.001)
    first = entities.set_index("flight_id").loc[0, "event_timestamp"]
    assert first == pd.Timestamp("2013-01-01 10:15", tz="UTC")  # 05:15 EST
    # Local clock recovered from the UTC instant matches the schedule, in winter and summer.
    merged = entities.merge(schedule, on=["flight_id", "event_timestamp"])
    local = merged["event_timestamp"].dt.tz_convert("America/New_York")
    assert (local.dt.hour == merged["sched_dep_hour"]).all()
    assert (local.dt.dayofweek == merged["day_of_week"]).all()
    assert set(local.dt.month) == set(range(1, 13))


def test_flights_weather_and_sample(data_dir: Path) -> None:
    weather = _read(data_dir, "flights/weather.parquet")
    assert len(weather) == 26_115
    assert not weather.duplicated(["origin", "event_timestamp"]).any()
    assert set(weather["origin"]) == {"EWR", "JFK", "LGA"}
    sample = _read(data_dir, "flights/entities_20k.parquet")
    entities = _read(data_dir, "flights/entities.parquet")
    assert len(sample) == 20_000
    assert set(sample["flight_id"]) <= set(entities["flight_id"])


def test_prepare_is_idempotent_and_repairs_outputs(tmp_path: Path) -> None:
    folder = adult.prepare(tmp_path)
    features = folder / "features.parquet"
    first = features.stat().st_mtime_ns
    adult.prepare(tmp_path)
    assert features.stat().st_mtime_ns == first  # current outputs are not rewritten

    features.write_bytes(b"truncated")
    adult.prepare(tmp_path)
    assert len(pd.read_parquet(features)) == 48_842

    features.unlink()
    adult.prepare(tmp_path)
    assert features.is_file()
    leftovers = [name for name in os.listdir(folder) if name.endswith(".tmp")]
    assert leftovers == []


def test_adult_batches_are_test_rows_and_the_graduates_one_is_shifted(data_dir: Path) -> None:
    features = _read(data_dir, "adult/features.parquet").set_index("person_id")
    same = _read(data_dir, "adult/batches/2020-02-01_in_distribution.parquet")
    graduates = _read(data_dir, "adult/batches/2020-02-02_graduates.parquet")
    for batch in (same, graduates):
        assert len(batch) == 3_000
        assert batch["person_id"].min() >= 32_561  # UCI's test rows only
    assert (features.loc[graduates["person_id"], "education_num"] >= 13).all()
    assert features.loc[same["person_id"], "education_num"].lt(13).mean() > 0.6


def test_flight_batches_are_flown_flights_and_the_december_one_is_winter(data_dir: Path) -> None:
    entities = _read(data_dir, "flights/entities.parquet").set_index(["flight_id", "origin"])
    weather = _read(data_dir, "flights/weather.parquet")
    same = _read(data_dir, "flights/batches/2014-01-01_in_distribution.parquet")
    december = _read(data_dir, "flights/batches/2014-01-02_december.parquet")
    for batch in (same, december):
        assert len(batch) == 3_000
        assert batch.set_index(["flight_id", "origin"]).index.isin(entities.index).all()
    assert (december["month"] == 12).all()
    assert same["month"].nunique() == 12
    # the shift is real: December's weather is far colder than the year's
    winter = weather[weather["event_timestamp"].dt.month == 12]["temp"].mean()
    assert winter < weather["temp"].mean() - 15
