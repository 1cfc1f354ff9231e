"""Parquet and CSV files of rows: the one module that reads and writes them for the runtime.

Every command that takes a file (scoring input, monitoring batch, canary outcomes) owes the
user the same answer when it is wrong: a ``DataSourceError`` naming the file and what it lacks,
never a pyarrow or pandas traceback. Every output is written through a temporary file and an
atomic rename, so a failed or killed run leaves no half-written file behind. The format follows
the suffix: ``.csv`` is CSV, anything else parquet (the project's format).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_spec.errors import DataSourceError

if TYPE_CHECKING:
    import pandas as pd


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _format(path: Path) -> str:
    return "CSV" if is_csv(path) else "parquet"


def _unreadable(path: Path, what: str, shown: str, exc: Exception) -> DataSourceError:
    other = ".parquet" if is_csv(path) else ".csv"
    return DataSourceError(
        f"{shown}: cannot read the {what} file as {_format(path)} ({type(exc).__name__}: "
        f"{exc}); write it as {_format(path)}, or name it *{other} if that is its format"
    )


def column_names(path: Path, *, what: str = "data", shown: str | None = None) -> list[str]:
    """The file's column names, from its schema (parquet) or header (CSV) alone, so a command
    can refuse a wrong file before any work starts."""
    shown = shown or str(path)
    if not path.is_file():
        raise DataSourceError(f"{shown}: {what} file not found")
    try:
        if is_csv(path):
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception as exc:
        raise _unreadable(path, what, shown, exc) from None


def require_columns(
    path: Path,
    required: Sequence[str],
    *,
    what: str = "data",
    shown: str | None = None,
    required_as: str = "column(s)",
) -> list[str]:
    """The file's column names, once every ``required`` column is among them; otherwise a
    ``DataSourceError`` listing the missing ones and what the file has instead."""
    shown = shown or str(path)
    names = column_names(path, what=what, shown=shown)
    missing = [c for c in required if c not in names]
    if missing:
        raise DataSourceError(f"{shown}: {what} lacks {required_as} {missing} (it has {names})")
    return names


def read_frame(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    required: Sequence[str] = (),
    what: str = "data",
    shown: str | None = None,
    required_as: str = "column(s)",
) -> pd.DataFrame:
    """The file's rows (only ``columns``, when given), after checking from its schema that
    ``required`` and ``columns`` are all there."""
    import pandas as pd

    shown = shown or str(path)
    wanted = list(columns) if columns is not None else None
    require_columns(
        path, [*required, *(wanted or ())], what=what, shown=shown, required_as=required_as
    )
    try:
        if is_csv(path):
            return pd.read_csv(path, usecols=wanted)[wanted] if wanted else pd.read_csv(path)
        return pd.read_parquet(path, columns=wanted)
    except Exception as exc:
        raise _unreadable(path, what, shown, exc) from None


def integer_ranges(path: Path) -> dict[str, tuple[int, int]] | None:
    """The bounds of each integer column's type (int32, uint64...), or ``None`` when the file
    cannot be read: what a service needs to refuse a key no column of the file could hold."""
    import numpy as np

    dtypes: dict[str, Any]
    try:
        if is_csv(path):
            import pandas as pd

            dtypes = {str(k): v for k, v in pd.read_csv(path).dtypes.items()}
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            dtypes = {
                f.name: np.dtype(f.type.to_pandas_dtype())
                for f in schema
                if pa.types.is_integer(f.type)
            }
    except Exception:
        return None
    ranges: dict[str, tuple[int, int]] = {}
    for name, dtype in dtypes.items():
        if np.issubdtype(dtype, np.integer):
            bounds = np.iinfo(dtype)
            ranges[name] = (int(bounds.min), int(bounds.max))
    return ranges


def write_frame(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` (without its index) to ``target`` atomically: readers see the old file
    or the whole new one, and a failure leaves neither a partial file nor a temporary one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        if is_csv(target):
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
