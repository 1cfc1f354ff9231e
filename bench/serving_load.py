"""Benchmark: online serving side by side on the Adult champion (HistGradientBoosting).

Three ways to answer one-entity requests, on this machine, for the same model and the same
entity ids:

(a) ``mlops-spec serve`` (features read from the Feast online store), champion mode and shadow
    mode, at 1, 8, 32 and 64 requests in flight;
(b) ``mlflow models serve`` of the same registered version, posted the same entities' feature
    rows directly (it has no feature lookup), at the same concurrencies;
(c) the physical limit: the model's own ``predict_proba`` in this process on batches of 1, 8,
    32 and 64 of the same feature rows, and on the batch size the service formed (from its
    ``/metrics``), one process and two processes at once.

Preparation (everything in a temporary folder: MLflow, Prefect, the prediction log and a
private copy of the feature repo): ``mlops-spec run`` of ``specs/adult_income.yaml`` without
its fairness section (the Adult model fails the fairness rules, so ``run`` would not promote
it, and serving needs a champion; the model and its training are otherwise the spec's), the
online store materialized, then the champion's model registered again, judged, as the
``challenger`` for shadow mode (a shadow costs the same whatever it predicts).

The load generator is a small asyncio HTTP/1.1 client over keep-alive connections (one per
request in flight, a request sent as soon as the previous answer arrived): httpx costs more
CPU per request than the services measured here, and the client shares the two cores with
them. Latency is measured by the client per request. Each case gets a warm-up, then runs for
``--seconds``. Services are stopped with SIGINT, whatever happens.

    .venv/bin/python bench/serving_load.py [--seconds 15] [--workers N] [--keep-state | --state DIR]
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_spec.runtime.environment import QUIET

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / ".mlops" / "data"
MODEL = "adult-income"
KEY = "person_id"
FEATURE_SERVICE = "adult_features_v1"
CONCURRENCY = (1, 8, 32, 64)
FAIRNESS = "  fairness:\n    sensitive: [sex, race]\n    rules:\n"


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000 if ordered else 0


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
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # mlflow runs `uvicorn`
        }

    def spec(self, name: str, serving: str | None = None) -> Path:
        """specs/adult_income.yaml on the private feature repo, without its fairness section."""
        text = (ROOT / "specs" / "adult_income.yaml").read_text()
        start = text.index(FAIRNESS)
        end = text.index("governance:", start)
        text = text[:start] + text[end:]
        text = text.replace("  repo: feature_repo", f"  repo: {self.repo}")
        path = self.tmp / name
        path.write_text(text + (f"serving: {serving}\n" if serving else ""))
        return path


def prepare(bench: Bench) -> tuple[int, int]:
    """Train and promote the champion and materialize the online store unless done; the
    challenger: the champion's model registered again, judged."""
    from mlops_spec.adapters import mlflow_registry as reg
    from mlops_spec.adapters.feast_online import OnlineFeatures

    artifacts = bench.state / "mlartifacts"
    if not (bench.tmp / "trained").exists():
        shutil.rmtree(bench.state, ignore_errors=True)
        shutil.rmtree(bench.repo, ignore_errors=True)
        shutil.copytree(ROOT / "feature_repo", bench.repo, ignore=shutil.ignore_patterns("__*"))
        command = [str(BIN / "mlops-spec"), "run", "--no-progress", str(bench.spec("train.yaml"))]
        done = subprocess.run(command, cwd=ROOT, env=bench.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        stop = [str(BIN / "mlops-spec"), "server", "stop"]  # `run` started the state's own
        subprocess.run(stop, cwd=ROOT, env=bench.env, capture_output=True, check=False)
        OnlineFeatures(bench.repo, service=FEATURE_SERVICE).materialize_all()
        reg.configure(bench.tracking_uri, artifacts)
        champion = reg.get_alias_version(MODEL, "champion")
        model = reg.load_model(f"models:/{MODEL}/{champion}")
        X, _ = feature_rows(bench.tracking_uri, bench.repo, [1, 2, 3, 4, 5])
        with reg.tracked_run("serving-bench", "challenger") as run_id:
            registered = reg.log_and_register_model(
                model,
                run_id=run_id,
                registered_name=MODEL,
                input_example=X,
                pip_requirements=reg.pinned_requirements(),
                tags={"governance.verdict": "promote"},
            )
        reg.set_alias(MODEL, "challenger", registered.version)
        (bench.tmp / "trained").touch()
    reg.configure(bench.tracking_uri, artifacts)
    champion, challenger = (reg.get_alias_version(MODEL, a) for a in ("champion", "challenger"))
    if champion is None or challenger is None:
        raise RuntimeError(f"no champion or challenger in {bench.tracking_uri}")
    return champion, challenger


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(bench: Bench, command: list[str], name: str, ready: str) -> Iterator[int]:
    """``command`` (given ``{port}``) on a free loopback port until ``ready`` answers 200;
    SIGINT to its process group when the block ends."""
    port = _free_port()
    log_path = bench.tmp / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=bench.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        started, deadline = time.perf_counter(), time.monotonic() + 300
        while not _answers(port, ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} did not start ({log_path}):\n{tail}")
            time.sleep(0.5)
        print(f"  {name}: ready after {time.perf_counter() - started:.1f} s", flush=True)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _answers(port: int, path: str) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


async def _connection(
    port: int, path: str, bodies: Sequence[bytes], stop_at: float, result: Result, seed: int
) -> None:
    """One keep-alive connection sending the next request as soon as an answer arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(seed)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    try:
        while time.monotonic() < stop_at:
            body = bodies[rng.randrange(len(bodies))]
            started = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            if status_line.split(b" ")[1:2] == [b"200"]:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1
    finally:
        writer.close()


def load(port: int, path: str, bodies: Sequence[bytes], in_flight: int, seconds: float) -> Result:
    """``in_flight`` connections for ``seconds``, after a short warm-up."""

    async def run(duration: float) -> Result:
        result = Result()
        stop_at = time.monotonic() + duration
        started = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, path, bodies, stop_at, result, seed) for seed in range(in_flight))
        )
        result.seconds = time.perf_counter() - started
        return result

    asyncio.run(run(min(2.0, seconds)))
    return asyncio.run(run(seconds))


def _metric_sum(port: int, name: str) -> float:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def physical(X: pd.DataFrame, model: Any, batch: int, seconds: float) -> Result:
    """``predict_proba`` on consecutive batches of ``batch`` rows for ``seconds``; one
    "latency" per call, and the rate counted in rows."""
    result = Result()
    model.predict_proba(X.iloc[:batch])
    stop_at = time.monotonic() + seconds
    started = time.perf_counter()
    start, rows = 0, 0
    while time.monotonic() < stop_at:
        part = X.iloc[start : start + batch]
        if len(part) < batch:
            start, part = 0, X.iloc[:batch]
        one = time.perf_counter()
        model.predict_proba(part)
        result.latencies.append(time.perf_counter() - one)
        start += batch
        rows += batch
    result.seconds = time.perf_counter() - started
    result.latencies = result.latencies  # per call
    result.errors = rows  # rows scored, kept here to compute rows/s
    return result


def _physical_in_child(args: tuple[str, str, list[int], int, float, Any]) -> tuple[int, float]:
    """One of two processes scoring at once, each with one OpenMP thread as each of the
    service's two workers has (``OMP_NUM_THREADS``): with the default two threads each, two
    processes oversubscribe two cores and fall to a few calls per second. The barrier starts
    both measurements together, after each has loaded its model and rows."""
    from threadpoolctl import threadpool_limits

    tracking_uri, repo, ids, batch, seconds, barrier = args
    X, model = feature_rows(tracking_uri, Path(repo), ids)
    with threadpool_limits(1):
        model.predict_proba(X.iloc[:batch])
        barrier.wait()
        measured = physical(X, model, batch, seconds)
    return measured.errors, measured.seconds


def feature_rows(tracking_uri: str, repo: Path, ids: Sequence[int]) -> tuple[pd.DataFrame, Any]:
    """The champion and the online feature rows of ``ids``, in its column order."""
    from mlops_spec.adapters import mlflow_registry as reg
    from mlops_spec.adapters.feast_online import OnlineFeatures

    reg.configure(
        tracking_uri, Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
    )
    model = reg.load_model(f"models:/{MODEL}@champion")
    online = OnlineFeatures(repo, service=FEATURE_SERVICE)
    frames = [online.get([{KEY: i} for i in ids[n : n + 500]]) for n in range(0, len(ids), 500)]
    X = pd.concat(frames, ignore_index=True)[list(model.feature_names_in_)]
    return X, model


def physical_two(bench: Bench, ids: list[int], batch: int, seconds: float) -> float:
    """Rows per second of two processes calling ``predict_proba`` at once."""
    context = get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        barrier = manager.Barrier(2)
        job = (bench.tracking_uri, str(bench.repo), ids, batch, seconds, barrier)
        parts = pool.map(_physical_in_child, [job] * 2)
    return sum(rows / secs for rows, secs in parts)


def service_cases(
    bench: Bench, args: argparse.Namespace, bodies: list[bytes]
) -> tuple[dict[str, Result], dict[str, float]]:
    """(a): each mode's service, every concurrency; and the mean batch each formed."""
    results: dict[str, Result] = {}
    batches: dict[str, float] = {}
    workers = ["--workers", str(args.workers)] if args.workers else []
    for mode in ("champion", "shadow"):
        spec = bench.spec(f"serve_{mode}.yaml", serving=f"{{mode: {mode}}}")
        command = [str(BIN / "mlops-spec"), "serve", str(spec), "--port", "{port}", *workers]
        with process(bench, command, f"serve-{mode}", "/ready") as port:
            for in_flight in CONCURRENCY:
                entities = _metric_sum(port, "mlops_spec_serving_batch_entities_sum")
                calls = _metric_sum(port, "mlops_spec_serving_batch_entities_count")
                result = load(port, "/predict", bodies, in_flight, args.seconds)
                label = f"serve {mode}, {in_flight} in flight"
                results[label] = result
                entities = _metric_sum(port, "mlops_spec_serving_batch_entities_sum") - entities
                calls = _metric_sum(port, "mlops_spec_serving_batch_entities_count") - calls
                batches[label] = entities / calls if calls else 0.0
                print(f"  {label}: {result.rate:.0f}/s, batch {batches[label]:.1f}", flush=True)
    return results, batches


def mlflow_cases(
    bench: Bench, args: argparse.Namespace, version: int, rows: list[bytes]
) -> dict[str, Result]:
    """(b): ``mlflow models serve`` of the champion version, posted feature rows."""
    workers = str(args.workers or len(os.sched_getaffinity(0)))
    command = [
        str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}/{version}",
        "--env-manager", "local", "--host", "127.0.0.1", "--port", "{port}", "--workers", workers,
    ]  # fmt: skip
    results = {}
    with process(bench, command, "mlflow-models-serve", "/ping") as port:
        for in_flight in CONCURRENCY:
            label = f"mlflow models serve, {in_flight} in flight"
            results[label] = load(port, "/invocations", rows, in_flight, args.seconds)
            print(f"  {label}: {results[label].rate:.0f}/s", flush=True)
    return results


