"""Retries apply to I/O and backend errors only: bad input and programming errors fail the same
way on every attempt, so retrying them only delays and hides the cause."""

from __future__ import annotations

import sqlite3

import pytest

from mlops_spec.errors import (
    ConstraintsFailed,
    DataSourceError,
    FeatureJoinError,
    OnlineStoreUnavailable,
    RegistryError,
    StateUnwritable,
)
from mlops_spec.runtime.retry_rules import is_transient


@pytest.mark.parametrize(
    "error",
    [
        OSError("connection reset"),
        ConnectionResetError(),
        TimeoutError(),
        RegistryError("database is locked"),
        OnlineStoreUnavailable("online store down"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_io_and_backend_errors_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DataSourceError("entities.parquet: no such file"),
        FeatureJoinError("rows in != rows out"),
        StateUnwritable("disk full"),
        ConstraintsFailed("age in_range"),
        FileNotFoundError("x.parquet"),
        KeyError("column"),
        TypeError("bad argument"),
        AttributeError("no attribute"),
        AssertionError(),
        ValueError("bad value"),
        ZeroDivisionError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bad_input_and_programming_errors_are_not(error: BaseException) -> None:
    assert not is_transient(error)
