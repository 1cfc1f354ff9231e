"""A planted secret never reaches an output.

The MLflow tracking URI of a real `mlflow server` carries a password
(`http://mlops:<planted>@127.0.0.1:port`, sent as basic auth), stored in a Prefect Secret
block and handed to the run only as `prefect-secret:<block>`. After a full training run against
that server, the planted value is searched for in everything the run wrote: its console output,
every file of the state folder (Prefect's database with its logs and artifacts, the Optuna
journal, Feast's files), and the MLflow server's database, artifact store and log.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import BIN, ROOT
from tests.support.mlflow_server import start_mlflow_server
from tests.support.prefect_server import stop_process_group

pytestmark = pytest.mark.e2e

SAVE_BLOCK = """
import sys
from prefect.blocks.system import Secret
Secret(value=sys.argv[1]).save("mlflow-tracking-uri", overwrite=True)
"""


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and needle in path.read_bytes()
    ]


def test_planted_secret_is_used_but_never_written(demo_data: Path, tmp_path: Path) -> None:
    planted = f"planted-{secrets.token_hex(12)}"
    server = start_mlflow_server(tmp_path / "server")
    state = tmp_path / "state"
    (state / "prefect").mkdir(parents=True)
    env = {
        **os.environ,
        "MLOPS_SPEC_STATE_DIR": str(state),
        "PREFECT_HOME": str(state / "prefect"),
    }
    secret_url = server.url.replace("http://", f"http://mlops:{planted}@")
    try:
        saved = subprocess.run(
            [sys.executable, "-c", SAVE_BLOCK, secret_url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert saved.returncode == 0, saved.stderr[-3000:]
        run = subprocess.run(
            [str(BIN / "mlops-spec"), "run", "--no-progress", "specs/penguins.yaml"],
            cwd=ROOT,
            env={**env, "MLOPS_SPEC_MLFLOW_TRACKING_URI": "prefect-secret:mlflow-tracking-uri"},
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stop_process_group(server.process)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "penguin-species v1: promoted" in run.stdout

    # The secret was really used: the version is registered on that server.
    uri = f"sqlite:///{server.db}"
    registry = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert [str(v.version) for v in registry.search_model_versions("name='penguin-species'")] == [
        "1"
    ]
    assert "mlops:***@127.0.0.1" in run.stderr  # the URI is logged, its password masked

    needle = planted.encode()
    assert planted not in run.stdout and planted not in run.stderr
    assert _files_holding(state, needle) == []
    assert _files_holding(server.artifacts, needle) == []
    assert needle not in server.db.read_bytes()
    assert needle not in server.log.read_bytes()
    with sqlite3.connect(state / "prefect" / "prefect.db") as db:
        logs = db.execute("select count(*) from log").fetchone()[0]
    assert logs > 10  # the run's logs did reach Prefect, and were searched above
