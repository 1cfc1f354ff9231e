"""Split, tune, fit, evaluate and fairness as Prefect tasks over the scikit-learn adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.runtime import flow_run

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.adapters.data_files import write_frame
from mlops_spec.adapters.estimators import build_pipeline, split_columns
from mlops_spec.adapters.evaluation import evaluate, predict_for_evaluation
from mlops_spec.adapters.prediction import PROBA_PREFIX, predict
from mlops_spec.adapters.splitting import holdout_split, label_shift, rows_outside, split_frame
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime import reports
from mlops_spec.runtime.step_log import found
from mlops_spec.runtime.steps import PLAIN
from mlops_spec.settings import Settings
from mlops_spec.spec import Task


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    y_pred: np.ndarray
    y_score: np.ndarray | None


@task(name="split", **PLAIN)
def split(loaded: LoadedSpec, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The training and test rows, and warnings about them (a label whose rate moved, rows a
    column split leaves out), which the run reports in its summary and artifacts."""
    spec = loaded.spec
    train, test = split_frame(
        frame,
        spec.split,
        label=spec.data.label,
        timestamp=spec.data.timestamp,
        task=spec.model.task,
    )
    warnings = label_shift(train, test, spec.data.label, spec.model.task)
    left_out = rows_outside(frame, spec.split)
    if left_out:
        warnings.append(
            f"{left_out} rows have a value of '{spec.split.column}' on no side and are left out"
        )
    logger = get_run_logger()
    logger.info(
        "split %s: %d train rows, %d test rows", spec.split.summary(), len(train), len(test)
    )
    for warning in warnings:
        logger.warning("split: %s", warning)
    return train, test, warnings


def _objective(
    loaded: LoadedSpec, settings: Settings, train: pd.DataFrame, features: list[str], jobs: int
) -> Any:
    """The study's objective on a validation holdout of the training rows."""
    from mlops_spec.adapters.tuning import make_objective

    spec = loaded.spec
    assert spec.tuning is not None
    if spec.tuning.cv is not None:
        return _cv_objective(loaded, settings, train, features, jobs)
    fit_rows, validation = split_frame(
        train,
        holdout_split(spec.split),
        label=spec.data.label,
        timestamp=spec.data.timestamp,
        task=spec.model.task,
    )
    return make_objective(
        estimator=spec.model.estimator,
        base_params=spec.model.params,
        train=fit_rows,
        validation=validation,
        features=features,
        label=spec.data.label,
        task=spec.model.task,
        metric=spec.tuning.metric,
        allowed=settings.allowed_estimators,
        seed=spec.tuning.seed,
        search_space=list(spec.tuning.search_space),
        parallelism=jobs,
    )


def _cv_objective(
    loaded: LoadedSpec, settings: Settings, train: pd.DataFrame, features: list[str], jobs: int
) -> Any:
    """The study's objective as the mean over ``tuning.cv`` folds of the training rows, the
    folds made the way the spec splits (grouped, time-ordered or stratified)."""
    from mlops_spec.adapters.splitting import cv_folds
    from mlops_spec.adapters.tuning_cv import make_cv_objective

    spec = loaded.spec
    tuning = spec.tuning
    assert tuning is not None and tuning.cv is not None
    kind, folds = cv_folds(
        train,
        spec.split,
        k=tuning.cv,
        label=spec.data.label,
        timestamp=spec.data.timestamp,
        task=spec.model.task,
    )
    get_run_logger().info("tuning on %d %s cross-validation folds", len(folds), kind)
    return make_cv_objective(
        estimator=spec.model.estimator,
        base_params=spec.model.params,
        train=train.reset_index(drop=True),
        folds=folds,
        features=features,
        label=spec.data.label,
        task=spec.model.task,
        metric=tuning.metric,
        allowed=settings.allowed_estimators,
        seed=tuning.seed,
        search_space=list(tuning.search_space),
        parallelism=jobs,
    )


