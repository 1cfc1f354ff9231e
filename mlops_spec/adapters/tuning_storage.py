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

import os
import socket
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from mlops_spec.errors import StepError
from mlops_spec.secrets import redact_url

JOURNAL_PREFIX = "journal:"
__all__ = ["JOURNAL_PREFIX", "fail_orphaned_trials", "mark_owner", "open_storage", "redact_url"]
OWNER_ATTR = "owner"
ERROR_ATTR = "error"
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
        return JournalStorage(JournalFileBackend(str(path)))
    return RDBStorage(storage_url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)


def mark_owner(trial: optuna.Trial) -> None:
    """Record which process runs ``trial``, so a later run can tell it was orphaned."""
    trial.set_user_attr(OWNER_ATTR, f"{socket.gethostname()}:{os.getpid()}")


def fail_orphaned_trials(study: optuna.Study, storage: BaseStorage) -> list[int]:
    """Mark FAIL the RUNNING trials whose owner process on this host is gone; the numbers of
    the trials failed. Storages with heartbeats are left to Optuna."""
    if isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None:
        return []
    host = socket.gethostname()
    orphaned: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner_host, _, pid = str(trial.user_attrs.get(OWNER_ATTR, "")).rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        storage.set_trial_user_attr(
            trial._trial_id,
            ERROR_ATTR,
            f"orphaned: process {pid} on {host} died while running this trial",
        )
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        orphaned.append(trial.number)
    return orphaned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
