"""The cross-validated objective (``tuning.cv``): a trial is fitted on each fold's fit rows and
scored on its validation rows, and its value is the fold mean.

After each fold the running mean is reported to the trial, so Optuna's pruner can stop a
hopeless trial after a fold or two (the fold index is the pruner's step). Every fold's score,
their mean and their spread (the population standard deviation) are stored on the trial, so a
best value that rests on one lucky fold shows.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from mlops_spec.adapters.estimators import (
    DEFAULT_ALLOWED,
    build_pipeline,
    check_params,
    fit_in_steps,
    resolve_estimator,
    split_columns,
)
from mlops_spec.adapters.splitting import Folds
from mlops_spec.adapters.tuning import (
    ObjectiveFn,
    TrialReporter,
    threads_per_trial,
    validation_score,
)
from mlops_spec.errors import StepError
from mlops_spec.spec.metrics import TASK_METRICS, Task

CV_SCORES, CV_MEAN, CV_STD = "cv_scores", "cv_mean", "cv_std"


def make_cv_objective(
    *,
    estimator: str,
    base_params: Mapping[str, Any],
    train: pd.DataFrame,
    folds: Folds,
    features: list[str],
    label: str,
    task: Task,
    metric: str,
    allowed: frozenset[str] = DEFAULT_ALLOWED,
    seed: int | None = None,
    search_space: Iterable[str] = (),
    parallelism: int = 1,
) -> ObjectiveFn:
    """``base_params`` overlaid with the trial's, fitted and scored once per fold; the value
    is the mean of the fold scores of ``metric``."""
    if metric not in TASK_METRICS[task]:
        raise StepError(f"metric '{metric}' is not produced for {task.value}")
    cls = resolve_estimator(estimator, allowed)
    check_params(estimator, [*base_params, *search_space], cls)
    numeric, categorical = split_columns(train, features)
    X, y = train[features], train[label]
    threads = threads_per_trial(parallelism)

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        scores: list[float] = []
        for step, (fit_at, valid_at) in enumerate(folds):
            pipeline = build_pipeline(
                estimator,
                {**base_params, **params},
                numeric=numeric,
                categorical=categorical,
                task=task,
                allowed=allowed,
                seed=seed,
                resolved=cls,
            )
            for _ in fit_in_steps(
                pipeline, X.iloc[fit_at], y.iloc[fit_at], n_steps=1, n_threads=threads
            ):
                pass  # one whole fit, within the trial's share of the cores
            scores.append(
                validation_score(pipeline, X.iloc[valid_at], y.iloc[valid_at], task, metric)
            )
            reporter.set_attr(CV_SCORES, scores)
            reporter.report(statistics.fmean(scores), step)
        mean, spread = statistics.fmean(scores), statistics.pstdev(scores)
        reporter.set_attr(CV_MEAN, mean)
        reporter.set_attr(CV_STD, spread)
        return mean

    return objective