@task(name="tune-shard", **PLAIN)
def tune_shard(
    loaded: LoadedSpec,
    settings: Settings,
    train: pd.DataFrame,
    features: list[str],
    study_name: str,
    shard: int,
) -> int:
    """One worker's share of a study in shared storage: trials one at a time until the study
    holds ``n_trials`` finished trials. Submitted ``parallelism`` times to the flow's task
    runner (Dask), so trials run on the cluster's workers; returns the trials it ran."""
    from mlops_spec.adapters.tuning import tune as run_study

    spec = loaded.spec
    assert spec.tuning is not None
    seed = None if spec.tuning.seed is None else spec.tuning.seed + shard
    result = run_study(
        study_name=study_name,
        storage_url=settings.optuna_storage_url,
        tuning=spec.tuning.model_copy(update={"parallelism": 1, "seed": seed}),
        direction=spec.tuning_direction.value,
        objective_fn=_objective(loaded, settings, train, features, 1),
        show_progress=False,
        trial_attrs={"flow_run": str(flow_run.id)},
    )
    return result.trials_this_run


@task(name="tune", **PLAIN)
def tune(
    loaded: LoadedSpec,
    settings: Settings,
    train: pd.DataFrame,
    features: list[str],
    study_name: str,
    run_id: str,
    show_progress: bool,
) -> dict[str, Any]:
    """An Optuna study on a validation holdout of the training rows; returns the best params.

    After ``tune_shard`` tasks filled the study this only records it (no trial is missing)."""
    from mlops_spec.adapters import plots  # noqa: F401  (matplotlib Agg set up before figures)
    from mlops_spec.adapters.tuning import tune as run_study

    spec = loaded.spec
    assert spec.tuning is not None
    objective = _objective(loaded, settings, train, features, spec.tuning.parallelism)
    result = run_study(
        study_name=study_name,
        storage_url=settings.optuna_storage_url,
        tuning=spec.tuning,
        direction=spec.tuning_direction.value,
        objective_fn=objective,
        show_progress=show_progress,
        trial_attrs={"flow_run": str(flow_run.id)},
    )
    importances = result.importances()  # fANOVA: computed once, logged and reported
    _log_study(loaded, settings, study_name, run_id, result, importances)
    _log_cv(loaded, run_id, result)
    _report_study(loaded, study_name, result, importances)
    found(
        run_id,
        "tuning %s: %d trials run (%d complete, %d pruned, %d failed in the study); "
        "best validation %s = %s with %s",
        study_name,
        result.trials_this_run,
        result.n_complete,
        result.n_pruned,
        result.n_failed,
        spec.tuning.metric,
        reports.table_cell(result.best_value),
        {k: reports.table_cell(v) for k, v in result.best_params.items()},
    )
    return dict(result.best_params)


def _log_cv(loaded: LoadedSpec, run_id: str, result: Any) -> None:
    """With ``tuning.cv``: the best trial's fold scores, mean and spread, on the run and in
    its log line."""
    from mlops_spec.adapters.tuning_cv import CV_SCORES, CV_STD

    tuning = loaded.spec.tuning
    assert tuning is not None
    if tuning.cv is None:
        return
    attrs = result.study.best_trial.user_attrs
    scores, spread = attrs.get(CV_SCORES, []), attrs.get(CV_STD)
    if spread is None:
        return
    mlflow_tracking.log_metrics(run_id, {f"validation_{tuning.metric}_cv_std": spread})
    mlflow_tracking.log_dict(run_id, {"fold_scores": scores}, "reports/cv_folds.json")
    found(
        run_id,
        "best trial's %d-fold %s: mean %s, spread (std) %s, folds %s",
        len(scores),
        tuning.metric,
        reports.table_cell(result.best_value),
        reports.table_cell(spread),
        [reports.table_cell(score) for score in scores],
    )


