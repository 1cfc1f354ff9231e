"""Which failures a plan step's retries apply to: I/O and backend hiccups, never bad input
or a programming error, which fail the same way on every attempt and only hide the cause."""

from __future__ import annotations

from typing import Any

from mlops_spec.errors import (
    DataSourceError,
    FeatureJoinError,
    OnlineStoreUnavailable,
    RegistryError,
    SpecError,
    StateUnwritable,
)

_NEVER = (
    DataSourceError,
    FeatureJoinError,
    SpecError,
    StateUnwritable,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
)
_TRANSIENT = (OSError, ConnectionError, TimeoutError, RegistryError, OnlineStoreUnavailable)
# Errors these libraries raise are about their backends (a locked database, a dropped
# connection), not about this package's code.
_BACKEND_LIBRARIES = frozenset({"sqlalchemy", "sqlite3", "requests", "urllib3", "httpx", "mlflow"})


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed."""
    if isinstance(exc, _NEVER):
        return False
    if isinstance(exc, _TRANSIENT):
        return True
    return type(exc).__module__.split(".")[0] in _BACKEND_LIBRARIES


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry a failed task run only on a transient error."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False
