"""The distributed profile end to end: the same spec, switched to bigger engines by settings.

PostgreSQL and Redis come from Debian's packages (installed if missing) and run privately on
loopback; an `mlflow server` keeps its runs and registry in PostgreSQL; Optuna's study lives in
PostgreSQL; Feast's online store is Redis; a real Prefect server hands two training runs of one
spec to two process workers (one run each), and each run tunes on a Dask LocalCluster
(prefect-dask). profiles/distributed.env is used as written, with only the ports changed to
the ones this test started. Everything started here is stopped at the end.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.e2e.conftest import BIN, ROOT
from tests.support.mlflow_server import start_mlflow_server
from tests.support.prefect_server import PrefectServer, stop_process_group
from tests.support.services import postgres_and_redis
from tests.support.serving import served

pytestmark = pytest.mark.e2e

MODEL = "penguin-species"
# Enough trials that the two runs (which reach tuning seconds apart) tune side by side.
N_TRIALS = 300


def _profile(replacements: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / "profiles" / "distributed.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            for old, new in replacements.items():
                value = value.replace(old, new)
            values[key.strip()] = value.strip()
    return values


def _final(server: PrefectServer, run_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = server.api("GET", f"/flow_runs/{run_id}")["state"]
        if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} did not finish in {timeout:.0f}s")


def test_distributed_profile_end_to_end(
    prefect_server: PrefectServer, demo_data: Path, tmp_path: Path
) -> None:
    with postgres_and_redis(tmp_path / "services", ("optuna", "mlflow")) as services:
        mlflow_server = start_mlflow_server(tmp_path / "mlflow", services.pg_url("mlflow"))
        try:
            profile = _profile(
                {
                    "127.0.0.1:5432": f"127.0.0.1:{services.pg_port}",
                    "http://127.0.0.1:5000": mlflow_server.url,
                    "127.0.0.1:6379": f"127.0.0.1:{services.redis_port}",
                    "http://127.0.0.1:4200/api": prefect_server.api_url,
                }
            )
            assert profile["MLOPS_SPEC_TASK_RUNNER"] == "dask"
            env = {
                **os.environ,
                **prefect_server.env,
                **profile,
                "MLOPS_SPEC_STATE_DIR": str(tmp_path / "state"),
            }
            spec = tmp_path / "penguins.yaml"
            text = (ROOT / "specs" / "penguins.yaml").read_text()
            spec.write_text(text.replace("n_trials: 15", f"n_trials: {N_TRIALS}"))
            env["MLOPS_SPEC_ALLOW_PATHS_OUTSIDE_ROOT"] = "true"
            _train_twice_on_two_workers(prefect_server, env, tmp_path, spec)
            _check_study(profile["MLOPS_SPEC_OPTUNA_STORAGE"])
            _check_registry(mlflow_server.url, mlflow_server.artifacts)
            _check_online_features_from_redis(env, services.redis_port, tmp_path)
        finally:
            stop_process_group(mlflow_server.process)


def _train_twice_on_two_workers(
    server: PrefectServer, env: dict[str, str], tmp: Path, spec: Path
) -> None:
    server.ensure_pool("local")
    deploy = subprocess.run(
        [str(BIN / "mlops-spec"), "deploy", "--apply"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]
    deployment = server.api("GET", "/deployments/name/mlops-spec-train/penguin-species-train")
    logs = [tmp / "worker-a.log", tmp / "worker-b.log"]
    with (
        server.worker("local", env=env, log=logs[0], limit=1),
        server.worker("local", env=env, log=logs[1], limit=1),
    ):
        runs = [
            server.api(
                "POST",
                f"/deployments/{deployment['id']}/create_flow_run",
                {"parameters": {"spec_path": str(spec)}},
            )
            for _ in range(2)
        ]
        finals = [_final(server, run["id"], 900) for run in runs]
    text = [log.read_text() for log in logs]
    assert [f["type"] for f in finals] == ["COMPLETED", "COMPLETED"], "\n".join(
        t[-3000:] for t in text
    )
    # One run per worker: each run's own log ("View at .../flow-run/<id>") is in one worker's
    # output (both workers may offer to take a run; the server lets one have it).
    ran = [[run["id"] for run in runs if f"flow-run/{run['id']}" in t] for t in text]
    assert sorted(len(r) for r in ran) == [1, 1] and ran[0] != ran[1], ran


def _check_study(storage: str) -> None:
    names = optuna.get_all_study_names(storage)
    assert len(names) == 1, names  # both runs tuned one shared study
    trials = optuna.load_study(study_name=names[0], storage=storage).get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    runs = {t.user_attrs.get("flow_run") for t in trials}
    owners = {t.user_attrs.get("owner") for t in trials}
    assert N_TRIALS <= len(finished) <= N_TRIALS + 4, len(finished)  # n_trials + in flight
    assert len(runs) == 2, runs  # trials of both flow runs (one per worker) in one study
    assert len(owners) >= 3, owners  # from several Dask worker processes


def _check_registry(url: str, artifacts: Path) -> None:
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    champion = client.get_model_version_by_alias(MODEL, "champion")
    for version in versions:
        assert version.tags["mlops_spec.spec_name"] == MODEL
        assert version.tags["optuna.storage"].startswith("postgresql+psycopg2://")
        run = client.get_run(str(version.run_id))
        assert run.data.metrics["test_accuracy"] > 0.95  # the same kind of model as embedded
    assert champion.version in {v.version for v in versions}
    assert list(artifacts.rglob("MLmodel")), "model artifacts are not in the server's store"


def _check_online_features_from_redis(env: dict[str, str], redis_port: int, tmp: Path) -> None:
    with served(
        "specs/penguins.yaml",
        env,
        tmp / "serve.log",
        extra_args=["--materialize"],
        start_timeout=180,
    ) as client:
        body = {"entities": [{"penguin_id": 3}, {"penguin_id": 300}]}
        answer = client.post("/predict", json=body)
        assert answer.status_code == 200, answer.text
        keys = subprocess.run(
            ["redis-cli", "-p", str(redis_port), "dbsize"], capture_output=True, text=True
        )
        assert int(keys.stdout.strip()) > 0  # the materialized features are in Redis
        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"])
        outage = client.post("/predict", json=body)
        assert outage.status_code == 503  # so the features came from Redis
