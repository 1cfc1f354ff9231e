"""Palmer penguins (raw LTER table) as Feast entity rows and feature rows.

Source: ``palmerpenguins.load_penguins_raw()``, the Palmer Station LTER table with real sample
ids and real egg dates (344 birds observed 2007-2009).

* ``penguin_id`` is the 1-based row number of the raw table. The raw ``Sample Number`` restarts
  for each species' study, so it is not unique; it is kept on the entity rows with
  ``study_name`` and ``individual_id`` for provenance. The raw table is ordered by species, so
  ``penguin_id`` correlates with the label: it is a key, never a feature.
* ``event_timestamp`` is the real egg date (midnight UTC); the measurements are dated the same
  day, so a point-in-time join finds them.
* The label ``species`` is the short name (Adelie, Chinstrap, Gentoo); ``sex`` stays on the
  entity rows as a grouping column. Rows without a species would be dropped (there are none in
  0.1.6); rows with missing measurements are kept, as real data has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlops_spec.demo_data._io import package_dir, prepare_once, strings
from mlops_spec.errors import DataSourceError

VERSION = 1
SPECIES = ("Adelie", "Chinstrap", "Gentoo")
_FEATURE_COLUMNS = {
    "Island": "island",
    "Culmen Length (mm)": "bill_length_mm",
    "Culmen Depth (mm)": "bill_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Delta 15 N (o/oo)": "delta_15_n",
    "Delta 13 C (o/oo)": "delta_13_c",
}
FEATURES = tuple(_FEATURE_COLUMNS.values())


def _sources() -> list[Path]:
    # load_penguins_raw() reads this file; its stamp tells us when the package changed.
    path = package_dir("palmerpenguins") / "data" / "penguins-raw.csv"
    return [path] if path.is_file() else []


def load() -> pd.DataFrame:
    """The raw LTER table, rows without a species removed."""
    from palmerpenguins import load_penguins_raw

    raw: pd.DataFrame = load_penguins_raw()
    missing = {"Species", "Date Egg", "Sex", "Sample Number", *_FEATURE_COLUMNS} - set(raw.columns)
    if missing:
        raise DataSourceError(f"penguins: raw table lacks columns {sorted(missing)}")
    raw = raw.reset_index(drop=True)
    raw.insert(0, "penguin_id", pd.Series(range(1, len(raw) + 1), dtype="int64"))
    return raw[raw["Species"].notna()].reset_index(drop=True)


def build() -> Mapping[str, pd.DataFrame]:
    """Entity rows (id, egg date, species, sex) and the same-day measurement rows."""
    raw = load()
    species = raw["Species"].str.split().str[0]
    unknown = set(species.unique()) - set(SPECIES)
    if unknown:
        raise DataSourceError(f"penguins: unexpected species {sorted(unknown)}")
    event_timestamp = pd.to_datetime(raw["Date Egg"], format="%Y-%m-%d").dt.tz_localize("UTC")
    entities = pd.DataFrame(
        {
            "penguin_id": raw["penguin_id"],
            "event_timestamp": event_timestamp,
            "species": strings(species),
            "sex": strings(raw["Sex"].str.lower()),
            "study_name": strings(raw["studyName"]),
            "sample_number": raw["Sample Number"].astype("int64"),
            "individual_id": strings(raw["Individual ID"]),
        }
    )
    features = pd.DataFrame({"penguin_id": raw["penguin_id"], "event_timestamp": event_timestamp})
    for source, name in _FEATURE_COLUMNS.items():
        column = raw[source]
        features[name] = strings(column) if name == "island" else column.astype("float64")
    return {"entities.parquet": entities, "features.parquet": features}


def prepare(data_dir: Path) -> Path:
    """Write ``<data_dir>/penguins/{entities,features}.parquet`` unless already current."""
    return prepare_once(data_dir / "penguins", version=VERSION, sources=_sources(), build=build)
