"""Real, offline demo datasets turned into parquet files for the Feast repo.

The data ship inside installed packages (see each module for its source and what is synthetic).
Every dataset gets its own folder under ``data_dir`` with entity rows (keys, event time, label,
grouping columns) kept apart from feature rows, because the feature rows are what Feast joins
point-in-time and the entity rows are what a training run starts from. The default
``data_dir`` is ``<state dir>/data``; ``feature_repo/`` reads from there.

Preparation is idempotent and atomic, so flows, tests and people can all call ``prepare_all``
before they need the data without coordinating.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlops_spec.demo_data import adult, compas, flights, penguins

PREPARERS: dict[str, Callable[[Path], Path]] = {
    "adult": adult.prepare,
    "penguins": penguins.prepare,
    "flights": flights.prepare,
    "compas": compas.prepare,
}


def prepare_all(data_dir: Path) -> dict[str, Path]:
    """Prepare every demo dataset under ``data_dir``; returns dataset name -> its folder."""
    return {name: prepare(data_dir) for name, prepare in PREPARERS.items()}


__all__ = ["PREPARERS", "prepare_all"]
