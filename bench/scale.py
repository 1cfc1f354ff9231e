"""Benchmark: how each training step of the flights demo grows with the number of rows.

The flights spec's steps, through the project's adapters, at 10k, 100k, the full 327k real
flights, 1M and 5M rows (more than 327k: the real flights resampled with replacement, each
copy keeping its real key, origin and time). Per step: wall seconds and the peak resident
memory above the level before the step (psutil, sampled every 20 ms in a thread). Tuning runs a
fixed 2 trials so every size does the same number of fits. Each size runs in its own process so
one size's memory does not hide the next one's.

    .venv/bin/python bench/scale.py [--rows 10000 100000 327346 1000000 5000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["retrieve_features", "profile", "constraints", "split", "tune", "fit", "evaluate"]
STEPS += ["log_and_register"]


@contextmanager
def measured(results: dict[str, Any], step: str) -> Iterator[None]:
    import psutil

    process = psutil.Process()
    base = process.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        results[step] = {"seconds": elapsed, "peak_mb": (peak[0] - base) / 2**20}


def one_size(rows: int) -> dict[str, Any]:
    import pandas as pd

    from mlops_spec.adapters import feast_store, mlflow_registry, whylogs_profiling
    from mlops_spec.adapters.estimators import build_pipeline, split_columns
    from mlops_spec.adapters.evaluation import evaluate, predict_for_evaluation
    from mlops_spec.adapters.splitting import holdout_split, split_frame
    from mlops_spec.adapters.tuning import make_objective, tune
    from mlops_spec.loader import load_spec

    spec = load_spec(ROOT / "specs" / "flight_delays.yaml").spec
    assert spec.tuning is not None
    real = pd.read_parquet(ROOT / ".mlops" / "data" / "flights" / "entities.parquet")
    entities = real.sample(n=rows, replace=rows > len(real), random_state=0).reset_index(drop=True)
    label, ts = spec.data.label, spec.data.timestamp
    out: dict[str, Any] = {"rows": rows}
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))

    step: Callable[[str], Any] = lambda name: measured(out, name)  # noqa: E731
    with step("retrieve_features"):
        retrieved = feast_store.retrieve_features(
            ROOT / "feature_repo", entities, service=spec.features.service, timestamp_column=ts
        )
    frame = retrieved.frame
    features = [c for c in retrieved.feature_columns if c != label]
    with step("profile"):
        view = whylogs_profiling.profile_frame(frame[[*features, label]])
    with step("constraints"):
        whylogs_profiling.check_constraints(view, spec.constraints.data, row_count=len(frame))
    with step("split"):
        train, test = split_frame(frame, spec.split, label=label, timestamp=ts, task=spec.task)
        fit_rows, validation = split_frame(
            train, holdout_split(spec.split), label=label, timestamp=ts, task=spec.task
        )
    tuning = spec.tuning.model_copy(update={"n_trials": 2, "timeout": None})
    with step("tune"):
        objective = make_objective(
            estimator=spec.model.estimator,
            base_params=spec.model.params,
            train=fit_rows,
            validation=validation,
            features=features,
            label=label,
            task=spec.task,
            metric=tuning.metric,
            seed=tuning.seed,
            search_space=list(tuning.search_space),
            parallelism=tuning.parallelism,
        )
        result = tune(
            study_name="scale",
            storage_url=f"journal:{scratch / 'optuna.journal'}",
            tuning=tuning,
            direction="maximize",
            objective_fn=objective,
            show_progress=False,
        )
    with step("fit"):
        numeric, categorical = split_columns(train, features)
        model = build_pipeline(
            spec.model.estimator,
            {**spec.model.params, **result.best_params},
            numeric=numeric,
            categorical=categorical,
            task=spec.task,
            seed=spec.split.seed,
        )
        model.fit(train[features], train[label])
    with step("evaluate"):
        y_pred, y_score = predict_for_evaluation(model, test[features], spec.task)
        metrics = evaluate(spec.task, test[label].to_numpy(), y_pred, y_score, model.classes_)
    with step("log_and_register"):
        mlflow_registry.configure(f"sqlite:///{scratch / 'mlflow.db'}", scratch / "artifacts")
        with mlflow_registry.tracked_run("flights-scale", f"rows-{rows}", {}) as run_id:
            mlflow_registry.log_and_register_model(
                model,
                run_id=run_id,
                registered_name="flights-scale",
                input_example=train[features],
                pip_requirements=mlflow_registry.pinned_requirements(),
                tags={},
            )
    out["roc_auc"] = metrics["roc_auc"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 327_346])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    results = []
    for rows in args.rows:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(rows)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{rows:,} rows done", file=sys.stderr, flush=True)
    print("| step | " + " | ".join(f"{r['rows']:,} rows s (MB)" for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for name in STEPS:
        cells = [f"{r[name]['seconds']:.2f} ({r[name]['peak_mb']:.0f})" for r in results]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| test ROC AUC | " + " | ".join(f"{r['roc_auc']:.3f}" for r in results) + " |")


if __name__ == "__main__":
    main()
