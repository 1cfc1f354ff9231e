"""Benchmark: `mlops-spec serve` under HTTP load, champion only and with a shadow model, beside
the same prediction made by hand in one process (Feast online read + predict, no HTTP).

Everything lives in a temporary folder: MLflow, Prefect and the prediction log (the state
folder), and a private copy of the feature repo, so the Feast registry and online store are
not the project's ``.mlops/feast``. Preparation: ``mlops-spec run`` of the penguins spec (v1,
champion), a second run with 3 instead of 15 tuning trials (v2, a different model), then the
``challenger`` alias is pointed at whichever version is not the champion; the first service
start materializes the online store (``serve --materialize``).

For each mode (``champion``, then ``shadow``) the script starts its own service process on
loopback, waits for /health (and checks that shadow has a candidate), sends 50 warm-up
requests, then one-entity requests with random real penguin ids from an asyncio load
generator (httpx), bounded by --requests and --max-seconds, first one request in flight, then
--concurrency in flight. Latency is measured by the client, per request; "server p50" is the
median ``latency_ms`` the service logged for the same requests (online read and models, without
HTTP, validation and logging). The service is stopped with SIGINT, whatever happens. The
baseline is the champion loaded with ``mlflow.sklearn.load_model`` and Feast's
``get_online_features`` + ``predict`` + ``predict_proba`` (what the service answers) called in
a loop for the same ids.

The load generator shares the machine's cores with the service: on a 2-core machine the
throughput figures are those of client and server together.

    .venv/bin/python bench/serving_load.py [--requests 2000] [--concurrency 8]
        [--max-seconds 60] [--keep-state | --state DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from mlops_spec.runtime.environment import QUIET

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / ".mlops" / "data"
MODEL = "penguin-species"
FEATURE_SERVICE = "penguin_features_v1"
WARMUP = 50


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    server_ms: list[float] = field(default_factory=list)  # the log's latency_ms, per request
    shadowed: int = 0  # logged requests that carry a shadow prediction

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile of the successful requests, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000


@dataclass
class Bench:
    tmp: Path

    @property
    def state(self) -> Path:
        return self.tmp / "state"

    @property
    def repo(self) -> Path:
        return self.tmp / "feature_repo"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.state / 'mlflow.db'}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **QUIET,
            "MLOPS_SPEC_STATE_DIR": str(self.state),
            "PREFECT_HOME": str(self.state / "prefect"),
            "MLOPS_SPEC_DATA_DIR": str(DATA),
            "MLOPS_SPEC_ALLOW_PATHS_OUTSIDE_ROOT": "true",
        }

    def spec(self, name: str, *, trials: int = 15, serving: str | None = None) -> Path:
        """A copy of specs/penguins.yaml reading the private feature repo."""
        text = (ROOT / "specs" / "penguins.yaml").read_text()
        for old, new in [
            ("  repo: feature_repo", f"  repo: {self.repo}"),
            ("n_trials: 15", f"n_trials: {trials}"),
        ]:
            assert old in text, old
            text = text.replace(old, new)
        path = self.tmp / name
        path.write_text(text + (f"serving: {serving}\n" if serving else ""))
        return path

    def run(self, spec: Path) -> None:
        command = [str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def prepare(bench: Bench) -> tuple[int, int]:
    """Train v1 and v2 unless already there; the challenger alias on the non-champion."""
    from mlflow import MlflowClient

    trained = bench.tmp / "trained"
    if not trained.exists():
        shutil.rmtree(bench.state, ignore_errors=True)
        shutil.rmtree(bench.repo, ignore_errors=True)
        shutil.copytree(ROOT / "feature_repo", bench.repo, ignore=shutil.ignore_patterns("__*"))
        for name, trials in (("train.yaml", 15), ("train_v2.yaml", 3)):
            started = time.perf_counter()
            bench.run(bench.spec(name, trials=trials))
            print(f"  {name}: trained in {time.perf_counter() - started:.1f} s", flush=True)
        trained.touch()
    client = MlflowClient(tracking_uri=bench.tracking_uri, registry_uri=bench.tracking_uri)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))
    champion = int(client.get_model_version_by_alias(MODEL, "champion").version)
    others = [v for v in versions if v != champion]
    if not others:
        raise RuntimeError(f"only version {champion} registered: no challenger to shadow")
    client.set_registered_model_alias(MODEL, "challenger", str(others[-1]))
    return champion, others[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def service(bench: Bench, spec: Path, *, materialize: bool) -> Iterator[str]:
    """`mlops-spec serve` on a free loopback port; SIGINT to its group when the block ends."""
    port = _free_port()
    command = [str(BIN / "mlops-spec"), "serve", str(spec), "--port", str(port)]
    log_path = bench.tmp / f"serve-{spec.stem}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, *(["--materialize"] if materialize else [])],
            cwd=ROOT,
            env=bench.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        started, deadline = time.perf_counter(), time.monotonic() + 300
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the service did not start ({log_path}):\n{tail}")
            time.sleep(0.3)
        print(f"  {spec.stem}: healthy after {time.perf_counter() - started:.1f} s", flush=True)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def load(url: str, ids: list[int], concurrency: int, max_seconds: float) -> Result:
    """``concurrency`` workers take the next id until the ids or the time run out."""
    result = Result()
    pending = iter(ids)
    stop_at = time.monotonic() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        for entity in pending:
            if time.monotonic() > stop_at:
                return
            body = {"entities": [{"penguin_id": entity}]}
            started = time.perf_counter()
            try:
                response = await client.post("/predict", json=body)
            except httpx.HTTPError:
                result.errors += 1
                continue
            if response.status_code == 200:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def by_hand(bench: Bench, version: int, ids: list[int], max_seconds: float) -> Result:
    """The champion's answer without the service: one Feast online read + predict per id."""
    import mlflow
    import mlflow.sklearn
    from feast import FeatureStore

    mlflow.set_tracking_uri(bench.tracking_uri)
    mlflow.set_registry_uri(bench.tracking_uri)
    model = mlflow.sklearn.load_model(f"models:/{MODEL}/{version}")
    store = FeatureStore(repo_path=str(bench.repo))
    features = store.get_feature_service(FEATURE_SERVICE)
    columns = list(model.feature_names_in_)

    def predict(entity: int) -> None:
        rows = [{"penguin_id": entity}]
        online = store.get_online_features(features=features, entity_rows=rows).to_df()
        model.predict(online[columns])
        model.predict_proba(online[columns])

    for entity in ids[:WARMUP]:
        predict(entity)
    result = Result()
    stop_at = time.monotonic() + max_seconds
    started = time.perf_counter()
    for entity in ids:
        if time.monotonic() > stop_at:
            break
        one = time.perf_counter()
        predict(entity)
        result.latencies.append(time.perf_counter() - one)
    result.seconds = time.perf_counter() - started
    return result


