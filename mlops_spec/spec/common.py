"""Shared building blocks of the spec language: the strict base model and small value types.

Only pydantic and the standard library are imported here (plus the tiny ``cronsim``), so that
``mlops-spec validate`` starts in a fraction of a second.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION_DAYS = 366
"""No timeout or wait in a pipeline needs more than a year; beyond some size a duration
overflows what the runtime adds it to (``datetime + timedelta``), so the bound is explicit."""
CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values never change after loading.

    Numbers must be finite: a gate bound of ``.nan`` compares false with everything and one of
    ``.inf`` always passes, so neither can mean what its author intended.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def parse_duration(value: Any) -> float:
    """Durations are written like ``90s``, ``10m`` or ``1h30m``; a bare number means seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 10m, 90s or 1h30m")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int too big for a float
            seconds = math.inf
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        matches = list(_DURATION_PART.finditer(text))
        if not matches or "".join(m.group(0) for m in matches) != text:
            raise ValueError(f"'{value}' is not a duration; write it like 10m, 90s or 1h30m")
        seconds = sum(float(m.group(1)) * _UNIT_SECONDS[m.group(2)] for m in matches)
    else:
        raise ValueError("expected a duration like 10m, 90s or 1h30m")
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if seconds > MAX_DURATION_DAYS * 86400:
        raise ValueError(f"a duration must be at most {MAX_DURATION_DAYS}d")
    return seconds


DURATION_PATTERN = r"^(\s*\d+(\.\d+)?(ms|s|m|h|d))+\s*$"
"""What ``parse_duration`` reads, for editors: one or more number-and-unit parts."""
_DURATION_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DURATION_PATTERN},
        {"type": "number", "exclusiveMinimum": 0},
    ],
    "examples": ["10m", "90s", "1h30m"],
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_JSON_SCHEMA)]
"""Seconds, written in the spec as ``10m``, ``90s``, ``1h30m`` or a number of seconds.

The model holds seconds, but the schema an editor checks against describes what is written:
typed as the float alone, every ``timeout: 10m`` showed as "Incorrect type. Expected number"."""


def check_cron(value: Any) -> str:
    """Validate a five-field cron expression with the same parser family Prefect relies on.

    The parser also takes a sixth field (seconds), which Prefect's cron schedules do not
    have, so the field count is checked first.
    """
    from cronsim import CronSim, CronSimError

    if not isinstance(value, str):
        raise ValueError("a cron expression is a string like '0 3 * * 1'")
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        extra = "; seconds are not part of cron" if len(fields) == len(CRON_FIELDS) + 1 else ""
        raise ValueError(
            f"'{value}' is not a valid cron expression: it has {len(fields)} fields; cron has "
            f"{len(CRON_FIELDS)} ({' '.join(CRON_FIELDS)}){extra}"
        )
    try:
        CronSim(value, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"'{value}' is not a valid cron expression: {exc}") from None
    return value


Cron = Annotated[str, BeforeValidator(check_cron)]


def check_timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a timezone is an IANA name like 'UTC' or 'Europe/Paris'")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long for a file
        import difflib

        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown timezone '{value}'{hint}") from None
    return value


Timezone = Annotated[str, BeforeValidator(check_timezone)]


def check_project_path(value: Any, info: ValidationInfo) -> str:
    """Paths in specs are relative to the project root and may not leave it.

    The loader passes the project root (and whether outside paths are allowed) in the validation
    context; the stored value stays the relative POSIX path as written, so specs hash the same on
    every machine.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path relative to the project root")
    context = info.context or {}
    if context.get("allow_outside_root"):
        return value
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(
            f"path '{value}' is outside the project root; use a path inside the project "
            "(or set MLOPS_SPEC_ALLOW_PATHS_OUTSIDE_ROOT=true)"
        )
    return value


ProjectPath = Annotated[str, BeforeValidator(check_project_path)]

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
"""Lower-case slug used in run names, registered model names and deployment names."""

Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
"""A random seed as NumPy, scikit-learn and Optuna take it: 0 to 2**32 - 1."""

Column = Annotated[str, Field(min_length=1, max_length=200)]


_MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


def parse_moment(value: Any) -> datetime:
    """A date (midnight) or a date and time; without a zone it is UTC, as event times are."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):  # YAML reads an unquoted 2005-01-01 as a date
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and re.match(_MOMENT_PATTERN, value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"'{value}' is not a real date: {exc}") from None
    else:
        raise ValueError(
            f"expected a date like 2005-01-01 or a time like 2005-01-01T12:00:00Z, got {value!r}"
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Moment = Annotated[
    datetime,
    BeforeValidator(parse_moment),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MOMENT_PATTERN,
            "examples": ["2005-01-01", "2014-06-30T00:00:00Z"],
        }
    ),
]
"""A point in time written as an ISO date or date-time, compared with the event-time column."""
