"""Online serving end to end: a real `mlops-spec serve` process on loopback, answering from the
Feast online store (a private copy of the feature repo), against a real MLflow registry.

v1 is trained by `mlops-spec run`; v2 is a deliberately different model (always "Gentoo"),
v3 the champion's own model registered again. The tests check that the champion answers and
matches its own predict on the same online features, that shadow predictions are logged and
never returned, that requests are validated, that a new champion is picked up without a
restart and without a failed request, that canary routing is a stable hash, that the canary
decision rolls back a bad canary and promotes a good one, and that an online-store outage is
handled as the spec says and recovered from.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.dummy import DummyClassifier

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters.feast_online import OnlineFeatures
from mlops_spec.runtime.prediction_log import read_log
from mlops_spec.runtime.serving import canary_bucket
from tests.e2e.conftest import BIN, ROOT
from tests.support.serving import served, served_process

pytestmark = pytest.mark.e2e

MODEL = "penguin-species"
IDS = list(range(1, 345))


@dataclass
class Setup:
    tmp: Path
    env: dict[str, str]
    repo: Path
    online_db: Path

    def spec(self, name: str, serving: str) -> Path:
        text = (ROOT / "specs" / "penguins.yaml").read_text()
        text = text.replace("  repo: feature_repo", f"  repo: {self.repo}")
        text = text.replace("n_trials: 15", "n_trials: 3")
        path = self.tmp / name
        path.write_text(f"{text}serving: {serving}\n")
        return path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "mlops-spec"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, demo_data: Path) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("serving")
    repo = tmp / "feature_repo"
    shutil.copytree(ROOT / "feature_repo", repo, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        **os.environ,
        "MLOPS_SPEC_STATE_DIR": str(tmp / "state"),
        "PREFECT_HOME": str(tmp / "state" / "prefect"),
        "MLOPS_SPEC_DATA_DIR": str(demo_data),
        "MLOPS_SPEC_ALLOW_PATHS_OUTSIDE_ROOT": "true",
    }
    ready = Setup(tmp, env, repo, tmp / ".mlops" / "feast" / "online.db")
    trained = ready.cli("run", "--no-progress", str(ready.spec("train.yaml", "{mode: champion}")))
    assert trained.returncode == 0, trained.stderr[-3000:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_SPEC_STATE_DIR", env["MLOPS_SPEC_STATE_DIR"])
        from mlops_spec.settings import Settings

        settings = Settings()
        reg.configure(settings.tracking_uri, settings.artifact_root)
        champion = reg.load_model(f"models:/{MODEL}/1")
        features = OnlineFeatures(repo, service="penguin_features_v1")
        features.materialize_all()
        X = features.get([{"penguin_id": i} for i in IDS])[list(champion.feature_names_in_)]
        gentoo = DummyClassifier(strategy="constant", constant="Gentoo").fit(X, champion.predict(X))
        with reg.tracked_run("serving-tests", "extra versions") as run_id:
            for model in (gentoo, champion):  # v2, v3: judged as passing, so servable
                reg.log_and_register_model(
                    model,
                    run_id=run_id,
                    registered_name=MODEL,
                    input_example=X.head(5),
                    pip_requirements=reg.pinned_requirements(),
                    tags={"governance.verdict": "promote"},
                )
        yield ready


def _aliases(champion: int, challenger: int | None) -> None:
    reg.set_alias(MODEL, "champion", champion)
    if challenger is None:
        reg.delete_alias(MODEL, "challenger")
    else:
        reg.set_alias(MODEL, "challenger", challenger)


@contextmanager
def serving(setup: Setup, spec: Path) -> Iterator[httpx.Client]:
    """`mlops-spec serve` on a free port, stopped (SIGINT) when the block ends."""
    with served(spec, setup.env, setup.tmp / f"serve-{spec.stem}.log") as client:
        yield client


def _predict(client: httpx.Client, ids: list[int]) -> list[dict[str, Any]]:
    response = client.post("/predict", json={"entities": [{"penguin_id": i} for i in ids]})
    assert response.status_code == 200, response.text
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


def _log(setup: Setup, at_least: int = 0) -> list[dict[str, Any]]:
    """The prediction log, once it holds ``at_least`` records (it is written in the
    background, a fraction of a second after the answers)."""
    path = setup.tmp / "state" / "serving" / MODEL / "predictions.jsonl"
    deadline = time.monotonic() + 30
    while True:
        records = list(read_log(path))
        if len(records) >= at_least:
            return records
        assert time.monotonic() < deadline, f"{len(records)} of {at_least} records logged"
        time.sleep(0.1)


def _every_worker(base_url: Any, key: str, value: Any, workers: int = 2) -> None:
    """Wait (bounded) until ``workers`` distinct workers say ``key`` is ``value``: each request
    on a fresh connection, which the kernel hands to whichever worker accepts it."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only workers {seen} have {key}={value}"
        with httpx.Client(base_url=base_url, timeout=30) as fresh:
            health = fresh.get("/health").json()
        if health[key] == value:
            seen.add(health["worker"])
        else:
            time.sleep(0.1)