def measure(args: argparse.Namespace, bench: Bench) -> None:
    print(f"state: {bench.tmp}\nload average at start: {os.getloadavg()}", flush=True)
    champion, challenger = prepare(bench)
    print(f"  champion v{champion}, challenger v{challenger}", flush=True)
    known = sorted(set(pd.read_parquet(DATA / "adult" / "entities.parquet")[KEY]))
    ids = [int(i) for i in random.Random(7).sample(known, args.ids)]
    bodies = [json.dumps({"entities": [{KEY: i}]}).encode() for i in ids]
    served, batches = service_cases(bench, args, bodies)
    X, model = feature_rows(bench.tracking_uri, bench.repo, ids)
    split = json.loads(X.to_json(orient="split", index=False))
    rows = [
        json.dumps({"dataframe_split": {"columns": split["columns"], "data": [row]}}).encode()
        for row in split["data"]
    ]
    baseline = mlflow_cases(bench, args, champion, rows)
    sizes = sorted({*CONCURRENCY, *(max(1, round(b)) for b in batches.values())})
    limits = {b: physical(X, model, b, min(args.seconds, 5)) for b in sizes}
    two = {b: physical_two(bench, ids, b, min(args.seconds, 5)) for b in sizes}
    print(f"load average at end: {os.getloadavg()}\n")
    report(served, batches, baseline, limits, two)


