"""The project-local Prefect server: started by the first command that needs Prefect, reused by
the next, visible through its API (and so its UI), replaced when stale, and stopped cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BIN, ROOT, variant

pytestmark = pytest.mark.e2e

STARTED = "started the project's Prefect server"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "state"
    yield folder
    _cli(folder, "server", "stop")  # whatever a test left running
    record = folder / "prefect-server.json"
    assert not record.exists()


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    return {**env, "MLOPS_SPEC_STATE_DIR": str(state), "MLOPS_SPEC_PREFECT_SERVER": "local"}


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlops-spec"), *args],
        cwd=ROOT,
        env=_env(state),
        capture_output=True,
        text=True,
        timeout=900,
    )


def _record(state: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((state / "prefect-server.json").read_text())
    return loaded


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _flow_runs(port: int) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/flow_runs/filter",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        runs: list[dict[str, Any]] = json.loads(response.read())
    return runs


def _wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until ``process`` answers HTTP on ``port``: before that, the record would point at a
    closed port and the test would exercise the dead-server path instead of the impostor's."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return
        except OSError:
            assert process.poll() is None, f"the impostor could not serve on port {port}"
            assert time.monotonic() < deadline, f"nothing answered on port {port}"
            time.sleep(0.1)


def test_two_runs_share_one_server_and_both_are_in_its_api(
    state: Path, tmp_path: Path, demo_data: Path
) -> None:
    spec = variant(tmp_path, "penguins.yaml", "penguins.yaml", {"n_trials: 15": "n_trials: 2"})
    first = _cli(state, "run", "--no-progress", str(spec))
    assert first.returncode == 0, first.stderr[-3000:]
    assert STARTED in first.stderr
    server = _record(state)

    second = _cli(state, "run", "--no-progress", str(spec))
    assert second.returncode == 0, second.stderr[-3000:]
    assert STARTED not in second.stderr
    assert "Starting temporary server" not in second.stderr + second.stdout
    assert _record(state) == server  # the same process answered both

    runs = [r for r in _flow_runs(server["port"]) if r["name"].startswith("penguin-species-")]
    assert len(runs) == 2 and {r["state_type"] for r in runs} == {"COMPLETED"}
    ui = _cli(state, "server", "ui")
    assert ui.stdout.strip() == f"http://127.0.0.1:{server['port']}/runs"

    stopped = _cli(state, "server", "stop")
    assert stopped.returncode == 0 and f"pid {server['pid']}" in stopped.stdout
    assert not _group_alive(server["pid"])  # the server and every child of it
    status = _cli(state, "server", "status")
    assert status.returncode == 0 and "not running" in status.stdout


def test_concurrent_starts_get_one_server_and_stale_records_are_replaced(state: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _cli(state, "server", "start"), range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert sorted(r.stdout.split(":")[0] for r in results) == ["running", "started"]
    first = _record(state)

    # a dead process: replaced by a new server
    os.killpg(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while _group_alive(first["pid"]):
        assert time.monotonic() < deadline, "the killed server's processes never went away"
        time.sleep(0.1)
    assert "not running" in _cli(state, "server", "status").stdout
    restarted = _cli(state, "server", "start")
    assert restarted.returncode == 0 and restarted.stdout.startswith("started")
    second = _record(state)
    assert second["pid"] != first["pid"]

    # its port now answered by something that is not a Prefect API: replaced too
    impostor = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(first["port"])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (state / "prefect-server.json").write_text(
            json.dumps({**second, "pid": impostor.pid, "port": first["port"]})
        )
        _wait_until_answering(first["port"], impostor)
        replaced = _cli(state, "server", "start")
        assert replaced.returncode == 0 and replaced.stdout.startswith("started")
        assert _record(state)["port"] != first["port"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            impostor.kill()
        impostor.wait(timeout=10)
        os.killpg(second["pid"], signal.SIGINT)  # the server the impostor's record displaced
