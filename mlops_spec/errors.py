"""The exception tree of mlops-spec.

Every failure a user can cause or meet is one of these, so the CLI can print one clean line
(or one line per spec issue) and exit non-zero instead of showing a traceback::

    MlopsSpecError
    ├── SpecError              the spec (or a policy it extends) is invalid; carries SpecIssues
    ├── SettingsError          an ``MLOPS_SPEC_*`` setting (environment or .env) is malformed
    ├── RunStopped             a run ended by a rule the spec declares: an outcome, not a crash
    │   └── ConstraintsFailed  data constraints failed before training
    ├── NothingToMonitor       no champion or no batch yet: a monitor run is skipped, not failed
    ├── StepError              a step could not do its work (I/O, missing data, a library error)
    │   ├── DataSourceError    a data file is missing, unreadable or has the wrong columns
    │   ├── FeatureJoinError   feature retrieval lost or added rows
    │   ├── RegistryError      MLflow could not record or find what it should
    │   │   └── PromotionConflict  the alias moved after the gates judged against it
    │   ├── OnlineStoreUnavailable  the Feast online store could not be read
    │   └── StateUnwritable    the state folder is read-only or its disk is full
    ├── ProjectError           `init --project` or `features add` cannot write what was asked
    │                          (defined in ``mlops_spec.project``)
    └── UnservableEntityKey    a served entity key no store could hold (also a ValueError)

Failed gates are not an error: the version is registered as challenger with its verdict, and
``run`` exits 0 (the outcome says why it was not promoted).

An ``OSError`` for a full, read-only or forbidden disk that a library raises on its own is
turned into one line by ``disk_problem``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one spec file, located precisely enough for an editor to jump to it."""

    file: str
    line: int
    col: int
    key_path: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        """One line, always: control characters from the input (a key named "\\n") are
        escaped, so every line of the CLI's output starts with a location."""
        location = f"{self.file}:{self.line}:{self.col}"
        key = self.key_path or "<document>"
        text = f"{location}: {key}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class MlopsSpecError(Exception):
    """Base of every error this package raises on purpose."""


class SpecError(MlopsSpecError):
    """A spec could not be loaded; `issues` lists every problem found, not only the first."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(issue.render() for issue in issues))


class SettingsError(MlopsSpecError):
    """A setting from the environment or ``.env`` has a value Settings cannot take."""


class RunStopped(MlopsSpecError):
    """A run stopped because a declared rule said so; the CLI exits 2, not 1."""


class ConstraintsFailed(RunStopped):
    """Data constraints failed; training never started."""


class NothingToMonitor(MlopsSpecError):
    """A monitor run has no work yet (no champion, or no batch file): the flow ends Completed
    in a state named Skipped with this message, and the CLI prints it and exits 0."""


class StepError(MlopsSpecError):
    """A step could not complete its work."""


class DataSourceError(StepError):
    """A data file is missing, unreadable, or lacks the columns the spec names."""


class FeatureJoinError(StepError):
    """Point-in-time retrieval changed the row count (Feast owes one row per entity row)."""


class RegistryError(StepError):
    """The model registry could not record or find what the run needs."""


class PromotionConflict(RegistryError):
    """The alias moved after the gates compared against it, so this move was refused."""

    def __init__(self, message: str, *, current: int | None) -> None:
        super().__init__(message)
        self.current = current


class OnlineStoreUnavailable(StepError):
    """The Feast online store could not be read (down, missing, corrupt)."""


class StateUnwritable(StepError):
    """The state folder (or a file in it) cannot be written: read-only, or its disk is full."""


class UnservableEntityKey(MlopsSpecError, ValueError):
    """An entity key no online store could hold (an integer beyond int64, say): bad input, a
    422 for the caller, never counted as a store outage."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        super().__init__(f"entities.{key}: {value!r} cannot be an entity key ({reason})")
        self.key = key


_DISK_ERRNOS = {
    errno.ENOSPC: "free space on that disk, or point MLOPS_SPEC_STATE_DIR at a larger one",
    errno.EDQUOT: "free space within your quota, or point MLOPS_SPEC_STATE_DIR elsewhere",
    errno.EROFS: "make it writable, or point MLOPS_SPEC_STATE_DIR at a writable folder",
    errno.EACCES: "make it writable for this user, or point MLOPS_SPEC_STATE_DIR elsewhere",
}


def disk_problem(exc: BaseException) -> str | None:
    """One line for a full, read-only or forbidden disk anywhere in ``exc``'s chain (libraries
    wrap the ``OSError``), naming the file; ``None`` when the failure is something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_ERRNOS:
            where = f" {current.filename}" if current.filename else ""
            return f"cannot write{where}: {current.strerror} ({_DISK_ERRNOS[current.errno]})"
        current = current.__cause__ or current.__context__
    return None
