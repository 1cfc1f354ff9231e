"""Benchmark: point-in-time retrieval through the project's Feast setup vs a DuckDB ASOF JOIN.

The same flights entity rows (flight id, origin airport, scheduled departure) are joined with
the schedule features (TTL 1 day) and the origin's hourly weather (TTL 2 hours), once through
``mlops_spec.adapters.feast_store.retrieve_features`` (the repo's offline store, the project's
``AsofDuckDBOfflineStore``, plus the adapter's rows-in == rows-out check and order restore) and
once by hand with two DuckDB ``ASOF LEFT JOIN``s over the same parquet files with the same TTL
rule. With ``--stock`` two more are timed: the repo's store alone (``FeatureStore.
get_historical_features`` and a sort back to entity order, without the adapter's checks), and
the adapter call against Feast's stock DuckDB store (``offline_store: type: duckdb``, its ibis
windowed join) on the same registry. All results are compared value by value before anything
is timed, so the ratios compare equal work.

1M rows are the 327k real flights resampled with replacement (duplicate key + time rows
included, which Feast's DuckDB store must keep).

    .venv/bin/python bench/feature_joins.py [--rows 100000 1000000] [--runs 3] [--stock]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from mlops_spec.adapters import feast_definitions, feast_store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".mlops" / "data" / "flights"
REPO = ROOT / "feature_repo"
FEATURES = ["carrier", "distance", "sched_dep_hour", "dest", "day_of_week"]
WEATHER = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure"]
WEATHER += ["visib"]

ASOF_SQL = """
SELECT e.row_id,
       {flight_cols},
       {weather_cols}
FROM entities e
ASOF LEFT JOIN flight_features f
  ON e.flight_id = f.flight_id AND e.event_timestamp >= f.event_timestamp
ASOF LEFT JOIN weather w
  ON e.origin = w.origin AND e.event_timestamp >= w.event_timestamp
ORDER BY e.row_id
"""


def _within(alias: str, column: str, ttl: str) -> str:
    return (
        f"CASE WHEN e.event_timestamp - {alias}.event_timestamp <= INTERVAL '{ttl}' "
        f"THEN {alias}.{column} END AS {column}"
    )


def entity_rows(n: int, seed: int = 0) -> pd.DataFrame:
    base = pd.read_parquet(DATA / "entities.parquet", columns=["flight_id", "origin"])
    base["event_timestamp"] = pd.read_parquet(DATA / "entities.parquet")["event_timestamp"]
    if n <= len(base):
        rows = base.sample(n=n, random_state=seed)
    else:
        rows = base.sample(n=n, replace=True, random_state=seed)
    return rows.reset_index(drop=True)


def by_feast(entities: pd.DataFrame) -> pd.DataFrame:
    retrieved = feast_store.retrieve_features(REPO, entities, service="flight_weather_v1")
    return retrieved.frame[FEATURES + WEATHER]


@contextmanager
def stock_offline_store() -> Iterator[None]:
    """The adapter, unchanged, but opening the repo with Feast's stock DuckDB offline store."""
    from feast.repo_config import RepoConfig

    original = feast_store._config_with_overrides

    def stock(repo: Path) -> Any:
        raw = yaml.safe_load(os.path.expandvars((repo / feast_definitions.CONFIG_NAME).read_text()))
        raw["offline_store"] = {"type": "duckdb"}
        config = RepoConfig(**raw)
        config.repo_path = repo
        return config

    feast_store._config_with_overrides = stock
    try:
        yield
    finally:
        feast_store._config_with_overrides = original


def by_feast_stock(entities: pd.DataFrame) -> pd.DataFrame:
    with stock_offline_store():
        return by_feast(entities)


def by_store_only(entities: pd.DataFrame) -> pd.DataFrame:
    """The repo's offline store without the adapter's checks: Feast's call, then row order."""
    store = feast_store.open_store(REPO)
    request = entities[["flight_id", "origin", "event_timestamp"]].assign(
        row_id=np.arange(len(entities))
    )
    job = store.get_historical_features(
        entity_df=request, features=store.get_feature_service("flight_weather_v1")
    )
    return job.to_df().sort_values("row_id")[FEATURES + WEATHER]


def by_duckdb(entities: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    frame = entities.assign(row_id=np.arange(len(entities)))
    con.register("entities", frame)
    con.execute(
        f"CREATE VIEW flight_features AS SELECT * FROM '{DATA / 'flight_features.parquet'}'"
    )
    con.execute(f"CREATE VIEW weather AS SELECT * FROM '{DATA / 'weather.parquet'}'")
    sql = ASOF_SQL.format(
        flight_cols=", ".join(_within("f", c, "1 day") for c in FEATURES),
        weather_cols=", ".join(_within("w", c, "2 hours") for c in WEATHER),
    )
    result = con.execute(sql).df()
    con.close()
    return result[FEATURES + WEATHER]


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b), (len(a), len(b))
    for column in FEATURES + WEATHER:
        left, right = a[column].reset_index(drop=True), b[column].reset_index(drop=True)
        if left.dtype.kind in "fiu" or right.dtype.kind in "fiu":
            ok = np.allclose(
                pd.to_numeric(left).astype(float),
                pd.to_numeric(right).astype(float),
                equal_nan=True,
            )
        else:
            ok = bool((left.fillna("<NA>").astype(str) == right.fillna("<NA>").astype(str)).all())
        assert ok, f"{column} differs between Feast and the DuckDB ASOF JOIN"


def median_seconds(fn: object, entities: pd.DataFrame, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(entities)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--stock", action="store_true", help="also time Feast's stock DuckDB offline store"
    )
    args = parser.parse_args()
    if args.stock:
        print(
            "| entity rows | Feast (project adapter), ASOF store s | ASOF store alone s "
            "| Feast (project adapter), stock DuckDB store s | DuckDB ASOF JOIN s "
            "| adapter + ASOF / hand | ASOF alone / hand | adapter + stock / hand |"
        )
        print("|---|---|---|---|---|---|---|---|")
    else:
        print("| entity rows | Feast (project adapter) s | DuckDB ASOF JOIN s | ratio |")
        print("|---|---|---|---|")
    for n in args.rows:
        entities = entity_rows(n)
        by_hand = by_duckdb(entities)
        same(by_feast(entities), by_hand)  # also warms both paths
        if args.stock:
            same(by_store_only(entities), by_hand)
            same(by_feast_stock(entities), by_hand)
        feast_s = median_seconds(by_feast, entities, args.runs)
        duck_s = median_seconds(by_duckdb, entities, args.runs)
        if args.stock:
            alone_s = median_seconds(by_store_only, entities, args.runs)
            stock_s = median_seconds(by_feast_stock, entities, args.runs)
            print(
                f"| {n:,} | {feast_s:.2f} | {alone_s:.2f} | {stock_s:.2f} | {duck_s:.2f} "
                f"| {feast_s / duck_s:.2f}x | {alone_s / duck_s:.2f}x "
                f"| {stock_s / duck_s:.2f}x |",
                flush=True,
            )
        else:
            print(f"| {n:,} | {feast_s:.2f} | {duck_s:.2f} | {feast_s / duck_s:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