def _log_study(
    loaded: LoadedSpec,
    settings: Settings,
    study_name: str,
    run_id: str,
    result: Any,
    importances: dict[str, float],
) -> None:
    """The study on the MLflow run: best params, trial counts, history, importances, plots."""
    from mlops_spec.adapters.tuning_storage import redact_url

    tuning = loaded.spec.tuning
    assert tuning is not None
    mlflow_tracking.log_params(run_id, {f"best.{k}": v for k, v in result.best_params.items()})
    mlflow_tracking.log_metrics(
        run_id,
        {
            f"validation_{tuning.metric}": result.best_value,
            "tuning_trials_complete": result.n_complete,
            "tuning_trials_pruned": result.n_pruned,
            "tuning_trials_failed": result.n_failed,
            "tuning_fit_seconds": result.fit_seconds_total,
        },
    )
    mlflow_tracking.set_tags(
        run_id,
        {"optuna.study": study_name, "optuna.storage": redact_url(settings.optuna_storage_url)},
    )
    mlflow_tracking.log_dict(run_id, {"history": result.history}, "tuning/history.json")
    mlflow_tracking.log_dict(run_id, importances, "tuning/param_importances.json")
    mlflow_tracking.log_figure(run_id, result.history_figure(), "tuning/history.png")
    if importances:
        mlflow_tracking.log_figure(run_id, result.importance_figure(), "tuning/importance.png")


def _report_study(
    loaded: LoadedSpec, study_name: str, result: Any, importances: dict[str, float]
) -> None:
    """The study as Prefect artifacts: every trial, and the best with the importances."""
    spec = loaded.spec
    assert spec.tuning is not None
    name = spec.metadata.name
    rows = [
        {
            "trial": h["number"],
            "state": h["state"],
            "value": h["value"],
            "seconds": h.get("duration_s"),
            **{f"p.{k}": v for k, v in h["params"].items()},
        }
        for h in result.history
    ]
    reports.table(name, "tuning-history", rows, f"Optuna study {study_name}: every trial")
    ranked = reports.markdown_table([{"param": k, "importance": v} for k, v in importances.items()])
    reports.markdown(
        name,
        "tuning",
        (
            f"# Tuning: {study_name}\n\nbest validation {spec.tuning.metric}: "
            f"**{result.best_value:.4f}** with `{result.best_params}`\n\n"
            f"{result.n_complete} complete, {result.n_pruned} pruned, {result.n_failed} failed "
            f"({result.trials_this_run} in this run)\n\n"
            + (f"## Parameter importance\n\n{ranked}" if importances else "")
        ),
        "the Optuna study behind this model",
    )


@task(name="fit", **PLAIN)
def fit(
    loaded: LoadedSpec,
    settings: Settings,
    train: pd.DataFrame,
    features: list[str],
    best_params: dict[str, Any],
) -> Any:
    spec = loaded.spec
    numeric, categorical = split_columns(train, features)
    params = {**spec.model.params, **best_params}
    model = build_pipeline(
        spec.model.estimator,
        params,
        numeric=numeric,
        categorical=categorical,
        task=spec.model.task,
        allowed=settings.allowed_estimators,
        seed=spec.split.seed,
    )
    model.fit(train[features], train[spec.data.label])
    get_run_logger().info(
        "fitted %s on %d rows x %d features with %s",
        spec.model.estimator,
        len(train),
        len(features),
        {k: reports.table_cell(v) for k, v in params.items()},
    )
    if spec.model.threshold is None:
        return model
    return _thresholded(loaded, settings, train, features, params, model)


def _thresholded(
    loaded: LoadedSpec,
    settings: Settings,
    train: pd.DataFrame,
    features: list[str],
    params: dict[str, Any],
    model: Any,
) -> Any:
    """The fitted model deciding with the spec's threshold, given or chosen on the validation
    rows (a copy of the model fitted on the other training rows scores them)."""
    from mlops_spec.adapters.thresholds import choose_threshold, with_threshold

    spec = loaded.spec
    label, wanted = spec.data.label, spec.model.threshold
    positive = spec.model.positive_label
    if positive is None:
        positive = model.classes_[1]
    how = "given"
    if isinstance(wanted, float):
        threshold = wanted
    else:
        assert wanted is not None
        fit_rows, validation = split_frame(
            train, holdout_split(spec.split), label=label, timestamp=spec.data.timestamp,
            task=spec.model.task,
        )  # fmt: skip
        numeric, categorical = split_columns(fit_rows, features)
        probe = build_pipeline(
            spec.model.estimator, params, numeric=numeric, categorical=categorical,
            task=spec.model.task, allowed=settings.allowed_estimators, seed=spec.split.seed,
        )  # fmt: skip
        probe.fit(fit_rows[features], fit_rows[label])
        answers = predict(probe, validation[features], spec.model.task)
        scores = answers[f"{PROBA_PREFIX}{positive}"].to_numpy()
        outcome = positive_indicator(validation[label], positive)
        threshold = choose_threshold(outcome, scores, wanted)
        how = f"chosen on {len(validation)} validation rows ({_goal(wanted)})"
    get_run_logger().info(
        "decision threshold %s for %s = %r, %s",
        reports.table_cell(threshold),
        label,
        positive,
        how,
    )
    return with_threshold(model, threshold, train[features], train[label], positive)


