"""The console log rules of ``runtime.console``: which tracebacks are dropped, what a backend
error's record is cut down to, that a handler before the console (Prefect's API handler) still
gets the whole record, and that installing the rules twice adds nothing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from mlops_spec.errors import (
    DataSourceError,
    MlopsSpecError,
    PromotionConflict,
    RegistryError,
    SpecError,
    StepError,
    UnservableEntityKey,
)
from mlops_spec.runtime.console import (
    MLFLOW_BACKEND_LOGGERS,
    HideExpectedTracebacks,
    OneLineBackendErrors,
    protect_logs,
    quiet_console_tracebacks,
)
from mlops_spec.secrets import RedactSecrets

SQL_ERROR = (
    "(sqlite3.OperationalError) database is locked\n"
    "[SQL: INSERT INTO runs (run_uuid, name) VALUES (?, ?)]\n"
    "[parameters: ('abc', 'run')]\n"
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)


def raised(error: BaseException) -> logging.LogRecord:
    """A record logged with the traceback of ``error``, as ``logger.exception`` makes it."""
    try:
        raise error
    except BaseException as caught:
        return logging.LogRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "step %s failed",
            ("fit",),
            (type(caught), caught, caught.__traceback__),
        )


def plain(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)


def formatted(record: logging.LogRecord) -> str:
    return logging.Formatter("%(message)s").format(record)


# --------------------------------------------------------------------------------------------
# HideExpectedTracebacks


@pytest.mark.parametrize(
    "error",
    [
        MlopsSpecError("x"),
        StepError("the data file is gone"),
        DataSourceError("bad column"),
        RegistryError("database is locked"),
        PromotionConflict("alias moved", current=3),
        SpecError([]),
        UnservableEntityKey("id", 2**70, "beyond int64"),  # a ValueError too, and our own
    ],
)
def test_the_projects_own_errors_lose_their_traceback_not_their_message(
    error: BaseException,
) -> None:
    rec = raised(error)
    logging.Formatter().format(rec)  # a handler before this one cached the traceback text
    assert rec.exc_text
    assert HideExpectedTracebacks().filter(rec) is True  # never drops the record
    assert rec.exc_info is None and rec.exc_text is None
    assert formatted(rec) == "step fit failed"


@pytest.mark.parametrize("error", [ValueError("x"), KeyError("k"), RuntimeError("boom")])
def test_other_errors_keep_their_traceback(error: BaseException) -> None:
    rec = raised(error)
    assert HideExpectedTracebacks().filter(rec) is True
    assert rec.exc_info is not None
    text = formatted(rec)
    assert text.startswith("step fit failed\nTraceback (most recent call last):")
    assert type(error).__name__ in text


def test_a_project_error_raised_from_a_library_error_is_still_one_line() -> None:
    try:
        try:
            raise OSError("disk full")
        except OSError as cause:
            raise StepError("cannot write the report: disk full") from cause
    except StepError as caught:
        rec = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "%s", (caught,), (StepError, caught, None)
        )
    HideExpectedTracebacks().filter(rec)
    assert formatted(rec) == "cannot write the report: disk full"


def test_records_without_an_exception_pass_untouched() -> None:
    empty = plain("exc_info=True outside an except block")
    empty.exc_info = (None, None, None)
    for rec in (plain("a\nb %s", "c"), empty):
        before = (rec.getMessage(), rec.exc_info)
        assert HideExpectedTracebacks().filter(rec) is True
        assert OneLineBackendErrors().filter(rec) is True
        assert (rec.getMessage(), rec.exc_info) == before


@pytest.fixture
def two_handlers() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A run logger with its own handler (as Prefect's API handler sits on the run loggers)
    below a console handler with the filter (as on the root logger)."""
    parent, child = logging.getLogger("tests.console"), logging.getLogger("tests.console.run")
    api, console = io.StringIO(), io.StringIO()
    api_handler, console_handler = logging.StreamHandler(api), logging.StreamHandler(console)
    console_handler.addFilter(HideExpectedTracebacks())
    child.addHandler(api_handler)
    parent.addHandler(console_handler)
    parent.propagate = False
    try:
        yield child, api, console
    finally:
        child.removeHandler(api_handler)
        parent.removeHandler(console_handler)
        parent.propagate = True


def test_the_handler_before_the_console_keeps_the_traceback(
    two_handlers: tuple[logging.Logger, io.StringIO, io.StringIO],
) -> None:
    logger, api, console = two_handlers
    try:
        raise RegistryError("MLflow's database is locked (retry later)")
    except RegistryError:
        logger.exception("registering failed")
    assert console.getvalue() == "registering failed\n"
    assert "Traceback (most recent call last)" in api.getvalue()
    assert "RegistryError: MLflow's database is locked" in api.getvalue()


# --------------------------------------------------------------------------------------------
# OneLineBackendErrors


def test_a_backend_error_becomes_its_first_line_and_a_summary() -> None:
    rec = raised(RuntimeError(SQL_ERROR))
    rec.msg, rec.args = "Failed to commit %s:\nrolling back\nmore", ("tx-1",)
    assert OneLineBackendErrors().filter(rec) is True
    assert rec.exc_info is None and rec.exc_text is None and rec.args == ()
    assert formatted(rec) == "Failed to commit tx-1: (sqlite3.OperationalError) database is locked"


def test_a_backend_error_with_an_empty_message_is_the_summary_alone() -> None:
    rec = raised(RuntimeError("no such table: runs"))
    rec.msg, rec.args = "", ()
    OneLineBackendErrors().filter(rec)
    assert formatted(rec) == "no such table: runs"


def test_a_percent_sign_in_the_rewritten_message_is_not_a_format() -> None:
    rec = raised(RuntimeError("disk 100% full, %s left"))
    rec.msg, rec.args = "write at 99%% of %s", ("quota",)
    OneLineBackendErrors().filter(rec)
    assert formatted(rec) == "write at 99% of quota disk 100% full, %s left"


def test_a_very_long_backend_error_is_cut_to_300_characters() -> None:
    rec = raised(RuntimeError("x" * 1000))
    rec.msg, rec.args = "", ()
    OneLineBackendErrors().filter(rec)
    assert len(rec.getMessage()) == 300 and rec.getMessage().endswith("...")


def test_a_backend_record_without_an_exception_is_left_alone() -> None:
    rec = plain("retrying %s\nin 1 s", "commit")
    assert OneLineBackendErrors().filter(rec) is True
    assert rec.getMessage() == "retrying commit\nin 1 s"


# --------------------------------------------------------------------------------------------
# installing the rules


@pytest.fixture
def root_handler() -> Iterator[logging.Handler]:
    """A console handler on the root logger; the filters the test installs are taken off."""
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    backend = [logging.getLogger(name) for name in MLFLOW_BACKEND_LOGGERS]
    before = [list(logger.filters) for logger in backend]
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, filters in zip(backend, before, strict=True):
            logger.filters[:] = filters


def test_installing_twice_adds_each_filter_once(root_handler: logging.Handler) -> None:
    quiet_console_tracebacks()
    quiet_console_tracebacks()
    protect_logs()
    kinds = [type(f) for f in root_handler.filters]
    assert kinds.count(HideExpectedTracebacks) == 1
    assert kinds.count(RedactSecrets) == 1
    for name in MLFLOW_BACKEND_LOGGERS:
        found = [f for f in logging.getLogger(name).filters if isinstance(f, OneLineBackendErrors)]
        assert len(found) == 1
