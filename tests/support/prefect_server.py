"""A real local Prefect server (API, UI, scheduler, automations) for the tests that need one.

`prefect server start` runs in its own process group on a free loopback port with a temporary
PREFECT_HOME (so a SQLite database of its own), and is stopped with SIGINT at the end of the
session. Tests point subprocesses at it with `server.env`; workers are started per test with
`server.worker(...)` and stopped when the `with` block ends. Registered as a pytest plugin by
tests/conftest.py, so any test can ask for the `prefect_server` fixture.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlops_spec.runtime.environment import QUIET

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGINT first (Prefect workers ignore SIGTERM for a while), then SIGKILL the group."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class PrefectServer:
    """Where the server listens and the environment that points a process at it."""

    url: str
    home: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def ui_url(self) -> str:
        return self.url

    def api(self, method: str, path: str, body: Any = None, *, attempts: int = 5) -> Any:
        """One REST call to the server's API, patient with a busy SQLite-backed server."""
        import httpx

        for attempt in range(attempts):
            try:
                response = httpx.request(method, f"{self.api_url}{path}", json=body, timeout=120)
                if response.status_code == 503 and attempt < attempts - 1:
                    time.sleep(2)  # the SQLite-backed server is busy; Prefect's client retries too
                    continue
                response.raise_for_status()
                return response.json() if response.content else None
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        return None

    def paused_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}}
        )
        return runs

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
        """Run a `prefect` CLI command against this server; fail the test if it fails."""
        result = subprocess.run(
            [str(BIN / "prefect"), *args],
            cwd=ROOT,
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        command = " ".join(args)
        assert result.returncode == 0, f"prefect {command}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def ensure_pool(self, name: str = "local") -> None:
        """A process work pool (idempotent: an existing pool is kept)."""
        self.run("work-pool", "create", name, "--type", "process", "--overwrite")

    @contextlib.contextmanager
    def worker(
        self,
        pool: str = "local",
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        cwd: Path = ROOT,
        limit: int | None = None,
    ) -> Iterator[subprocess.Popen[bytes]]:
        """A `prefect worker start` process polling ``pool`` every 2 s, stopped on exit.

        ``env`` adds to :attr:`env`: point MLOPS_SPEC_STATE_DIR at the test's folder so the
        flow runs the worker starts write there.
        """
        self.ensure_pool(pool)
        log_path = log or self.home / f"worker-{pool}-{time.time_ns()}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(BIN / "prefect"),
                    *("worker", "start", "--pool", pool, "--type", "process"),
                    *(("--limit", str(limit)) if limit else ()),
                ],
                cwd=cwd,
                env={**os.environ, **self.env, "PREFECT_WORKER_QUERY_SECONDS": "2", **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                yield process
            finally:
                stop_process_group(process)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return bool(json.loads(response.read()))
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def running_server(home: Path) -> Iterator[PrefectServer]:
    """Start `prefect server start` on a free port and wait until /api/health answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **QUIET,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_CLI_PROMPT": "false",
    }
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home,
            env={**os.environ, **env, "PREFECT_SERVER_API_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _healthy(url):
                if process.poll() is not None:
                    raise RuntimeError(f"prefect server exited:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"prefect server not healthy in {STARTUP_SECONDS}s")
                time.sleep(0.5)
            yield PrefectServer(url=url, home=home, log=log, env=env)
        finally:
            stop_process_group(process)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """One real Prefect server for the whole session (API, UI, scheduler and automations)."""
    with running_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server