def test_shadow_serving_validation_and_reload(setup: Setup) -> None:
    _aliases(champion=1, challenger=2)
    spec = setup.spec("shadow.yaml", "{mode: shadow, reload_seconds: 1}")
    with serving(setup, spec) as client:
        health = client.get("/health").json()
        assert (health["champion_version"], health["candidate_version"]) == (1, 2)
        assert client.get("/openapi.json").json()["paths"]["/predict"]
        assert client.get("/docs").status_code == 200

        ids = IDS[:40]
        answers = _predict(client, ids)
        champion = reg.load_model(f"models:/{MODEL}/1")
        online = OnlineFeatures(setup.repo, service="penguin_features_v1")
        X = online.get([{"penguin_id": i} for i in ids])[list(champion.feature_names_in_)]
        assert [a["prediction"] for a in answers] == list(champion.predict(X))
        assert {(a["version"], a["route"]) for a in answers} == {(1, "champion")}
        assert all("candidate" not in key for a in answers for key in a)
        assert any(a["prediction"] != "Gentoo" for a in answers)  # the shadow never answers
        logged = _log(setup, at_least=len(ids))[-len(ids) :]
        assert {(r["candidate_version"], r["candidate_prediction"]) for r in logged} == {
            (2, "Gentoo")
        }
        assert all(r["latency_ms"] > 0 and r["store"] == "ok" for r in logged)

        for body, status, says in [
            ({"entities": [{"island": "Dream"}]}, 422, "penguin_id"),
            ({"entities": [{"penguin_id": "seven"}]}, 422, "valid integer"),
            ({"entities": [{"penguin_id": 1, "extra": 2}]}, 422, "extra"),
            ({"entities": []}, 422, "at least 1"),
            ({"entities": [{"penguin_id": 1}] * 1001}, 422, "at most 1000"),
            ({"entities": [{"penguin_id": 99999}]}, 404, "no online features"),
        ]:
            response = client.post("/predict", json=body)
            assert response.status_code == status and says in response.text, response.text

        # A new champion while requests keep coming: none fails, the new one takes over.
        statuses: list[int] = []
        versions: list[int] = []
        stop = threading.Event()

        def traffic() -> None:
            """One request after another, each on a fresh connection: every worker's share."""
            while not stop.is_set():
                with httpx.Client(base_url=client.base_url, timeout=30) as own:
                    r = own.post("/predict", json={"entities": [{"penguin_id": 7}]})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    versions.append(r.json()["predictions"][0]["version"])

        def answered_by(version: int, count: int) -> None:
            """Wait (bounded) until ``count`` more answers came from ``version``."""
            seen = versions.count(version)
            deadline = time.monotonic() + 60
            while versions.count(version) < seen + count:
                assert time.monotonic() < deadline, f"no answers from v{version}: {versions[-5:]}"
                time.sleep(0.05)

        thread = threading.Thread(target=traffic)
        thread.start()
        try:
            answered_by(1, 5)
            _every_worker(client.base_url, "champion_version", 1)
            reg.promote(MODEL, "champion", 3, actor="test", reason="new champion")
            _every_worker(client.base_url, "champion_version", 3)  # each worker reloaded
            answered_by(3, 5)
        finally:
            stop.set()
            thread.join()
        assert statuses and set(statuses) == {200}
        assert versions[0] == 1 and versions[-1] == 3 and set(versions) == {1, 3}