def _goal(search: Any) -> str:
    return (
        f"best {search.optimize.value}"
        if search.optimize
        else f"precision >= {search.precision_at}"
    )


def score(
    model: Any, frame: pd.DataFrame, features: list[str], label: str, task_kind: Task
) -> Evaluation:
    y_pred, y_score = predict_for_evaluation(model, frame[features], task_kind)
    classes = list(getattr(model, "classes_", [])) or None
    metrics = evaluate(task_kind, frame[label].to_numpy(), y_pred, y_score, classes)
    return Evaluation(metrics, y_pred, y_score)


@task(name="evaluate", **PLAIN)
def evaluate_model(
    loaded: LoadedSpec, model: Any, test: pd.DataFrame, features: list[str], run_id: str
) -> Evaluation:
    from mlops_spec.adapters import plots

    spec = loaded.spec
    result = score(model, test, features, spec.data.label, spec.model.task)
    mlflow_tracking.log_metrics(run_id, {f"test_{k}": v for k, v in result.metrics.items()})
    y_true = test[spec.data.label].to_numpy()
    if spec.model.task is Task.binary_classification and result.y_score is not None:
        figure = plots.roc_pr_figure(y_true, result.y_score, pos_label=model.classes_[1])
        mlflow_tracking.log_figure(run_id, figure, "plots/roc_pr.png")
    elif spec.model.task is Task.multiclass_classification:
        figure = plots.multiclass_confusion_figure(y_true, result.y_pred, list(model.classes_))
        mlflow_tracking.log_figure(run_id, figure, "plots/confusion.png")
    elif spec.model.task is Task.regression:
        mlflow_tracking.log_figure(
            run_id, plots.residual_figure(y_true, result.y_pred), "plots/residuals.png"
        )
    _log_test_predictions(run_id, test_predictions(loaded, model, test, result))
    rows = [{"metric": k, "value": v} for k, v in result.metrics.items()]
    reports.table(spec.metadata.name, "evaluation", rows, f"test-set metrics ({len(test)} rows)")
    shown = ", ".join(f"{k}={reports.table_cell(v)}" for k, v in result.metrics.items())
    found(run_id, "test metrics on %d rows: %s", len(test), shown)
    return result


TEST_PREDICTIONS = "predictions/test_predictions.parquet"


def test_predictions(
    loaded: LoadedSpec, model: Any, test: pd.DataFrame, result: Evaluation
) -> pd.DataFrame:
    """Each test row's keys, event time, label and what the model said (its prediction, and
    its probability per class for a classifier): what a reviewer of a failed version needs
    to see where it went wrong."""
    data = loaded.spec.data
    frame = test[[*data.entity_keys, data.timestamp, data.label]].reset_index(drop=True)
    frame["prediction"] = result.y_pred
    if result.y_score is not None:
        classes = list(getattr(model, "classes_", []))
        scores = np.asarray(result.y_score)
        if scores.ndim == 1:  # binary: the positive class's probability
            frame[f"probability_{classes[1]}"] = scores
        else:
            for index, value in enumerate(classes):
                frame[f"probability_{value}"] = scores[:, index]
    return frame


def _log_test_predictions(run_id: str, frame: pd.DataFrame) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(TEST_PREDICTIONS).name
        write_frame(frame, local)
        mlflow_tracking.log_artifact_file(run_id, local, str(Path(TEST_PREDICTIONS).parent))


def positive_indicator(values: Any, positive: Any) -> np.ndarray:
    indicator: np.ndarray = (np.asarray(values) == positive).astype(int)
    return indicator
