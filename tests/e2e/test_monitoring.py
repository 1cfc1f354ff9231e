"""Monitoring end to end on a real Prefect server: drift on real data starts retraining.

The Adult champion is trained (2 trials), the deployments are applied, then the monitor runs
on two real batches: rows drawn from the training distribution (no drift, nothing starts) and
graduates only (a documented shift of a real column: drift, a `mlops-spec.drift.detected`
event, and Prefect's automation starts the training deployment, which a worker runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_spec.events import DRIFT_EVENT, model_resource_id
from tests.e2e.conftest import BIN, ROOT, variant
from tests.support.automations import emit, wait_for_runs_started_for
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e

BATCHES = ".mlops/data/adult/batches"


def _cli(server: PrefectServer, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlops-spec"), *args],
        cwd=ROOT,
        env={**os.environ, **server.env, "MLOPS_SPEC_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def _train_runs(server: PrefectServer) -> list[dict[str, Any]]:
    deployments = server.api(
        "POST", "/deployments/filter", {"deployments": {"name": {"any_": ["adult-income-train"]}}}
    )
    [deployment] = deployments
    runs = server.api(
        "POST", "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}}
    )
    return [r for r in runs if not r["auto_scheduled"]]


def test_drift_on_a_shifted_batch_retrains_through_an_automation(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory, demo_data: Path
) -> None:
    state = tmp_path_factory.mktemp("monitoring")
    spec = variant(state, "adult_income.yaml", "adult_small.yaml", {"n_trials: 20": "n_trials: 2"})
    trained = _cli(prefect_server, state, "run", "--no-progress", str(spec))
    assert trained.returncode == 0, trained.stderr[-3000:]
    # the demo spec keeps its champion only when fairness holds; promote v1 for monitoring
    promoted = subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "from mlops_spec.adapters import mlflow_registry as r; from mlops_spec.settings "
            "import Settings; s = Settings(); r.configure(s.tracking_uri, s.artifact_root); "
            "r.promote('adult-income', 'champion', 1, actor='test', reason='monitoring test')",
        ],
        cwd=ROOT,
        env={**os.environ, "MLOPS_SPEC_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert promoted.returncode == 0, promoted.stderr[-2000:]
    prefect_server.ensure_pool("local")
    applied = _cli(prefect_server, state, "deploy", "--apply")
    assert applied.returncode == 0, applied.stderr[-3000:]
    before = {r["id"] for r in _train_runs(prefect_server)}

    quiet = _cli(prefect_server, state, "monitor", str(spec), "--batch", f"{BATCHES}/*in_dist*")
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "adult-income: no drift" in quiet.stdout
    assert "emitted" not in quiet.stdout
    by_version = _cli(
        prefect_server, state, "monitor", str(spec), "--batch", f"{BATCHES}/*in_dist*",
        "--version", "1",
    )  # fmt: skip
    assert by_version.returncode == 0, by_version.stderr[-3000:]
    assert "adult-income: no drift" in by_version.stdout and "v1" in by_version.stdout

    loud = _cli(prefect_server, state, "monitor", str(spec))  # the spec's glob: the newest batch
    assert loud.returncode == 0, loud.stderr[-3000:]
    assert "2020-02-02_graduates.parquet" in loud.stdout
    assert "education_num: psi=" in loud.stdout and "DRIFT" in loud.stdout
    assert "emitted mlops-spec.drift.detected" in loud.stdout
    run_id = loud.stdout.split("mlflow run ", 1)[1].split(")", 1)[0]
    drift = json.loads(
        (next((state / "mlartifacts").rglob(f"{run_id}/artifacts/reports/drift.json"))).read_text()
    )
    drifted = {f["feature"] for f in drift["features"] if f["drifted"]}
    assert "education_num" in drifted and "capital_gain" not in drifted

    deadline = time.monotonic() + 60
    new: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not new:
        new = [r for r in _train_runs(prefect_server) if r["id"] not in before]
        time.sleep(1)
    assert len(new) == 1, "the drift event did not start exactly one retraining run"
    [retrain] = new
    assert retrain["created_by"]["type"] == "AUTOMATION"
    with prefect_server.worker("local", env={"MLOPS_SPEC_STATE_DIR": str(state)}):
        deadline = time.monotonic() + 600
        state_type = ""
        while time.monotonic() < deadline:
            run = prefect_server.api("GET", f"/flow_runs/{retrain['id']}")
            state_type = run["state"]["type"]
            if state_type in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(2)
    assert state_type == "COMPLETED", state_type
    audit = _cli(prefect_server, state, "audit", "adult-income", "2")
    assert f"prefect.flow_run_id: {retrain['id']}" in audit.stdout

    # `on_drift: alert` records and emits an alert, and starts nothing
    alert_spec = variant(
        state, "adult_income.yaml", "adult_alert.yaml", {"on_drift: retrain": "on_drift: alert"}
    )
    before = {r["id"] for r in _train_runs(prefect_server)}
    alerted = _cli(prefect_server, state, "monitor", str(alert_spec))
    assert alerted.returncode == 0, alerted.stderr[-3000:]
    assert "emitted mlops-spec.drift.alert" in alerted.stdout
    # once the automation has answered a later drift event (see tests/support/automations.py),
    # that answer is the only new training run
    sentinel = emit(prefect_server, DRIFT_EVENT, model_resource_id("adult-income"))
    [answer] = wait_for_runs_started_for(prefect_server, sentinel, 60)
    assert {r["id"] for r in _train_runs(prefect_server)} == before | {answer}
    prefect_server.api("DELETE", f"/flow_runs/{answer}")  # no worker of a later test takes it