def test_canary_routing_decisions_and_store_outage(setup: Setup) -> None:
    _aliases(champion=1, challenger=2)
    spec = setup.spec(
        "canary.yaml",
        "{mode: canary, canary_percent: 30, reload_seconds: 1, "
        "on_store_unavailable: defaults, canary: {min_requests: 40}}",
    )
    with serving(setup, spec) as client:
        first = _predict(client, IDS)
        again = _predict(client, IDS)
        routes = {a["penguin_id"]: a["route"] for a in first}
        assert routes == {a["penguin_id"]: a["route"] for a in again}  # stable
        expected = {
            i: "canary" if canary_bucket(MODEL, {"penguin_id": i}) < 30 else "champion" for i in IDS
        }
        assert routes == expected
        share = sum(r == "canary" for r in routes.values()) / len(IDS)
        assert 0.2 < share < 0.4
        assert {(a["version"], a["prediction"]) for a in first if a["route"] == "canary"} == {
            (2, "Gentoo")
        }

        # The always-Gentoo canary disagrees with the champion: rolled back.
        _log(setup, at_least=2 * len(IDS))
        decided = setup.cli("canary", str(spec))
        assert decided.returncode == 0, decided.stderr[-3000:]
        assert "canary v2 (champion v1): rollback" in decided.stdout
        assert reg.get_alias_version(MODEL, "challenger") is None
        _every_worker(client.base_url, "candidate_version", None)
        assert {a["route"] for a in _predict(client, IDS[:50])} == {"champion"}
        audit = setup.cli("audit", MODEL, "2")
        assert "canary.decision: rollback" in audit.stdout
        assert "kind=canary-rollback" in audit.stdout

        # A canary that agrees with the champion is promoted.
        reg.set_alias(MODEL, "challenger", 3)
        _every_worker(client.base_url, "candidate_version", 3)
        before = len(_log(setup))
        _predict(client, IDS)
        _log(setup, at_least=before + len(IDS))
        decided = setup.cli("canary", str(spec))
        assert "canary v3 (champion v1): promote" in decided.stdout, decided.stderr[-3000:]
        assert reg.get_alias_version(MODEL, "champion") == 3
        _every_worker(client.base_url, "champion_version", 3)

        # The online store breaks: `defaults` answers from the imputers, and it is counted.
        saved = setup.online_db.read_bytes()
        with setup.online_db.open("r+b") as broken:
            broken.truncate(0)
        try:
            answers = _predict(client, [1, 2])
            assert {a["store"] for a in answers} == {"defaults"}
            assert client.get("/health").json()["store_unavailable"] == 1
        finally:
            with setup.online_db.open("r+b") as fixed:
                fixed.write(saved)
        assert {a["store"] for a in _predict(client, [1, 2])} == {"ok"}  # recovered


def test_store_outage_is_a_503_when_the_spec_says_so(setup: Setup) -> None:
    _aliases(champion=1, challenger=None)
    spec = setup.spec("strict.yaml", "{mode: champion, on_store_unavailable: error_503}")
    with serving(setup, spec) as client:
        assert _predict(client, [5])[0]["version"] == 1
        saved = setup.online_db.read_bytes()
        with setup.online_db.open("r+b") as broken:
            broken.truncate(0)
        try:
            response = client.post("/predict", json={"entities": [{"penguin_id": 5}]})
            assert response.status_code == 503
            assert "online feature store unavailable" in response.json()["detail"]
            assert client.get("/health").json()["store_unavailable"] == 1
        finally:
            with setup.online_db.open("r+b") as fixed:
                fixed.write(saved)
        assert _predict(client, [5])[0]["store"] == "ok"


