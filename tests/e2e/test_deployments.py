"""Deployments from the specs, on a real local Prefect server with a process worker.

`mlops-spec deploy --apply` (prefect deploy --all) creates one training deployment per spec with
the spec's cron and time zone, its parameters, tags and work pool, and the drift trigger where
the spec retrains on drift; a drift event starts that deployment through Prefect's automation;
a worker runs a deployment end to end and a model version lands in MLflow.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_spec.events import DRIFT_EVENT, model_resource_id
from tests.e2e.conftest import BIN, ROOT, RunCli
from tests.support.automations import emit, wait_for_runs_started_for
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e


def _post(server: PrefectServer, path: str, body: dict[str, Any]) -> Any:
    return server.api("POST", path, body)


def _runs_of(server: PrefectServer, deployment_id: str) -> list[dict[str, Any]]:
    """Runs of a deployment other than the scheduler's (which fill the cron's future slots)."""
    runs: list[dict[str, Any]] = _post(
        server, "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}}}
    )
    return [run for run in runs if not run["auto_scheduled"]]


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer, demo_data: Path) -> dict[str, dict[str, Any]]:
    prefect_server.ensure_pool("local")
    result = subprocess.run(
        [str(BIN / "mlops-spec"), "deploy", "--apply"],
        cwd=ROOT,
        env={**os.environ, **prefect_server.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    deployments = _post(prefect_server, "/deployments/filter", {})
    return {d["name"]: d for d in deployments}


def test_prefect_deploy_all_creates_each_spec_deployment(
    deployed: dict[str, dict[str, Any]], prefect_server: PrefectServer
) -> None:
    import yaml

    from mlops_spec.loader import load_spec
    from mlops_spec.settings import Settings

    for spec_file in sorted((ROOT / "specs").glob("*.yaml")):
        spec = load_spec(spec_file, Settings(project_root=ROOT)).spec
        name = spec.metadata.name
        deployment = deployed[f"{name}-train"]
        assert spec.schedule is not None
        [schedule] = deployment["schedules"]
        assert schedule["schedule"]["cron"] == spec.schedule.cron
        assert schedule["schedule"]["timezone"] == spec.schedule.timezone
        assert schedule["active"] is True
        assert deployment["parameters"] == {"spec_path": f"specs/{spec_file.name}"}
        assert deployment["tags"] == ["mlops-spec", "training", name]
        assert deployment["work_pool_name"] == "local"
        assert deployment["entrypoint"] == "flows/train.py:train"
        if spec.monitoring is not None:
            monitor = deployed[f"{name}-monitor"]
            assert monitor["entrypoint"] == "flows/monitor.py:monitor"
            assert [s["schedule"]["cron"] for s in monitor["schedules"]] == [
                spec.monitoring.schedule
            ]
            assert monitor["parameters"] == {"spec_path": f"specs/{spec_file.name}"}
    committed = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    assert sorted(deployed) == sorted(d["name"] for d in committed)

    automations = _post(prefect_server, "/automations/filter", {})
    by_name = {a["name"]: a for a in automations}
    retrain = by_name["adult-income-retrain-on-drift"]
    assert retrain["trigger"]["expect"] == [DRIFT_EVENT]
    assert retrain["trigger"]["match"] == {"prefect.resource.id": model_resource_id("adult-income")}
    [action] = retrain["actions"]
    assert action["type"] == "run-deployment"
    assert action["deployment_id"] == deployed["adult-income-train"]["id"]
    assert action["parameters"] == {"spec_path": "specs/adult_income.yaml"}
    # a spec that only alerts on drift gets no automation
    assert not any("flight-delays" in name for name in by_name)


def test_drift_event_starts_the_training_deployment(
    deployed: dict[str, dict[str, Any]], prefect_server: PrefectServer
) -> None:
    deployment_id = deployed["adult-income-train"]["id"]
    before = {run["id"] for run in _runs_of(prefect_server, deployment_id)}
    emit(prefect_server, DRIFT_EVENT, model_resource_id("adult-income"))
    new = _wait_for(
        lambda: [r for r in _runs_of(prefect_server, deployment_id) if r["id"] not in before],
        60,
        "the automation to create a run of adult-income-train",
    )
    [run] = new
    assert run["parameters"] == {"spec_path": "specs/adult_income.yaml"}
    assert run["created_by"]["type"] == "AUTOMATION", run["created_by"]
    # no worker polls yet: remove the run so the worker of the next test does not take it
    prefect_server.api("DELETE", f"/flow_runs/{run['id']}")
    # an unrelated model's drift starts nothing: once the automation has answered a later
    # drift of adult-income (see tests/support/automations.py), that answer is the only new run
    before = {run["id"] for run in _runs_of(prefect_server, deployment_id)}
    emit(prefect_server, DRIFT_EVENT, model_resource_id("penguin-species"))
    sentinel = emit(prefect_server, DRIFT_EVENT, model_resource_id("adult-income"))
    [answer] = wait_for_runs_started_for(prefect_server, sentinel, 60)
    assert {run["id"] for run in _runs_of(prefect_server, deployment_id)} == before | {answer}
    prefect_server.api("DELETE", f"/flow_runs/{answer}")


def test_worker_runs_a_deployment_end_to_end(
    deployed: dict[str, dict[str, Any]],
    prefect_server: PrefectServer,
    state_dir: Path,
    cli: RunCli,
) -> None:
    deployment_id = deployed["penguin-species-train"]["id"]
    worker_env = {"MLOPS_SPEC_STATE_DIR": str(state_dir)}
    with prefect_server.worker("local", env=worker_env, log=state_dir / "worker.log"):
        run = _post(prefect_server, f"/deployments/{deployment_id}/create_flow_run", {})
        final = _wait_for(
            lambda: (
                state
                if (state := prefect_server.api("GET", f"/flow_runs/{run['id']}")["state"])["type"]
                in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
                else None
            ),
            600,
            "the worker to finish the penguins training run",
        )
    log = (state_dir / "worker.log").read_text()
    assert final["type"] == "COMPLETED", final.get("message", "") + log[-3000:]
    audit = cli("audit", "penguin-species", "1")
    assert audit.returncode == 0, audit.stderr
    assert f"prefect.flow_run_id: {run['id']}" in audit.stdout
    assert "mlops_spec.spec_path: specs/penguins.yaml" in audit.stdout