def logged(bench: Bench) -> list[dict[str, Any]]:
    """The service's prediction log: one record per answered entity."""
    path = bench.state / "serving" / MODEL / "predictions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def measure(args: argparse.Namespace, bench: Bench) -> None:
    print(f"state: {bench.tmp}\nload average at start: {os.getloadavg()}", flush=True)
    champion, challenger = prepare(bench)
    print(f"  champion v{champion}, challenger v{challenger}", flush=True)
    known = sorted(set(pd.read_parquet(DATA / "penguins" / "entities.parquet")["penguin_id"]))
    rng = random.Random(7)
    warmup = [int(rng.choice(known)) for _ in range(WARMUP)]
    ids = [int(rng.choice(known)) for _ in range(args.requests)]

    results: dict[str, Result] = {}
    for first, mode in enumerate(("champion", "shadow")):
        spec = bench.spec(f"serve_{mode}.yaml", serving=f"{{mode: {mode}}}")
        with service(bench, spec, materialize=first == 0) as url:
            health = httpx.get(f"{url}/health").json()
            expected = (champion, challenger if mode == "shadow" else None)
            if (health["champion_version"], health["candidate_version"]) != expected:
                raise RuntimeError(f"{mode}: /health says {health}, expected {expected}")
            asyncio.run(load(url, warmup, args.concurrency, args.max_seconds))
            for concurrency in (1, args.concurrency):
                label = f"{mode}, {concurrency} in flight"
                before = len(logged(bench))
                result = results[label] = asyncio.run(load(url, ids, concurrency, args.max_seconds))
                records = logged(bench)[before:]
                result.server_ms = [float(r["latency_ms"]) for r in records]
                result.shadowed = sum(r["candidate_prediction"] is not None for r in records)
                print(
                    f"  {label}: {len(result.latencies)} answered, {len(records)} logged, "
                    f"{result.shadowed} with a shadow prediction",
                    flush=True,
                )
            print(f"  /health: {httpx.get(f'{url}/health').json()}", flush=True)
    hand = "by hand (no HTTP), 1 at a time"
    results[hand] = by_hand(bench, champion, ids, args.max_seconds)
    print(f"load average at end: {os.getloadavg()}\n")

    print("| case | requests | errors | req/s | p50 ms | p99 ms | server p50 ms |")
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        server = f"{statistics.median(r.server_ms):.2f}" if r.server_ms else "-"
        print(
            f"| {label} | {len(r.latencies)} | {r.errors} | {r.rate:.1f} | "
            f"{r.percentile_ms(50):.2f} | {r.percentile_ms(99):.2f} | {server} |"
        )
    print()
    for c in sorted({1, args.concurrency}):
        champ, shadow = results[f"champion, {c} in flight"], results[f"shadow, {c} in flight"]
        p50 = shadow.percentile_ms(50) / champ.percentile_ms(50)
        print(
            f"shadow / champion, {c} in flight: p50 {p50:.2f}x, "
            f"throughput {shadow.rate / champ.rate:.2f}x"
        )
    single = results["champion, 1 in flight"]
    p50_hand = statistics.median(results[hand].latencies) * 1000
    print(
        f"service (champion, 1 in flight) / by hand, p50: {single.percentile_ms(50):.2f} ms / "
        f"{p50_hand:.2f} ms = {single.percentile_ms(50) / p50_hand:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60, help="per measured case")
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument("--keep-state", action="store_true", help="leave the temp folder")
    keep.add_argument("--state", type=Path, help="use (and keep) this folder; reused if trained")
    args = parser.parse_args()
    tmp = args.state.resolve() if args.state else Path(tempfile.mkdtemp(prefix="serving-load-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        measure(args, Bench(tmp))
    finally:
        if not (args.keep_state or args.state):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