def test_batched_answers_auth_limits_metrics_and_a_complete_log_on_sigterm(setup: Setup) -> None:
    """Concurrent one-entity requests (batched by the service) get what each gets alone; a
    token guards /predict and /metrics; bodies and entity counts are limited; /metrics counts
    every worker; SIGTERM loses no answered prediction from the log."""
    _aliases(champion=1, challenger=2)
    spec = setup.spec("guarded.yaml", "{mode: shadow, max_body_kb: 2, max_entities: 50}")
    token = "test-serving-token-1234"
    env = {**setup.env, "MLOPS_SPEC_SERVING_TOKEN": token}
    log = setup.tmp / "serve-guarded.log"
    auth = {"Authorization": f"Bearer {token}"}
    before = len(_log(setup))
    with served_process(spec, env, log) as (client, process):
        client.headers.update(auth)
        alone = {i: _predict(client, [i])[0] for i in IDS[:60]}
        with ThreadPoolExecutor(16) as pool:  # 16 in flight: the service batches them
            together = list(pool.map(lambda i: _predict(client, [i])[0], IDS[:60] * 3))
        _same_answers(together, [alone[i] for i in IDS[:60] * 3])  # values and order
        _same_answers(_predict(client, IDS[:30]), [alone[i] for i in IDS[:30]])

        body = {"entities": [{"penguin_id": 1}]}
        with httpx.Client(base_url=client.base_url, timeout=30) as anonymous:
            assert anonymous.post("/predict", json=body).status_code == 401
            wrong = anonymous.post("/predict", json=body, headers={"Authorization": "Bearer x"})
            assert wrong.status_code == 401 and token not in wrong.text
            assert anonymous.get("/metrics").status_code == 401
            assert anonymous.get("/health").status_code == 200  # probes stay open
            assert anonymous.get("/ready").json()["ready"] is True
        big = {"entities": [{"penguin_id": 1}] * 200}  # about 3.6 KB, over 2 KiB
        assert client.post("/predict", json=big).status_code == 413
        too_many = client.post("/predict", json={"entities": [{"penguin_id": 1}] * 51})
        assert too_many.status_code == 422 and "at most 50" in too_many.text

        _every_worker(client.base_url, "champion_version", 1)  # both workers answered /health
        metrics = client.get("/metrics").text
        answered = 60 + 180 + 1
        assert (
            f'mlops_spec_serving_requests_total{{model="{MODEL}",status="200"}} {answered}.0'
            in metrics
        )
        assert "mlops_spec_serving_batch_entities_bucket" in metrics
        batches = _histogram(metrics, "mlops_spec_serving_batch_requests")
        assert batches["+Inf"] > batches["1.0"], batches  # some batch held several requests
        assert client.get("/health").json()["predictions"] == 60 + 180 + 30

        process.send_signal(signal.SIGTERM)  # the parent: it stops its workers gracefully
        assert process.wait(timeout=60) == 0
    records = list(read_log(setup.tmp / "state" / "serving" / MODEL / "predictions.jsonl"))
    assert len(records) - before == 60 + 180 + 30  # every answered entity, none lost
    assert token not in log.read_text()


def _same_answers(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """The same entities, routes, versions and predictions in the same order, and the same
    probabilities to 1e-12: a model scoring 16 rows at once may sum in another order than
    for one row (BLAS), which moves the last bits of a float and nothing else."""
    assert len(got) == len(expected)
    for answer, alone in zip(got, expected, strict=True):
        plain = {k: v for k, v in answer.items() if k != "probabilities"}
        assert plain == {k: v for k, v in alone.items() if k != "probabilities"}
        assert answer["probabilities"].keys() == alone["probabilities"].keys()
        for name, value in answer["probabilities"].items():
            assert value == pytest.approx(alone["probabilities"][name], rel=1e-12, abs=1e-15)


def _histogram(metrics: str, name: str) -> dict[str, float]:
    """Cumulative bucket counts of a Prometheus histogram summed over its label sets."""
    counts: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith(f"{name}_bucket{{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            counts[bound] = counts.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts
