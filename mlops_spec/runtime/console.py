"""Keep expected failures one line long on the console, with their tracebacks in Prefect.

Prefect's engines log a failing task or flow with ``exc_info``, so a backend outage or a bad
data file would print a full traceback under the CLI's own one-line error. The project's
errors (``MlopsSpecError``) already say what failed and what to do; on the console their
traceback is noise. The Prefect API handler sits on the run loggers and sees each record before
it propagates to the root console handler, so the UI keeps the traceback for whoever debugs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mlops_spec.errors import MlopsSpecError
from mlops_spec.secrets import install_log_redaction


class HideExpectedTracebacks(logging.Filter):
    """Drop the traceback of records about a ``MlopsSpecError``; keep the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, MlopsSpecError):
            record.exc_info = None
            record.exc_text = None
        return True


class OneLineBackendErrors(logging.Filter):
    """MLflow's database layer logs each error it catches with a full traceback and the SQL
    statement, then raises it; the project turns that error into one ``RegistryError`` line
    (with a hint), so the record keeps only its first line and the error's summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            from mlops_spec.adapters.mlflow_backend import one_line_error

            first = record.getMessage().splitlines()[0] if record.getMessage() else ""
            record.msg, record.args = f"{first} {one_line_error(exc)}".strip(), ()
            record.exc_info = None
            record.exc_text = None
        return True


#: MLflow's loggers that report a backend error before raising it.
MLFLOW_BACKEND_LOGGERS = ("mlflow.store.db.utils",)


def quiet_console_tracebacks() -> None:
    """Install the filter on the root logger's console handlers (after Prefect set them up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, HideExpectedTracebacks) for f in handler.filters):
            handler.addFilter(HideExpectedTracebacks())
    for name in MLFLOW_BACKEND_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineBackendErrors) for f in logger.filters):
            logger.addFilter(OneLineBackendErrors())


def protect_logs() -> None:
    """Both console rules for a flow or CLI process: one-line expected errors, and secrets
    masked in every handler (console and Prefect API alike)."""
    quiet_console_tracebacks()
    install_log_redaction()


# Progress bars are for a terminal: the CLI turns them on for its own in-process run, so the
# flow's parameters (the deployment's run form) hold only what an operator chooses. The flag
# lives here, read through a function: a flow that referenced the ContextVar itself could not
# be pickled (Prefect's Dask task runner pickles the flow run's context, flow included).
_SHOW_PROGRESS: ContextVar[bool] = ContextVar("mlops_spec_show_progress", default=False)


def progress_shown() -> bool:
    """Whether this run draws progress bars (only a CLI run in a terminal does)."""
    return _SHOW_PROGRESS.get()


@contextmanager
def showing_progress(on: bool) -> Iterator[None]:
    """Progress bars on (or off) for the runs started inside the block."""
    token = _SHOW_PROGRESS.set(on)
    try:
        yield
    finally:
        _SHOW_PROGRESS.reset(token)
