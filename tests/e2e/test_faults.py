"""Faults injected into real runs, and what survives them.

* SIGKILL in the middle of tuning: nothing registered, no alias moved, and the next run
  resumes the study (the dead run's trials are failed, its finished ones kept).
* The MLflow tracking server stops mid-run: MLflow's client retries, then the run fails with
  one line naming the backend, no traceback, and nothing registered.
* The embedded SQLite backend is locked by another writer for good, or removed, mid-run:
  SQLite's busy wait, then one line with the cause and what to do, and nothing registered.
A flow run whose worker dies is in test_worker_crash.py (it needs a Prefect server).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.e2e.conftest import BIN, ROOT, variant
from tests.support.mlflow_server import start_mlflow_server
from tests.support.prefect_server import stop_process_group

pytestmark = pytest.mark.e2e

MODEL = "penguin-species"


def _env(state: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MLOPS_SPEC_STATE_DIR": str(state),
        "PREFECT_HOME": str(state / "prefect"),
        **extra,
    }


def _start_run(spec: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _complete_trials(state: Path) -> tuple[str | None, list[optuna.trial.FrozenTrial]]:
    """The study of the run in ``state`` and its trials, once the journal exists."""
    journal = state / "optuna.journal"
    if not journal.exists():
        return None, []
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    names = optuna.get_all_study_names(storage)
    if not names:
        return None, []
    study = optuna.load_study(study_name=names[0], storage=storage)
    return names[0], study.get_trials(deepcopy=False)


def _wait_for_trials(state: Path, process: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 300
    while True:
        _, trials = _complete_trials(state)
        if sum(t.state == TrialState.COMPLETE for t in trials) >= at_least:
            return
        assert process.poll() is None, "the run ended before tuning got going"
        assert time.monotonic() < deadline, "tuning never started"
        time.sleep(0.05)


def _registry(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def test_sigkill_during_tuning_then_rerun(demo_data: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    spec = variant(
        tmp_path, "penguins.yaml", "penguins_long.yaml", {"n_trials: 15": "n_trials: 60"}
    )
    env = _env(state)
    killed = _start_run(spec, env, tmp_path / "killed.log")
    _wait_for_trials(state, killed, at_least=3)
    os.killpg(killed.pid, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL

    study_name, trials = _complete_trials(state)
    done_before = [t.number for t in trials if t.state == TrialState.COMPLETE]
    assert 3 <= len(done_before) < 60
    registry = _registry(f"sqlite:///{state / 'mlflow.db'}")
    assert registry.search_model_versions(f"name='{MODEL}'") == []

    rerun = subprocess.run(
        [str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{MODEL} v1: promoted" in rerun.stdout

    again_name, after = _complete_trials(state)
    assert again_name == study_name  # the same study, resumed
    states = {t.number: t.state for t in after}
    assert all(states[n] == TrialState.COMPLETE for n in done_before)  # kept, not re-run
    assert TrialState.RUNNING not in states.values()
    orphans = [t for t in after if t.state == TrialState.FAIL]
    assert all("died while running this trial" in t.user_attrs["error"] for t in orphans)
    finished = sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states.values())
    assert finished == 60
    versions = registry.search_model_versions(f"name='{MODEL}'")
    assert [str(v.version) for v in versions] == ["1"]
    lineage = versions[0].tags
    assert lineage["mlops_spec.spec_name"] == MODEL and lineage["optuna.study"] == study_name
    assert str(registry.get_model_version_by_alias(MODEL, "champion").version) == "1"


def test_mlflow_server_stopping_mid_run_fails_cleanly(demo_data: Path, tmp_path: Path) -> None:
    server = start_mlflow_server(tmp_path / "server")
    url, db = server.url, server.db
    state = tmp_path / "state"
    spec = variant(
        tmp_path, "penguins.yaml", "penguins_long.yaml", {"n_trials: 15": "n_trials: 60"}
    )
    log = tmp_path / "run.log"
    try:
        run = _start_run(spec, _env(state, MLOPS_SPEC_MLFLOW_TRACKING_URI=url), log)
        _wait_for_trials(state, run, at_least=2)  # the MLflow run exists by now
    finally:
        stop_process_group(server.process)
    started = time.monotonic()
    assert run.wait(timeout=600) == 1
    retried_for = time.monotonic() - started
    output = log.read_text()
    assert "Traceback" not in output, output[-4000:]
    error_lines = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, output[-4000:]
    assert "MLflow could not" in error_lines[0] and url in error_lines[0]
    assert "Retrying" in output  # MLflow's client retried before giving up
    assert retried_for < 300
    registry = _registry(f"sqlite:///{db}")
    assert registry.search_registered_models() == []


@pytest.mark.parametrize("fault", ["locked", "removed"])
def test_sqlite_backend_locked_or_removed_mid_run(
    fault: str, demo_data: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    spec = variant(
        tmp_path, "penguins.yaml", "penguins_long.yaml", {"n_trials: 15": "n_trials: 40"}
    )
    log = tmp_path / "run.log"
    db = state / "mlflow.db"
    run = _start_run(spec, _env(state), log)
    holder: sqlite3.Connection | None = None
    try:
        _wait_for_trials(state, run, at_least=2)  # the MLflow run exists by now
        if fault == "locked":
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
        else:
            db.unlink()
        assert run.wait(timeout=600) == 1
    finally:
        if run.poll() is None:
            stop_process_group(run)
        if holder is not None:
            holder.execute("COMMIT")
            holder.close()
    output = log.read_text()
    assert "Traceback" not in output, output[-4000:]
    error_lines = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, output[-4000:]
    error = error_lines[0]
    assert "MLflow could not" in error and "[SQL:" not in error, error
    if fault == "locked":
        assert "database is locked" in error and f"writing to the SQLite database {db}" in error
        registry = _registry(f"sqlite:///{db}")
        assert registry.search_registered_models() == []
        assert registry.search_model_versions(f"name='{MODEL}'") == []
    else:
        assert f"SQLite database {db} was removed, replaced or made read-only" in error
        assert not db.exists()  # nothing wrote a fresh, half-filled database in its place
