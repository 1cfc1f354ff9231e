"""``secrets.redact`` and ``redact_url`` on their edges: URLs with and without a password, a
password with no user, characters URLs make awkward (``@`` and ``:`` inside the password,
percent-escapes, IPv6 hosts), secrets that overlap, the length below which nothing is
remembered, and the log filter that applies them. Each test starts with nothing remembered.
"""

from __future__ import annotations

import logging
import sys

import pytest

from mlops_spec import secrets
from mlops_spec.secrets import (
    MASK,
    RedactSecrets,
    has_url_password,
    redact,
    redact_url,
    remember,
    remember_password,
)


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_known", set())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ml:s3cret-pw@db:5432/optuna", "postgresql://ml:***@db:5432/optuna"),
        ("postgresql+psycopg://ml:pw@db/optuna", "postgresql+psycopg://ml:***@db/optuna"),
        ("redis://:hunter22@cache:6379/0", "redis://:***@cache:6379/0"),  # no user
        ("http://ml:pa:ss@host/api", "http://ml:***@host/api"),  # ':' inside the password
        ("http://ml:p@ss@host/api", "http://ml:***@host/api"),  # '@' inside the password
        ("http://ml:p%40ss@host/api", "http://ml:***@host/api"),  # an escaped '@'
        ("http://ml:@host/api", "http://ml:***@host/api"),  # an empty password
        ("postgresql://ml:pw@[::1]:5432/db", "postgresql://ml:***@[::1]:5432/db"),
        ("https://ml:pw@host/path?q=1#frag", "https://ml:***@host/path?q=1#frag"),
    ],
)
def test_a_url_password_is_masked_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert has_url_password(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ml@db:5432/optuna",  # a user, no password
        "http://host:8080/api",  # a port is not a password
        "sqlite:////abs/path/mlflow.db",
        "journal:/x/y.journal",
        "file:///tmp/mlruns",
        "databricks",
        "",
        "not a url at all",
    ],
)
def test_a_url_without_a_password_is_unchanged(url: str) -> None:
    assert redact_url(url) == url
    assert not has_url_password(url)


def test_redact_url_also_masks_what_was_remembered() -> None:
    """A token from a Prefect Secret block may sit in the path or query, not the netloc."""
    remember("tok-0123456789")
    assert redact_url("https://host/api?token=tok-0123456789") == f"https://host/api?token={MASK}"
    assert redact_url("https://ml:pw@host/tok-0123456789") == f"https://ml:{MASK}@host/{MASK}"


def test_a_malformed_url_is_redacted_not_raised() -> None:
    shown = redact_url("http://ml:s3cret-pw@[::1/api")
    assert "s3cret-pw" not in shown


def test_a_password_in_the_query_is_masked() -> None:
    url = "postgresql://ml@db/optuna?password=s3cret-pw"
    assert has_url_password(url)
    assert "s3cret-pw" not in redact_url(url)


# --------------------------------------------------------------------------------------------
# remembered secrets


def test_nothing_remembered_nothing_changed() -> None:
    text = "postgresql://ml:pw@db/x and *** and s3cret"
    assert redact(text) == text


def test_every_occurrence_is_masked() -> None:
    remember("s3cret-value")
    assert redact("a s3cret-value b s3cret-value") == f"a {MASK} b {MASK}"


def test_the_longer_of_two_overlapping_secrets_is_masked_whole() -> None:
    """Masking the shorter first would leave the longer one's tail readable."""
    remember("abcdef")
    remember("abcdef-ghijkl")
    assert redact("x abcdef-ghijkl y abcdef z") == f"x {MASK} y {MASK} z"


def test_values_shorter_than_six_characters_are_not_remembered() -> None:
    """Masking "admin" or "1234" would garble ordinary log lines."""
    remember("12345")
    assert redact("port 12345") == "port 12345"
    remember("123456")
    assert redact("port 123456") == f"port {MASK}"


def test_of_a_url_only_a_long_enough_password_is_remembered() -> None:
    remember_password("postgresql://ml:s3cret-pw@db/optuna")
    assert redact("connecting to db with s3cret-pw as ml") == f"connecting to db with {MASK} as ml"
    remember_password("postgresql://ml:pw@db/optuna")  # too short to mask in free text...
    assert redact("pw") == "pw"
    assert redact_url("postgresql://ml:pw@db/optuna") == f"postgresql://ml:{MASK}@db/optuna"
    remember_password("http://[::1")  # ...and a malformed URL is no error here
    remember_password("no url")


def test_a_remembered_whole_url_is_masked_whole() -> None:
    remember("postgresql://ml:s3cret-pw@db/optuna")
    assert redact("storage postgresql://ml:s3cret-pw@db/optuna down") == f"storage {MASK} down"
    assert redact("the password s3cret-pw") == f"the password {MASK}"  # its password too


# --------------------------------------------------------------------------------------------
# the log filter


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_filter_masks_the_formatted_message_and_the_traceback() -> None:
    remember("s3cret-value")
    try:
        raise RuntimeError("failed with s3cret-value")
    except RuntimeError as error:
        rec = record("connecting with %s to %s", "s3cret-value", "db", exc=error)
    assert RedactSecrets().filter(rec) is True  # masks, never drops
    assert rec.getMessage() == f"connecting with {MASK} to db"
    assert rec.exc_text is not None and "s3cret-value" not in rec.exc_text
    assert f"RuntimeError: failed with {MASK}" in rec.exc_text
    assert "s3cret-value" not in logging.Formatter().format(rec)


def test_the_filter_leaves_clean_records_alone() -> None:
    remember("s3cret-value")
    rec = record("rows: %d", 3)
    assert RedactSecrets().filter(rec) is True
    assert (rec.msg, rec.args) == ("rows: %d", (3,))


def test_with_nothing_remembered_the_filter_does_nothing() -> None:
    rec = record("rows: %d", 3, exc=ValueError("x"))
    assert RedactSecrets().filter(rec) is True
    assert rec.exc_text is None and rec.args == (3,)


def test_a_handler_with_the_filter_never_writes_a_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    remember("tok-0123456789")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.secrets_redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token %s", "tok-0123456789")
        try:
            raise ValueError("bad token tok-0123456789")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    written = capsys.readouterr().err
    assert "tok-0123456789" not in written
    assert f"token {MASK}" in written and f"ValueError: bad token {MASK}" in written


def test_a_remembered_query_password_is_masked_in_any_text() -> None:
    from mlops_spec.secrets import redact, remember_password

    remember_password("postgresql://ml@db/optuna?sslmode=require&password=q-s3cret-pw")
    assert redact("connect failed: password q-s3cret-pw rejected") == (
        f"connect failed: password {MASK} rejected"
    )
