"""`mlops-spec serve` in its own process group on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.prefect_server import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@contextmanager
def served(
    spec: str | Path,
    env: Mapping[str, str],
    log: Path,
    *,
    extra_args: Sequence[str] = (),
    start_timeout: float = 120,
) -> Iterator[httpx.Client]:
    """A client of the service once ``/ready`` answers; the service is stopped (SIGINT) when
    the block ends, and a service that dies while starting fails the test with its log."""
    with served_process(spec, env, log, extra_args=extra_args, start_timeout=start_timeout) as (
        client,
        _,
    ):
        yield client


@contextmanager
def served_process(
    spec: str | Path,
    env: Mapping[str, str],
    log: Path,
    *,
    extra_args: Sequence[str] = (),
    start_timeout: float = 120,
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """``served``, with the service's (parent) process, for tests that signal it."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "mlops-spec"), "serve", str(spec), "--port", str(port), *extra_args],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if client.get("/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.3)
        yield client, process
    finally:
        client.close()
        stop_process_group(process)
