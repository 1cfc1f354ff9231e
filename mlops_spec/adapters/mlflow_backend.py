"""How MLflow backend failures reach the user: one ``RegistryError`` line with a hint.

An outage (unreachable server, locked, corrupt or vanished SQLite database, unwritable artifact
folder) must read as one line naming what failed and what to do, while a programming error
keeps its traceback. MLflow and SQLAlchemy messages run to many lines, with the SQL statement
and its parameters; only the cause is kept. Retrying is the caller's business (Prefect task
retries), except for SQLite's "database is locked" during store initialisation, which
:func:`retry_locked` waits out.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import mlflow
from mlflow.exceptions import MlflowException

from mlops_spec.errors import RegistryError

__all__ = [
    "backend_call",
    "backend_errors",
    "hint",
    "is_not_found",
    "one_line_error",
    "registry_error",
    "retry_locked",
    "sqlite_path",
]

T = TypeVar("T")

_LOCK_RETRIES = 6
_LOCK_BASE_DELAY_S = 0.5


def backend_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [MlflowException, sqlite3.Error, OSError]
    with contextlib.suppress(ImportError):  # sqlalchemy comes with mlflow, but be safe
        from sqlalchemy.exc import SQLAlchemyError

        errors.append(SQLAlchemyError)
    with contextlib.suppress(ImportError):  # schema migrations fail with alembic's own error
        from alembic.util import CommandError

        errors.append(CommandError)
    return tuple(errors)


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for other backends."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    raw = tracking_uri[len(prefix) :].split("?", 1)[0]
    if raw in ("", ":memory:"):
        raise RegistryError(
            f"tracking URI {tracking_uri!r} is an in-memory SQLite database: every connection "
            "would see an empty registry; use a file path (sqlite:////abs/path/mlflow.db)"
        )
    return Path(raw)


def one_line_error(exc: BaseException) -> str:
    """One line of an exception: MLflow and SQLAlchemy messages run to many lines and URLs."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    line = " ".join(str(text).split())
    line = re.sub(r"\(Background on this error at: \S+\)", "", line)
    line = re.sub(r"\(raised as a result of Query-invoked autoflush;[^)]*\)", "", line)
    # SQLAlchemy appends the statement and its parameters: values the user cannot act on.
    line = re.sub(r"\[SQL: .*", "", line)
    line = " ".join(line.split())
    return line if len(line) <= 300 else line[:297] + "..."


def hint(exc: BaseException, database: Path | None = None) -> str:
    """What to do about a backend error, naming ``database`` (the SQLite file) when known."""
    text = str(exc).lower()
    named = f" {database}" if database is not None else ""
    if "database is locked" in text:
        return f" (another process is writing to the SQLite database{named}; retry later)"
    if "unable to open database file" in text:
        return " (the database folder is missing or not writable)"
    if "readonly database" in text or "no such table" in text or "disk i/o error" in text:
        return (
            f" (the SQLite database{named} was removed, replaced or made read-only while "
            "in use: restore it, or run again to start a new one)"
        )
    if "file is not a database" in text or "database disk image is malformed" in text:
        return (
            f" (the SQLite database{named} is corrupt: restore it from a backup, or move it "
            "aside and run again to start a new one)"
        )
    if "database or disk is full" in text or "no space left on device" in text:
        return (
            f" (the disk holding the SQLite database{named} is full: free space there, or "
            "point MLOPS_SPEC_STATE_DIR at a larger disk)"
        )
    return ""


def registry_error(action: str, exc: BaseException) -> RegistryError:
    """``MLflow could not <action>: <cause> (<hint>)``, for the backend MLflow points at."""
    database = None
    with contextlib.suppress(RegistryError):  # an in-memory URI has no file to name
        database = sqlite_path(mlflow.get_tracking_uri())
    return RegistryError(f"MLflow could not {action}: {one_line_error(exc)}{hint(exc, database)}")


def is_locked(exc: BaseException) -> bool:
    return "database is locked" in str(exc).lower()


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, MlflowException) and exc.error_code in {
        "RESOURCE_DOES_NOT_EXIST",
        "NOT_FOUND",
    }


@contextlib.contextmanager
def backend_call(action: str) -> Iterator[None]:
    """Turn any backend failure inside the block into a one-line ``RegistryError``.

    ``action`` completes the sentence "MLflow could not ...". Programming errors (``TypeError``,
    ``ValueError`` from our own code) pass through unchanged: they are bugs, not outages.
    """
    try:
        yield
    except RegistryError:
        raise
    except backend_errors() as exc:
        raise registry_error(action, exc) from exc


def retry_locked(action: str, fn: Callable[[], T]) -> T:
    """Call ``fn``, retrying only "database is locked", with exponential back-off.

    SQLite already waits for the lock before each failure (5 s by default; MLflow's own
    sessions set ``busy_timeout`` to 20 s), so six attempts plus 15.5 s of sleeps give a long
    writer (typically another process's first-use migration) at least 45 s.
    Other failures are not retried here.
    """
    for attempt in range(_LOCK_RETRIES):
        try:
            return fn()
        except backend_errors() as exc:
            if not is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                raise registry_error(action, exc) from exc
            time.sleep(_LOCK_BASE_DELAY_S * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
