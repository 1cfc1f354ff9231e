"""Credentials: only from the environment or Prefect Secret blocks, and never written out.

Connection settings (``MLOPS_SPEC_MLFLOW_TRACKING_URI``, ``MLOPS_SPEC_OPTUNA_STORAGE``) may
carry a password, either in the environment variable itself or as ``prefect-secret:<block>``,
a Prefect ``Secret`` block loaded when a run starts. Every value resolved this way (and every
password inside a URL) is remembered, and ``RedactSecrets`` masks them in each log record
before any handler writes it: the console, the Prefect API (the UI's logs) and files. What
the project records itself (tags, reports, errors) goes through ``redact_url``.

Specs are configuration under version control, so they hold no secrets: the loader refuses
``${VAR}`` for variable names that look like credentials (see ``looks_secret``), for the
project's own connection settings (``is_connection_setting``: they may hold a password, and the
runtime reads them itself), and for any value that is or contains a URL with a password
(``has_url_password``), whatever the variable is called.

This module imports nothing but the standard library, so the settings, the loader and the
adapters can use it. Loading a block needs Prefect, which only the runtime imports: the runtime
installs the loader (``use_block_loader``; see ``mlops_spec.runtime.secret_blocks``) before it
reads a setting.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from mlops_spec.errors import StepError

PREFECT_SECRET_PREFIX = "prefect-secret:"
MASK = "***"
# Shorter values would mask ordinary words in logs; no real credential is this short.
_MIN_LENGTH = 6
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)

_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:[^\s/@]+@")
# libpq and SQLAlchemy also take the password as a query parameter (?password=...).
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)([^&#\s]+)", re.IGNORECASE)
# Settings fields (mlops_spec.settings.Settings) that name services, and the libraries' own
# variables for the same services: a resolved spec is hashed and recorded in lineage.
CONNECTION_SETTINGS = frozenset(
    {
        "MLOPS_SPEC_MLFLOW_TRACKING_URI",
        "MLOPS_SPEC_PREFECT_API_URL",
        "MLOPS_SPEC_OPTUNA_STORAGE",
        "MLOPS_SPEC_FEAST_ONLINE_STORE",
        "MLOPS_SPEC_DASK_ADDRESS",
        "MLFLOW_TRACKING_URI",
        "PREFECT_API_URL",
    }
)

_known: set[str] = set()

BlockLoader = Callable[[str], str]
_block_loader: BlockLoader | None = None


def looks_secret(variable: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    return bool(_SECRET_NAME.search(variable))


def is_connection_setting(variable: str) -> bool:
    """Whether a variable is one of the connection settings (names are case-insensitive, as
    pydantic-settings reads them)."""
    return variable.upper() in CONNECTION_SETTINGS


def has_url_password(value: str) -> bool:
    """Whether ``value`` is, or contains, a URL with a password (``scheme://user:pw@host``)."""
    return (
        bool(_URL_WITH_PASSWORD.search(value))
        or _password(value) is not None
        or bool(_QUERY_PASSWORD.search(value))
    )


def remember(value: str) -> None:
    """Mask ``value`` (and the password of a URL) in every log record from now on."""
    if len(value) >= _MIN_LENGTH:
        _known.add(value)
    remember_password(value)


def remember_password(value: str) -> None:
    """Mask the password of a URL (``scheme://user:password@host`` or ``?password=``), if it
    has one."""
    passwords = [_password(value), *(m.group(2) for m in _QUERY_PASSWORD.finditer(value))]
    for password in passwords:
        if password is not None and len(password) >= _MIN_LENGTH:
            _known.add(password)


def use_block_loader(loader: BlockLoader | None) -> None:
    """Who loads a ``prefect-secret:<block>`` reference from now on (``None``: nobody).

    Injected rather than imported: the loader needs Prefect, and this module sits below every
    layer that must not import it.
    """
    global _block_loader
    _block_loader = loader


def resolve(value: str | None) -> str | None:
    """A connection setting's value: a ``prefect-secret:<block>`` reference is loaded by the
    installed block loader and its whole value masked from then on; of a plain value, only a
    URL password."""
    if value is None:
        return None
    if not value.startswith(PREFECT_SECRET_PREFIX):
        remember_password(value)  # the rest of a plain setting is not secret
        return value
    block = value.removeprefix(PREFECT_SECRET_PREFIX)
    if _block_loader is None:
        raise StepError(
            f"{PREFECT_SECRET_PREFIX}{block}: a Prefect Secret block is loaded only inside a run "
            "(the runtime installs the loader with mlops_spec.runtime.secret_blocks."
            "use_secret_blocks()); call that first, or set the value itself"
        )
    loaded = _block_loader(block)
    remember(loaded)  # a block's whole value is secret
    return loaded


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_url(url: str) -> str:
    """``url`` without its password (``user:***@host``, ``?password=***``), fit for tags, logs
    and errors; a URL too malformed to parse still loses everything between ``//`` and ``@``."""
    url = _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return redact(re.sub(r"(://[^\s/@]*?)[^\s/@:]*:[^\s/@]+@", rf"\1{MASK}@", url))
    if password is None:
        return redact(url)
    host = parts.netloc.rpartition("@")[2]
    return redact(urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}")))


def _password(value: str) -> str | None:
    try:
        return urlsplit(value).password
    except ValueError:
        return None


class RedactSecrets(logging.Filter):
    """Rewrite a record's message and traceback with remembered secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _known:
            return True
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Add ``RedactSecrets`` to every handler configured so far (after Prefect set up its
    console and API handlers), so no handler sees a record before it is masked."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
