"""Benchmark: `mlops-spec validate` of 50 specs in a cold process (goal: well under a second).

Writes 50 copies of the demo specs (distinct names) to a temporary folder inside the project,
then times complete CLI processes, median of N runs. The baseline is the same work by hand
with the same libraries: `yaml.safe_load` + `TrainingPipeline.model_validate` in a cold process.

    .venv/bin/python bench/validate_cold.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = """
import sys, yaml
from pathlib import Path
from mlops_spec.spec import TrainingPipeline
for p in sorted(Path(sys.argv[1]).glob('*.yaml')):
    TrainingPipeline.model_validate(yaml.safe_load(p.read_text().replace(
        '${MLOPS_SPEC_DATA_DIR:-.mlops/data}', '.mlops/data').replace(
        '${FLIGHTS_ENTITIES:-.mlops/data/flights/entities.parquet}', 'x.parquet')))
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-specs-", dir=ROOT))
    try:
        sources = sorted((ROOT / "specs").glob("*.yaml"))
        for i in range(50):
            text = sources[i % len(sources)].read_text()
            (folder / f"spec_{i:02d}.yaml").write_text(
                text.replace("name: ", f"name: b{i:02d}-", 1)
            )
        cli = [str(Path(sys.executable).parent / "mlops-spec"), "validate", "-q", str(folder)]
        hand = [sys.executable, "-c", BASELINE, str(folder)]
        ours = [timed(cli) for _ in range(args.runs)]
        base = [timed(hand) for _ in range(args.runs)]
    finally:
        shutil.rmtree(folder)
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"validate 50 specs, cold process, median of {args.runs}: {m_ours:.3f} s")
    print(f"by hand (yaml.safe_load + model_validate, no positions/policies): {m_base:.3f} s")
    print(f"ratio: {m_ours / m_base:.2f}x")


if __name__ == "__main__":
    main()
