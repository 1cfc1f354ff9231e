"""Benchmark: the project's profile + data constraints + fairness vs raw whylogs profiling alone.

The frame is the Adult training frame (entity rows joined with their census features, 48,842
rows; ``--scale`` resamples it with replacement to more rows), with a ``y_pred`` column from a
logistic regression so fairness has predictions to judge. The project path is what a training
run does after feature retrieval: ``whylogs_profiling.profile_frame`` (with the project's extra
frequent-items resolver and the numpy-2 dtype workaround), ``check_constraints`` with the Adult
spec's data constraints, and ``fairness_report`` with its fairness rules (whylogs segmented
profiles). The baseline is ``why.log(frame).view()`` on the same frame, nothing else.

    .venv/bin/python bench/profiling.py [--rows 48842 500000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import whylogs as why
from sklearn.linear_model import LogisticRegression

from mlops_spec.adapters import whylogs_profiling
from mlops_spec.adapters.fairness import fairness_report
from mlops_spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".mlops" / "data" / "adult"
NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def adult_frame(rows: int) -> pd.DataFrame:
    entities = pd.read_parquet(DATA / "entities.parquet")
    features = pd.read_parquet(DATA / "features.parquet").drop(columns=["event_timestamp"])
    frame = entities.merge(features, on="person_id").drop(columns=["event_timestamp"])
    model = LogisticRegression(max_iter=1000).fit(frame[NUMERIC], frame["income_gt_50k"])
    frame["y_true"] = frame["income_gt_50k"]
    frame["y_pred"] = model.predict(frame[NUMERIC]).astype(int)
    if rows != len(frame):
        frame = frame.sample(n=rows, replace=rows > len(frame), random_state=0)
    return frame.reset_index(drop=True)


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: imports and whylogs' lazy initialisation
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[48_842, 500_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec(ROOT / "specs" / "adult_income.yaml").spec
    fairness = spec.constraints.fairness
    assert fairness is not None

    print("| rows | profile + constraints + fairness s | raw whylogs profile s | ratio |")
    print("|---|---|---|---|")
    for rows in args.rows:
        frame = adult_frame(rows)

        def project(frame: pd.DataFrame = frame) -> object:
            view = whylogs_profiling.profile_frame(frame)
            report = whylogs_profiling.check_constraints(
                view, spec.constraints.data, row_count=len(frame)
            )
            assert report.passed
            return fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=fairness)

        def baseline(frame: pd.DataFrame = frame) -> object:
            return why.log(frame).view()

        ours = median_seconds(project, args.runs)
        raw = median_seconds(baseline, args.runs)
        print(f"| {rows:,} | {ours:.2f} | {raw:.2f} | {ours / raw:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
