"""The plan is what runs: the task runs a training run leaves in Prefect are the plan's steps,
in its order, each with the plan's retries; edit the plan and the run changes with it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_spec.loader import load_spec
from mlops_spec.plan import Plan, compile_plan
from mlops_spec.settings import Settings
from tests.e2e.conftest import BIN, ROOT, variant
from tests.support.run_with_edited_plan import EDITED_STEP, RETRIES, edit

pytestmark = pytest.mark.e2e

NOT_TASKS = {"approval"}  # a pause of the flow itself, not a task


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("plan-runs")
    yield folder
    subprocess.run([str(BIN / "mlops-spec"), "server", "stop"], cwd=ROOT, env=_env(folder))


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    return {**env, "MLOPS_SPEC_STATE_DIR": str(state), "MLOPS_SPEC_PREFECT_SERVER": "local"}


def _api(state: Path, path: str, body: dict[str, Any]) -> Any:
    record = json.loads((state / "prefect-server.json").read_text())
    request = urllib.request.Request(
        f"http://127.0.0.1:{record['port']}/api/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _task_runs(state: Path, stdout: str) -> list[dict[str, Any]]:
    match = re.search(r"prefect flow run ([0-9a-f-]{36})", stdout)
    assert match, stdout
    body = {"flow_runs": {"id": {"any_": [match.group(1)]}}, "sort": "EXPECTED_START_TIME_ASC"}
    runs: list[dict[str, Any]] = _api(state, "task_runs/filter", body)
    return sorted(runs, key=lambda run: run["start_time"] or "")


def _plan(spec: Path) -> Plan:
    return compile_plan(load_spec(spec, Settings(project_root=ROOT)))


def _check_runs_follow(plan: Plan, runs: list[dict[str, Any]]) -> None:
    expected = [step for step in plan.steps if step.name not in NOT_TASKS]
    names = [run["name"].rsplit("-", 1)[0] for run in runs]
    assert names == [step.name for step in expected]
    for step, run in zip(expected, runs, strict=True):
        assert run["empirical_policy"]["retries"] == step.retries, step.name
        assert run["state_type"] == "COMPLETED", (step.name, run["state_type"])


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plan-spec")
    return variant(folder, "penguins.yaml", "penguins.yaml", {"n_trials: 15": "n_trials: 2"})


def _run_ok(state: Path, *command: str) -> str:
    """Run a command against the state's project server; its stdout, once it exited 0."""
    result = subprocess.run(
        command, cwd=ROOT, env=_env(state), capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_task_runs_are_the_plans_steps_with_its_retries(
    state: Path, spec: Path, demo_data: Path
) -> None:
    stdout = _run_ok(state, str(BIN / "mlops-spec"), "run", "--no-progress", str(spec))
    _check_runs_follow(_plan(spec), _task_runs(state, stdout))


def test_an_edited_plan_changes_the_run(state: Path, spec: Path, demo_data: Path) -> None:
    script = ROOT / "tests" / "support" / "run_with_edited_plan.py"
    runs = _task_runs(state, _run_ok(state, sys.executable, str(script), str(spec)))
    _check_runs_follow(edit(_plan(spec)), runs)
    profile = next(run for run in runs if run["name"].startswith(EDITED_STEP))
    assert profile["empirical_policy"]["retries"] == RETRIES
    assert profile["run_count"] == 2  # failed once on the I/O error, then the retry succeeded
