"""Benchmark: Optuna tuning of the Adult spec, parallel vs sequential trials, pruning vs none.

The objective is the project's own (``mlops_spec.adapters.tuning.make_objective``: the spec's
estimator and search space, fitted in 5 growth stages and scored on the validation holdout),
run through the project's ``tune`` (seeded TPE sampler, the default journal-file storage in a
temporary folder). Data: the Adult training rows (entity rows joined with their
features by ``person_id``, UCI's training period only).

1. ``parallelism: 2`` vs ``parallelism: 1`` with the same trials and seed: wall-time ratio.
   Note that a single HistGradientBoosting fit already uses both cores (OpenMP); two parallel
   trials get one thread each (``threads_per_trial``).
   ``--forest`` runs the same comparison with a single-threaded estimator instead
   (RandomForestClassifier, 100 trees, max_depth and min_samples_leaf tuned), where the
   trials themselves are the only parallelism.
2. ``pruner: median`` vs ``pruner: none``: best validation score of each and the total seconds
   spent fitting (``TuningResult.fit_seconds_total``), sequential, same trials and seed.

    .venv/bin/python bench/tuning.py [--trials 20] [--runs 3] [--forest]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_spec.adapters.splitting import holdout_split, split_frame
from mlops_spec.adapters.tuning import TuningResult, make_objective, tune
from mlops_spec.loader import load_spec
from mlops_spec.spec.tuning import Pruner, Tuning

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".mlops" / "data" / "adult"


def training_rows(spec: Any) -> tuple[pd.DataFrame, list[str]]:
    entities = pd.read_parquet(DATA / "entities.parquet")
    features = pd.read_parquet(DATA / "features.parquet").drop(columns=["event_timestamp"])
    frame = entities.merge(features, on="person_id")
    names = [c for c in features.columns if c != "person_id"]
    train, _ = split_frame(
        frame, spec.split, label=spec.data.label, timestamp=spec.data.timestamp, task=spec.task
    )
    return train, names


def run(spec: Any, train: pd.DataFrame, features: list[str], **tuning: Any) -> TuningResult:
    settings = spec.tuning.model_copy(update=tuning)
    fit_rows, validation = split_frame(
        train,
        holdout_split(spec.split),
        label=spec.data.label,
        timestamp=spec.data.timestamp,
        task=spec.task,
    )
    objective = make_objective(
        estimator=spec.model.estimator,
        base_params=spec.model.params,
        train=fit_rows,
        validation=validation,
        features=features,
        label=spec.data.label,
        task=spec.task,
        metric=settings.metric,
        seed=settings.seed,
        search_space=list(settings.search_space),
        parallelism=settings.parallelism,
    )
    return tune(
        study_name=f"bench-{uuid.uuid4().hex[:8]}",
        storage_url=f"journal:{Path(tempfile.mkdtemp()) / 'bench.journal'}",
        tuning=settings,
        direction="maximize",
        objective_fn=objective,
        show_progress=False,
    )


def timed(spec: Any, train: pd.DataFrame, features: list[str], **tuning: Any) -> float:
    start = time.perf_counter()
    run(spec, train, features, **tuning)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forest", action="store_true", help="parallel vs sequential only")
    args = parser.parse_args()
    spec = load_spec(ROOT / "specs" / "adult_income.yaml").spec
    if args.forest:
        space = {"max_depth": {"int": [4, 16]}, "min_samples_leaf": {"int": [1, 50], "log": True}}
        tuning = Tuning.model_validate(
            {**spec.tuning.model_dump(by_alias=True), "search_space": space}
        )
        model = spec.model.model_copy(
            update={
                "estimator": "sklearn.ensemble.RandomForestClassifier",
                "params": {"n_estimators": 100},
            }
        )
        spec = spec.model_copy(update={"tuning": tuning, "model": model})
    train, features = training_rows(spec)
    common = {"n_trials": args.trials, "timeout": None}

    sequential = [timed(spec, train, features, parallelism=1, **common) for _ in range(args.runs)]
    parallel = [timed(spec, train, features, parallelism=2, **common) for _ in range(args.runs)]
    seq, par = statistics.median(sequential), statistics.median(parallel)
    print(f"| {args.trials} trials, sequential | {seq:.1f} s |")
    print(f"| {args.trials} trials, 2 in parallel | {par:.1f} s |")
    print(f"| speed-up | {seq / par:.2f}x |", flush=True)
    if args.forest:
        return

    pruned = run(spec, train, features, parallelism=1, pruner=Pruner.median, **common)
    full = run(spec, train, features, parallelism=1, pruner=Pruner.none, **common)
    print(
        f"| median pruner | best {pruned.best_value:.4f} | fit {pruned.fit_seconds_total:.1f} s "
        f"| {pruned.n_pruned} pruned |"
    )
    print(f"| no pruner | best {full.best_value:.4f} | fit {full.fit_seconds_total:.1f} s | 0 |")
    print(f"| fit-seconds ratio | {full.fit_seconds_total / pruned.fit_seconds_total:.2f}x |")


if __name__ == "__main__":
    main()
