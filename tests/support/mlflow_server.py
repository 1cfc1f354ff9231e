"""A real `mlflow server` (SQLite backend, proxied artifacts) on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.prefect_server import BIN, free_port


@dataclass
class MlflowServer:
    process: subprocess.Popen[bytes]
    url: str
    db: Path
    artifacts: Path
    log: Path


def start_mlflow_server(folder: Path, backend_uri: str | None = None) -> MlflowServer:
    """Start the server in its own process group; stop it with ``stop_process_group``.

    The backend is SQLite in ``folder`` unless ``backend_uri`` (PostgreSQL...) is given."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    db, artifacts, log = folder / "mlflow.db", folder / "artifacts", folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                backend_uri or f"sqlite:///{db}",
                "--artifacts-destination",
                str(artifacts),
                "--workers",
                "1",
            ],
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return MlflowServer(process, url, db, artifacts, log)
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "mlflow server did not start"
        time.sleep(0.5)
