"""The Feast adapter against the real demo repo and data, in a temporary state folder.

The repo is copied to ``<tmp>/feature_repo`` and the data prepared in ``<tmp>/.mlops/data``: the
repo resolves both its data and its Feast state from its own location, so nothing here touches
the project's real ``.mlops`` folder.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_spec.adapters import feast_store
from mlops_spec.errors import DataSourceError, FeatureJoinError
from tests.support.feature_repos import copy_project_repo, demo_feature_repo

pytestmark = pytest.mark.integration

WEATHER = ["temp", "pressure", "wind_speed"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with demo_feature_repo(tmp_path_factory.mktemp("feast")) as repo_path:
        assert feast_store.apply_repo(repo_path) is True
        yield repo_path


def _data(repo: Path, relative: str) -> pd.DataFrame:
    return pd.read_parquet(repo.parent / ".mlops" / "data" / relative)


def _shuffled_with_duplicates(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """A random sample, plus exact copies of some rows, under a non-default index."""
    sample = frame.sample(n=rows, random_state=7)
    shuffled = pd.concat([sample, sample.iloc[:5]]).sample(frac=1.0, random_state=8)
    shuffled.index = pd.Index([f"row-{i}" for i in range(len(shuffled))])
    return shuffled


def test_apply_is_idempotent_and_keeps_state_beside_the_repo(repo: Path) -> None:
    registry = repo.parent / ".mlops" / "feast" / "registry.db"
    before = registry.read_bytes()
    assert feast_store.apply_repo(repo) is False
    assert registry.read_bytes() == before
    assert (repo.parent / ".mlops" / "feast" / "online.db").is_file()


@pytest.mark.parametrize(
    ("service", "entities", "key", "checked"),
    [
        ("adult_features_v1", "adult/entities.parquet", "person_id", "age"),
        ("penguin_features_v1", "penguins/entities.parquet", "penguin_id", "island"),
        ("flight_weather_v1", "flights/entities_20k.parquet", "flight_id", "distance"),
    ],
)
def test_service_returns_every_row_in_order(
    repo: Path, service: str, entities: str, key: str, checked: str
) -> None:
    entity_df = _shuffled_with_duplicates(_data(repo, entities), rows=300)
    result = feast_store.retrieve_features(repo, entity_df, service=service)

    assert len(result.frame) == len(entity_df)
    assert result.frame.index.equals(entity_df.index)
    assert result.frame[key].tolist() == entity_df[key].tolist()
    assert result.frame.index.duplicated().sum() == 0
    assert result.frame[key].duplicated().sum() >= 5  # the copies came back, not collapsed
    assert set(result.feature_columns) <= set(result.frame.columns)
    assert all(
        ref.endswith(f":{col}")
        for ref, col in zip(result.feature_refs, result.feature_columns, strict=True)
    )
    assert result.frame[checked].notna().all()


def test_features_equal_the_source_rows(repo: Path) -> None:
    entity_df = _shuffled_with_duplicates(_data(repo, "adult/entities.parquet"), rows=200)
    result = feast_store.retrieve_features(repo, entity_df, service="adult_features_v1")
    source = _data(repo, "adult/features.parquet").set_index("person_id")
    expected = source.loc[result.frame["person_id"], "hours_per_week"].to_numpy()
    assert (result.frame["hours_per_week"].to_numpy() == expected).all()
    assert result.frame["income_gt_50k"].tolist() == entity_df["income_gt_50k"].tolist()


def test_rows_without_a_valid_feature_come_back_with_nulls(repo: Path) -> None:
    known = _data(repo, "adult/entities.parquet").iloc[[7]]
    stamp = known["event_timestamp"].iloc[0]
    entity_df = pd.DataFrame(
        {
            "person_id": [7, 7, 10**9],
            "event_timestamp": [stamp, pd.Timestamp("2019-06-01", tz="UTC"), stamp],
        }
    )
    frame = feast_store.retrieve_features(repo, entity_df, service="adult_features_v1").frame
    assert len(frame) == 3
    assert frame["age"].notna().tolist() == [True, False, False]

    late = pd.DataFrame(
        {
            "origin": ["EWR", "EWR"],
            "event_timestamp": pd.to_datetime(["2013-06-01 12:30", "2014-03-01 00:00"], utc=True),
        }
    )
    weather = feast_store.retrieve_features(
        repo, late, refs=[f"origin_weather:{c}" for c in WEATHER]
    )
    assert weather.frame["temp"].notna().tolist() == [True, False]  # TTL is two hours


def test_weather_is_point_in_time_correct(repo: Path) -> None:
    """Each row gets the last observation at or before its time, within the 2-hour TTL.

    Times fall on, between and just after observations (0..180 minutes past an hour), plus
    one row inside each multi-hour gap in the station records, where nothing is valid.
    """
    weather = _data(repo, "flights/weather.parquet").sort_values(["origin", "event_timestamp"])
    rng = np.random.default_rng(42)
    hours = rng.choice(weather["event_timestamp"].to_numpy(), size=400)
    minutes = rng.choice([0, 1, 30, 59, 119, 120, 121, 180], size=400)
    gap_ends = weather[weather.groupby("origin")["event_timestamp"].diff() > pd.Timedelta(hours=3)]
    entity_df = pd.DataFrame(
        {
            "origin": [*rng.choice(["EWR", "JFK", "LGA"], size=400), *gap_ends["origin"]],
            "event_timestamp": pd.to_datetime(
                [
                    *(pd.to_datetime(hours, utc=True) + pd.to_timedelta(minutes, unit="min")),
                    *(gap_ends["event_timestamp"] - pd.Timedelta(minutes=1)),
                ],
                utc=True,
            ).astype("datetime64[us, UTC]"),
        }
    )
    refs = [f"origin_weather:{c}" for c in WEATHER]
    frame = feast_store.retrieve_features(repo, entity_df, refs=refs).frame

    ordered = entity_df.reset_index().sort_values("event_timestamp")
    expected = (
        pd.merge_asof(
            ordered,
            weather.sort_values("event_timestamp")[["origin", "event_timestamp", *WEATHER]],
            on="event_timestamp",
            by="origin",
            direction="backward",  # only observations at or before the entity time
            tolerance=pd.Timedelta(hours=2),  # the view's TTL
        )
        .set_index("index")
        .sort_index()
    )
    for column in WEATHER:
        pd.testing.assert_series_equal(
            frame[column].reset_index(drop=True),
            expected[column].reset_index(drop=True),
            check_names=False,
        )
    assert len(gap_ends) > 0
    assert frame["temp"].tail(len(gap_ends)).isna().all()
    assert frame["temp"].notna().sum() > 300


def test_conflicting_entity_column_is_refused(repo: Path) -> None:
    entity_df = _data(repo, "flights/entities_20k.parquet").head(20).copy()
    entity_df["carrier"] = "XX"
    with pytest.raises(FeatureJoinError, match="carrier"):
        feast_store.retrieve_features(repo, entity_df, service="flight_weather_v1")


def test_missing_entity_column_is_a_data_error(repo: Path) -> None:
    entity_df = _data(repo, "flights/entities_20k.parquet").head(5).drop(columns=["origin"])
    with pytest.raises(DataSourceError, match="origin"):
        feast_store.retrieve_features(repo, entity_df, service="flight_weather_v1")


def test_exactly_one_of_service_and_refs(repo: Path) -> None:
    entity_df = _data(repo, "penguins/entities.parquet").head(3)
    with pytest.raises(ValueError, match="exactly one"):
        feast_store.retrieve_features(repo, entity_df)


def test_fingerprint_names_the_definitions(repo: Path) -> None:
    entity_df = _data(repo, "penguins/entities.parquet").head(3)
    first = feast_store.retrieve_features(repo, entity_df, service="penguin_features_v1")
    again = feast_store.retrieve_features(repo, entity_df.head(2), service="penguin_features_v1")
    refs = feast_store.retrieve_features(repo, entity_df, refs=["penguin_features:island"])
    assert first.registry_fingerprint == again.registry_fingerprint
    assert first.registry_fingerprint.startswith("sha256:")
    assert refs.registry_fingerprint != first.registry_fingerprint


def test_missing_or_corrupt_source_names_the_file(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "elsewhere"
    shutil.copytree(repo.parent / ".mlops" / "data", data)
    monkeypatch.setenv("MLOPS_SPEC_DATA_DIR", str(data))
    copy = copy_project_repo(tmp_path)
    feast_store.apply_repo(copy)
    entity_df = _data(repo, "penguins/entities.parquet").head(3)
    source = data / "penguins" / "features.parquet"

    source.write_bytes(b"not a parquet file")
    with pytest.raises(DataSourceError, match=re.escape(str(source))):
        feast_store.retrieve_features(copy, entity_df, service="penguin_features_v1")
    source.unlink()
    with pytest.raises(DataSourceError, match="does not exist"):
        feast_store.retrieve_features(copy, entity_df, service="penguin_features_v1")


def test_materialize_loads_the_latest_weather_online(repo: Path) -> None:
    from feast import FeatureStore

    start, end = datetime(2013, 1, 1, tzinfo=UTC), datetime(2013, 1, 1, 12, tzinfo=UTC)
    feast_store.materialize(repo, start, end, views=["origin_weather"])
    online = FeatureStore(repo_path=str(repo)).get_online_features(
        features=["origin_weather:temp"], entity_rows=[{"origin": "JFK"}]
    )
    weather = _data(repo, "flights/weather.parquet")
    jfk = weather[(weather["origin"] == "JFK") & (weather["event_timestamp"] <= end)]
    assert online.to_dict()["temp"] == [jfk.sort_values("event_timestamp")["temp"].iloc[-1]]


def test_source_data_fingerprint_follows_the_sources_bytes(repo: Path) -> None:
    """The retrieval cache's key: the same for the same bytes, new for rewritten data; a
    service over two views covers both sources (flights and weather)."""
    source = repo.parent / ".mlops" / "data" / "penguins" / "features.parquet"
    original = source.read_bytes()
    first = feast_store.source_data_fingerprint(repo, service="penguin_features_v1")
    assert first is not None and first.startswith("sha256:")
    refs = feast_store.source_data_fingerprint(repo, refs=["penguin_features:island"])
    assert refs == first  # one view, one source
    frame = pd.read_parquet(source)
    frame["bill_length_mm"] = frame["bill_length_mm"][::-1].to_numpy()
    try:
        frame.to_parquet(source, index=False)
        assert feast_store.source_data_fingerprint(repo, service="penguin_features_v1") != first
    finally:
        source.write_bytes(original)
    assert feast_store.source_data_fingerprint(repo, service="penguin_features_v1") == first
    flights = feast_store.source_data_fingerprint(repo, service="flight_weather_v1")
    assert flights not in (None, first)


@pytest.mark.parametrize("key", [2**63, -(2**63) - 1, 10**30])
def test_an_id_no_store_can_hold_is_bad_input_not_an_outage(repo: Path, key: int) -> None:
    """An id beyond int64 used to surface from Feast's proto conversion inside the store call,
    so the service counted a store outage (503), or answered with imputed defaults."""
    from mlops_spec.adapters.feast_online import OnlineFeatures
    from mlops_spec.errors import OnlineStoreUnavailable, UnservableEntityKey
    from mlops_spec.runtime.serving import answer_batch
    from mlops_spec.runtime.serving_metrics import totals
    from mlops_spec.spec.sections import Serving

    online = OnlineFeatures(repo, service="penguin_features_v1")
    with pytest.raises(UnservableEntityKey, match=r"entities\.penguin_id: .*out of range"):
        online.get([{"penguin_id": 1}, {"penguin_id": key}])
    assert not issubclass(UnservableEntityKey, OnlineStoreUnavailable)
    outages = totals("penguin-species")["store_unavailable"]
    answers = answer_batch(
        name="penguin-species",
        requests=[[{"penguin_id": key}]],
        slots=None,  # type: ignore[arg-type]  # never reached: the key is refused first
        features=online,
        serving=Serving(on_store_unavailable="defaults"),
    )
    assert isinstance(answers[0], UnservableEntityKey)
    assert totals("penguin-species")["store_unavailable"] == outages
    online.get([{"penguin_id": 1}])  # the store was not marked broken
