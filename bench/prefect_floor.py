"""Benchmark: what Prefect alone costs a training run, the floor under bench/overhead.py.

The same shape as `mlops-spec run` of the Adult spec, with no work inside: a flow with 13 task
runs (the training flow's count) that publishes 9 artifacts (markdown and tables) and logs a
line per task, in a fresh process against a running Prefect server, versus a fresh process
that imports nothing. The difference is the fixed price of running the steps as a Prefect flow
(imports, the engine's API calls, log and event shipping, shutdown), which no change inside
mlops-spec can remove; bench/overhead.py's ratio cannot fall below
``(baseline + floor) / baseline``.

    .venv/bin/python bench/prefect_floor.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.prefect_server import QUIET, running_server  # noqa: E402

FLOW = """
from prefect import flow, task, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

@task(persist_result=False)
def step(i: int) -> int:
    get_run_logger().info("step %d", i)
    if i < 9:
        if i % 2:
            create_table_artifact(key=f"table-{i}", table=[{"a": i, "b": i * 2}])
        else:
            create_markdown_artifact(key=f"md-{i}", markdown=f"# step {i}")
    return i

@flow(name="prefect-floor")
def shape() -> int:
    return sum(step(i) for i in range(13))

shape()
"""


def timed(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-prefect-floor-"))
    empty, flows = [], []
    with running_server(scratch / "server") as server:
        env = {**os.environ, **QUIET, **server.env}
        timed(FLOW, env)  # the server's first flow registers the flow and warms its database
        for _ in range(args.runs):
            empty.append(timed("pass", env))
            flows.append(timed(FLOW, env))
    e, f = statistics.median(empty), statistics.median(flows)
    print(f"empty process: {e:.2f} s; 13-task flow with 9 artifacts: {f:.2f} s (runs: ", end="")
    print(", ".join(f"{x:.2f}" for x in flows) + ")")
    print(f"Prefect floor per run: {f - e:.2f} s")


if __name__ == "__main__":
    main()
