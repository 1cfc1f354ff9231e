"""A worker killed mid-run: Prefect marks the run Crashed, and a re-run completes.

The worker and the flow process it started are killed with SIGKILL while the run tunes, so
neither reports anything. The flow run's heartbeats stop; the crash-detection automation that
`mlops-spec deploy --apply` creates changes the run to Crashed. A new worker then runs the
deployment again to Completed, resuming the study, and registers the only model version.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlops_spec.events import CRASH_DETECTION
from tests.e2e.conftest import BIN, ROOT, variant
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e


def _state(server: PrefectServer, run_id: str) -> dict[str, Any]:
    state: dict[str, Any] = server.api("GET", f"/flow_runs/{run_id}")["state"]
    return state


def _wait(server: PrefectServer, run_id: str, types: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _state(server, run_id)
        if state["type"] in types:
            return state
        time.sleep(1)
    raise AssertionError(f"run {run_id} not in {types} after {timeout:.0f}s: {state}")


def test_killed_worker_run_is_crashed_and_a_rerun_completes(
    prefect_server: PrefectServer, demo_data: Path, tmp_path: Path
) -> None:
    prefect_server.ensure_pool("local")
    deploy = subprocess.run(
        [str(BIN / "mlops-spec"), "deploy", "--apply"],
        cwd=ROOT,
        env={**os.environ, **prefect_server.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]
    automations = prefect_server.api("POST", "/automations/filter", {})
    assert [a["name"] for a in automations].count(CRASH_DETECTION) == 1
    deployment = prefect_server.api(
        "GET", "/deployments/name/mlops-spec-train/penguin-species-train"
    )
    # A longer study than the demo's, so the kill lands mid-tuning.
    spec = variant(
        tmp_path, "penguins.yaml", "penguins_long.yaml", {"n_trials: 15": "n_trials: 120"}
    )
    state_dir = tmp_path / "state"
    worker_env = {"MLOPS_SPEC_STATE_DIR": str(state_dir)}
    body = {"parameters": {"spec_path": str(spec)}}

    with prefect_server.worker("local", env=worker_env, log=tmp_path / "worker1.log") as worker:
        run = prefect_server.api("POST", f"/deployments/{deployment['id']}/create_flow_run", body)
        _wait(prefect_server, run["id"], {"RUNNING"}, 300)
        journal = state_dir / "optuna.journal"
        deadline = time.monotonic() + 300
        while not (journal.exists() and b'"state":1' in journal.read_bytes()):
            assert time.monotonic() < deadline, "tuning never started"
            time.sleep(0.5)
        flow_process = prefect_server.api("GET", f"/flow_runs/{run['id']}")["infrastructure_pid"]
        os.killpg(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(str(flow_process).rpartition(":")[2]), signal.SIGKILL)
        killed_at = time.monotonic()
        assert _state(prefect_server, run["id"])["type"] == "RUNNING"  # nobody reported

        crashed = _wait(prefect_server, run["id"], {"CRASHED", "COMPLETED", "FAILED"}, 300)
        assert crashed["type"] == "CRASHED", crashed
        assert "no heartbeat" in crashed["message"]
        print(f"marked Crashed {time.monotonic() - killed_at:.0f}s after the kill")

    registry_uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    registry = MlflowClient(tracking_uri=registry_uri, registry_uri=registry_uri)
    assert registry.search_model_versions("name='penguin-species'") == []

    with prefect_server.worker("local", env=worker_env, log=tmp_path / "worker2.log"):
        rerun = prefect_server.api("POST", f"/deployments/{deployment['id']}/create_flow_run", body)
        final = _wait(prefect_server, rerun["id"], {"COMPLETED", "FAILED", "CRASHED"}, 900)
    assert final["type"] == "COMPLETED", (tmp_path / "worker2.log").read_text()[-3000:]
    versions = registry.search_model_versions("name='penguin-species'")
    assert [str(v.version) for v in versions] == ["1"]
    assert versions[0].tags["prefect.flow_run_id"] == rerun["id"]
