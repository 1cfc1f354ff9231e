"""Where Optuna studies live, and what happens to trials whose process died.

A run killed with SIGKILL (or a worker lost with its machine) leaves its trials RUNNING for
ever. Optuna's own answer is heartbeats: database servers (PostgreSQL, MySQL) are opened with
``heartbeat_interval`` and ``grace_period``, and Optuna fails stale trials itself when a study
resumes, wherever the dead worker ran. Optuna has no heartbeats for the journal file (the
embedded default), and on SQLite the heartbeat thread's writes contend with parallel trials for
the one database lock; there each trial records its owner (host and pid) and a resuming run on
the same host fails the trials whose owner process is gone. Trials of live processes (a second
worker sharing the study) are left alone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import optuna
from optuna.exceptions import StorageInternalError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState
from sqlalchemy.exc import IntegrityError, ProgrammingError

from mlops_spec.errors import StepError
from mlops_spec.processes import pid_alive
from mlops_spec.secrets import redact_url

JOURNAL_PREFIX = "journal:"
__all__ = [
    "JOURNAL_PREFIX",
    "check_journal",
    "fail_orphaned_trials",
    "mark_owner",
    "open_storage",
    "redact_url",
]
OWNER_ATTR = "owner"
ERROR_ATTR = "error"
# Optuna records a trial's start in local time, without a zone.
UNMARKED_GRACE = timedelta(seconds=10)
# RDB heartbeats: a trial silent for GRACE_SECONDS belongs to a dead worker.
HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120


def open_storage(storage_url: str) -> BaseStorage:
    """``journal:<path>`` is a journal file (created with its folder); anything else is an RDB
    URL for Optuna (``sqlite:///...``, ``postgresql://...``), opened with heartbeats."""
    if storage_url.startswith(JOURNAL_PREFIX):
        raw = storage_url.removeprefix(JOURNAL_PREFIX)
        if not raw:
            raise StepError("a journal storage URL needs a path: journal:<path>")
        path = Path(raw).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = JournalFileSymlinkLock(str(path))
        check_journal(path, lock)
        return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))
    return _open_database(storage_url)


# How often a process that lost the race to create a fresh database's schema opens it again.
_SCHEMA_RACE_ATTEMPTS = 5


def _open_database(storage_url: str) -> RDBStorage:
    """Optuna creates its tables on first use (``create_all``, then a version row). Two
    workers opening a fresh PostgreSQL database at the same moment race there: the loser's
    ``CREATE TYPE`` for an enum fails with a unique violation in PostgreSQL's catalog, or its
    ``CREATE TABLE`` with "already exists". By then the winner has made the schema, so
    opening again finds it and goes on; a real error fails every attempt and is raised."""
    attempt = 1
    while True:
        try:
            return RDBStorage(
                storage_url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
            )
        except (IntegrityError, ProgrammingError, StorageInternalError):
            if attempt == _SCHEMA_RACE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
            attempt += 1


def check_journal(path: Path, lock: JournalFileSymlinkLock) -> None:
    """Refuse a journal with a broken record, naming the file and the line.

    Optuna skips an incomplete *last* record (a writer may be mid-append), but once anything is
    appended after it, every read of the study fails, deep inside tuning. A record cut short by
    a crash or a full disk is found here first, under the writers' own lock so a concurrent
    append is never mistaken for damage.
    """
    if not path.exists():
        return
    lock.acquire()
    try:
        with path.open("rb") as journal:
            for number, line in enumerate(journal, start=1):
                try:
                    json.loads(line)
                    complete = line.endswith(b"\n")
                except ValueError:
                    complete = False
                if not complete:
                    raise StepError(_broken_journal(path, number))
    finally:
        lock.release()


def _broken_journal(path: Path, number: int) -> str:
    return (
        f"Optuna journal {path} is damaged at line {number} (a record cut short or garbled): "
        f"keep the trials before it with `sed -i '{number},$d' {path}`, or move the file aside "
        "to start the studies afresh"
    )


def _orphaned_because(trial: optuna.trial.FrozenTrial, host: str) -> str | None:
    """Why a RUNNING trial can have no live owner, or ``None`` when it may have one."""
    owner = trial.user_attrs.get(OWNER_ATTR)
    if owner is None:
        started = trial.datetime_start
        if started is not None and datetime.now() - started > UNMARKED_GRACE:
            return "its process died while running this trial, before marking it as its own"
        return None
    owner_host, _, pid = str(owner).rpartition(":")
    if owner_host != host or not pid.isdigit() or pid_alive(int(pid)):
        return None
    return f"process {pid} on {host} died while running this trial"


def mark_owner(trial: optuna.Trial) -> None:
    """Record which process runs ``trial``, so a later run can tell it was orphaned."""
    trial.set_user_attr(OWNER_ATTR, f"{socket.gethostname()}:{os.getpid()}")


def fail_orphaned_trials(study: optuna.Study, storage: BaseStorage) -> list[int]:
    """Mark FAIL the RUNNING trials whose owner process on this host is gone; the numbers of
    the trials failed. Storages with heartbeats are left to Optuna.

    A trial is created in storage a moment before its objective marks the owner, so a process
    killed in between leaves a RUNNING trial with no owner at all. A live process marks its
    trial within milliseconds, so an unmarked one older than ``UNMARKED_GRACE`` is orphaned
    too."""
    if isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None:
        return []
    host = socket.gethostname()
    orphaned: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = _orphaned_because(trial, host)
        if why is None:
            continue
        storage.set_trial_user_attr(trial._trial_id, ERROR_ATTR, f"orphaned: {why}")
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        orphaned.append(trial.number)
    return orphaned

    return True