def report(
    served: dict[str, Result],
    batches: dict[str, float],
    baseline: dict[str, Result],
    limits: dict[int, Result],
    two: dict[int, float],
) -> None:
    def rows_per_second(batch: int) -> float:
        return limits[batch].errors / limits[batch].seconds

    print("| case | in flight | answered | errors | req/s | p50 ms | p99 ms | mean batch |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in {**served, **baseline}.items():
        name, flight = label.rsplit(", ", 1)
        formed = f"{batches[label]:.1f}" if label in batches else "-"
        print(
            f"| {name} | {flight.split()[0]} | {len(r.latencies)} | {r.errors} | "
            f"{r.rate:.0f} | {r.percentile_ms(50):.2f} | {r.percentile_ms(99):.2f} | {formed} |"
        )
    print("\n| predict_proba batch | calls/s | rows/s, 1 process | rows/s, 2 processes | p50 ms |")
    print("|---|---|---|---|---|")
    for batch, r in limits.items():
        print(
            f"| {batch} | {r.rate:.0f} | {rows_per_second(batch):.0f} | {two[batch]:.0f} | "
            f"{r.percentile_ms(50):.2f} |"
        )
    print("\n| in flight | champion / mlflow | shadow / champion | champion / limit (1 proc) "
          "| champion / limit (2 procs) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for in_flight in CONCURRENCY:
        champ = served[f"serve champion, {in_flight} in flight"]
        shadow = served[f"serve shadow, {in_flight} in flight"]
        mlflow = baseline[f"mlflow models serve, {in_flight} in flight"]
        batch = max(1, round(batches[f"serve champion, {in_flight} in flight"]))
        print(
            f"| {in_flight} | {champ.rate / mlflow.rate:.2f}x | {shadow.rate / champ.rate:.2f} | "
            f"{champ.rate / rows_per_second(batch):.2f} (batch {batch}) | "
            f"{champ.rate / two[batch]:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per measured case")
    parser.add_argument("--ids", type=int, default=2000, help="distinct entity ids drawn")
    parser.add_argument("--workers", type=int, help="service workers (default: serve's)")
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
