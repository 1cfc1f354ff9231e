"""Approval of a promotion: the training run pauses on a real Prefect server with a typed form.

A reviewer answers through Prefect's resume API (the endpoint the UI's form posts to): invalid
input is refused by the form's model, approve moves `champion`, reject keeps `challenger`, no
answer in time keeps `challenger`; every decision and reviewer lands in MLflow and the audit.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BIN, ROOT, RunCli, variant
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e

APPROVAL = "  policy: policies/default.yaml\n"


def _spec(tmp_path: Path, name: str, timeout: str) -> Path:
    return variant(
        tmp_path,
        "penguins.yaml",
        name,
        {
            "n_trials: 15": "n_trials: 3",
            # a range where every trial is a good model: the gates pass, so the run pauses
            "C: {float: [0.001, 100.0], log: true}": "C: {float: [1.0, 100.0], log: true}",
            APPROVAL: APPROVAL
            + f"  promotion: {{alias: champion, approval: required, approval_timeout: {timeout}}}\n",
        },
    )


@pytest.fixture(scope="module")
def server_cli(prefect_server: PrefectServer, state_dir: Path, demo_data: Path) -> Iterator[Any]:
    """Start `mlops-spec run` in the background against the server; returns the process."""
    processes: list[subprocess.Popen[str]] = []

    def start(spec: Path) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            **prefect_server.env,
            "MLOPS_SPEC_STATE_DIR": str(state_dir),
        }
        process = subprocess.Popen(
            [str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()


def _paused_run(server: PrefectServer, process: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = server.paused_runs()
        if runs:
            [run] = runs
            return dict(run)
        time.sleep(1)
    raise AssertionError("the training run never paused for approval")


def _resume(server: PrefectServer, run_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
    return dict(server.api("POST", f"/flow_runs/{run_id}/resume", {"run_input": run_input}))


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _artifacts(server: PrefectServer, run_id: str) -> dict[str, str]:
    found = server.api(
        "POST", "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )
    return {a["key"]: a["data"] for a in found if a.get("key")}


def test_approve_then_reject(
    server_cli: Any, prefect_server: PrefectServer, cli: RunCli, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, "penguins_approval.yaml", "10m")
    process = server_cli(spec)
    run = _paused_run(prefect_server, process)
    summary = _artifacts(prefect_server, run["id"])["penguin-species-approval-request"]
    assert "penguin-species v1: awaiting approval" in summary
    assert "| accuracy |" in summary and "## Gates" in summary

    # the form's model refuses what is not a decision by a named reviewer
    for bad in (
        {"decision": "maybe", "reviewer": "ada@example.com"},
        {"decision": "approve", "reviewer": "   "},
        {"decision": "approve"},
    ):
        answer = _resume(prefect_server, run["id"], bad)
        assert answer["status"] == "REJECT", (bad, answer)
    answer = _resume(
        prefect_server,
        run["id"],
        {"decision": "approve", "reviewer": "ada@example.com", "comment": "metrics look right"},
    )
    assert answer["status"] == "ACCEPT", answer
    code, out, err = _finish(process)
    assert code == 0, err[-3000:]
    assert "penguin-species v1: promoted" in out

    audit = cli("audit", "penguin-species", "@champion")
    assert audit.returncode == 0, audit.stderr
    assert "penguin-species version 1 (aliases: champion)" in audit.stdout  # challenger dropped
    assert "approval.decision: approve" in audit.stdout
    assert "approval.reviewer: ada@example.com" in audit.stdout
    assert "approval.comment: metrics look right" in audit.stdout
    assert "actor=reviewer ada@example.com" in audit.stdout

    # a second version, rejected: the champion stays where it is
    process = server_cli(spec)
    run = _paused_run(prefect_server, process)
    answer = _resume(
        prefect_server,
        run["id"],
        {"decision": "reject", "reviewer": "grace@example.com", "comment": "not this week"},
    )
    assert answer["status"] == "ACCEPT", answer
    code, out, err = _finish(process)
    assert code == 0, err[-3000:]
    assert "penguin-species v2: challenger (rejected by grace@example.com)" in out
    audit = cli("audit", "penguin-species", "2")
    assert "approval.decision: reject" in audit.stdout
    assert "approval.reviewer: grace@example.com" in audit.stdout
    assert "governance.status: rejected" in audit.stdout
    assert "penguin-species version 2 (aliases: challenger)" in audit.stdout
    v1 = cli("audit", "penguin-species", "1").stdout
    assert v1.startswith("penguin-species version 1 (aliases: champion)")


def test_no_answer_in_time_keeps_challenger(
    server_cli: Any, prefect_server: PrefectServer, cli: RunCli, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, "penguins_approval_timeout.yaml", "4s")
    process = server_cli(spec)
    code, out, err = _finish(process)
    assert code == 0, err[-3000:]
    assert "challenger (approval-timeout)" in out
    version = out.split(" v", 1)[1].split(":", 1)[0]
    audit = cli("audit", "penguin-species", version)
    assert "approval.decision: timeout" in audit.stdout
    assert "governance.status: approval-timeout" in audit.stdout
    champion = cli("audit", "penguin-species", "@champion").stdout
    assert champion.startswith("penguin-species version 1 ")
