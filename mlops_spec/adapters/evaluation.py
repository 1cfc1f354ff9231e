"""Metrics for a fitted model, named exactly as ``TASK_METRICS`` names them.

Gates, tuning objectives and champion comparisons look metrics up by these names, so this
module always returns every name for the task: a metric that cannot be computed on the given
rows (ROC AUC with one class present, log loss without probabilities) is ``nan`` rather than
missing, and the caller decides whether that blocks anything.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from mlops_spec.adapters import prediction
from mlops_spec.errors import StepError
from mlops_spec.spec.metrics import TASK_METRICS, Task

NAN = float("nan")


def predict_for_evaluation(model: Any, X: Any, task: Task) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(y_pred, y_score)`` for ``evaluate``, from the prediction function scoring and
    serving use (``prediction.predict``), so the metrics describe the answers users get.

    ``y_score`` is the positive-class probability for binary tasks and the full probability
    matrix (columns in ``model.classes_`` order) for multiclass. Estimators without
    ``predict_proba`` (SGD with hinge loss, for example) give ``decision_function`` values
    instead: ranking metrics stay valid, log loss becomes ``nan``. Regression has no score.
    """
    answers = prediction.predict(model, X, task)
    y_pred = answers[prediction.PREDICTION].to_numpy()
    if task is Task.regression:
        return y_pred, None
    proba = prediction.class_probabilities(answers)
    if proba is not None:
        return y_pred, proba[:, 1] if task is Task.binary_classification else proba
    return y_pred, prediction.decision_scores(model, X)


def evaluate(
    task: Task,
    y_true: Any,
    y_pred: Any,
    y_score: Any,
    classes: Sequence[Any] | None,
) -> dict[str, float]:
    """Compute every metric of ``TASK_METRICS[task]``.

    ``classes`` is the model's ``classes_`` (the column order of ``y_score``); for binary tasks
    ``classes[1]`` is the positive class. Whether ``y_score`` holds probabilities is inferred
    (values within [0, 1], rows summing to one for multiclass); decision values only feed the
    ranking metrics.
    """
    y_true_arr = np.asarray(y_true)
    y_pred_arr = np.asarray(y_pred)
    if len(y_true_arr) == 0 or len(y_true_arr) != len(y_pred_arr):
        raise StepError(
            f"cannot evaluate {len(y_pred_arr)} predictions against {len(y_true_arr)} labels"
        )
    if task is Task.regression:
        metrics = _regression(y_true_arr.astype(float), y_pred_arr.astype(float))
    else:
        if classes is None:
            raise StepError("classification metrics need the model's classes")
        score = None if y_score is None else np.asarray(y_score, dtype=float)
        if task is Task.binary_classification:
            metrics = _binary(y_true_arr, y_pred_arr, score, list(classes))
        else:
            metrics = _multiclass(y_true_arr, y_pred_arr, score, list(classes))
    expected = TASK_METRICS[task]
    assert tuple(metrics) == expected, (tuple(metrics), expected)
    return metrics


def _regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else NAN,
    }


def _binary(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None, classes: list[Any]
) -> dict[str, float]:
    if len(classes) != 2:
        raise StepError(f"a binary task needs exactly two classes, the model has {classes}")
    positive = classes[1]
    truth = (y_true == positive).astype(int)
    both_present = 0 < truth.sum() < len(truth)
    is_proba = score is not None and bool(np.all((score >= 0) & (score <= 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision etc. are reported as 0 by design
        return {
            "roc_auc": _safe(roc_auc_score, truth, score) if both_present else NAN,
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "f1": float(f1_score(y_true, y_pred, pos_label=positive, zero_division=0)),
            "precision": float(
                precision_score(y_true, y_pred, pos_label=positive, zero_division=0)
            ),
            "recall": float(recall_score(y_true, y_pred, pos_label=positive, zero_division=0)),
            "log_loss": _safe(log_loss, truth, score, labels=[0, 1]) if is_proba else NAN,
            "average_precision": _safe(average_precision_score, truth, score)
            if both_present
            else NAN,
        }


def _multiclass(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None, classes: list[Any]
) -> dict[str, float]:
    is_proba = (
        score is not None
        and score.ndim == 2
        and bool(np.all((score >= 0) & (score <= 1)))
        and bool(np.allclose(score.sum(axis=1), 1.0, atol=1e-6))
    )
    per_class: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("macro", "weighted"):
            for name, fn in (
                ("f1", f1_score),
                ("precision", precision_score),
                ("recall", recall_score),
            ):
                per_class[f"{name}_{average}"] = float(
                    fn(y_true, y_pred, average=average, zero_division=0)
                )
    macro_auc, weighted_auc = _ovr_auc(y_true, score, classes)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": per_class["f1_macro"],
        "f1_weighted": per_class["f1_weighted"],
        "precision_macro": per_class["precision_macro"],
        "precision_weighted": per_class["precision_weighted"],
        "recall_macro": per_class["recall_macro"],
        "recall_weighted": per_class["recall_weighted"],
        "roc_auc_ovr_macro": macro_auc,
        "roc_auc_ovr_weighted": weighted_auc,
        "log_loss": _safe(log_loss, y_true, score, labels=classes) if is_proba else NAN,
    }


def _ovr_auc(
    y_true: np.ndarray, score: np.ndarray | None, classes: list[Any]
) -> tuple[float, float]:
    """One-vs-rest ROC AUC, macro and prevalence-weighted, as sklearn's ``multi_class='ovr'``.

    Computed per class so it also works with decision values (sklearn insists on rows summing
    to one) and skips classes absent from ``y_true`` (sklearn raises) instead of failing.
    """
    if score is None or score.ndim != 2 or score.shape[1] != len(classes):
        return NAN, NAN
    aucs: list[float] = []
    weights: list[int] = []
    for column, cls in enumerate(classes):
        truth = (y_true == cls).astype(int)
        if 0 < truth.sum() < len(truth):
            aucs.append(float(roc_auc_score(truth, score[:, column])))
            weights.append(int(truth.sum()))
    if not aucs:
        return NAN, NAN
    return float(np.mean(aucs)), float(np.average(aucs, weights=weights))


def _safe(fn: Any, *args: Any, **kwargs: Any) -> float:
    """A metric that the data cannot support is ``nan``, not a crash."""
    if any(arg is None for arg in args):
        return NAN
    try:
        value = float(fn(*args, **kwargs))
    except ValueError:
        return NAN
    return value if not math.isinf(value) else NAN
