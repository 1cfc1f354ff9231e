"""Benchmark: `mlops-spec run` of the Adult spec vs the same steps written by hand.

Both sides run as fresh processes with a fresh state folder (new MLflow SQLite database, new
Optuna journal, no feature cache), alternating, median of ``--runs`` each:

* warm: `mlops-spec run` against a running local Prefect server (started once here, as an
  operator would have it), vs ``bench/handwritten_train.py``;
* cold: `mlops-spec run` with Prefect's ephemeral server (the first-run cost a laptop user pays),
  reported separately.

    .venv/bin/python bench/overhead.py [--runs 3]
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

BIN = Path(sys.executable).parent
SPEC = "specs/adult_income.yaml"


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one process; ``ok`` lists the exit codes that are results, not failures
    (`run` exits 2 when the candidate is kept as challenger)."""
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def ours(state: Path, prefect_env: dict[str, str]) -> float:
    env = {
        **os.environ,
        **QUIET,
        "PREFECT_HOME": str(state / "prefect"),
        "MLOPS_SPEC_STATE_DIR": str(state),
        **prefect_env,
    }
    return timed([str(BIN / "mlops-spec"), "run", "--no-progress", SPEC], env)


def by_hand(state: Path) -> float:
    env = {**os.environ, **QUIET}
    return timed([sys.executable, str(ROOT / "bench" / "handwritten_train.py"), str(state)], env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    warm, hand, cold = [], [], []
    with running_server(scratch / "server") as server:
        for i in range(args.runs):
            hand.append(by_hand(scratch / f"hand-{i}"))
            warm.append(ours(scratch / f"warm-{i}", server.env))
            print(f"run {i}: by hand {hand[-1]:.1f} s, mlops-spec {warm[-1]:.1f} s", flush=True)
    for i in range(args.runs):
        cold.append(ours(scratch / f"cold-{i}", {}))
        print(f"run {i}: mlops-spec, ephemeral Prefect server {cold[-1]:.1f} s", flush=True)
    h, w, c = (statistics.median(x) for x in (hand, warm, cold))
    print("| | median s | ratio to by hand |")
    print("|---|---|---|")
    print(f"| by hand (bench/handwritten_train.py) | {h:.1f} | 1.00x |")
    print(f"| `mlops-spec run`, running Prefect server | {w:.1f} | {w / h:.2f}x |")
    print(f"| `mlops-spec run`, ephemeral server (cold) | {c:.1f} | {c / h:.2f}x |")


if __name__ == "__main__":
    main()
