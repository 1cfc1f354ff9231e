"""The decision threshold of a binary classifier: chosen on validation rows, and made part of
the model with scikit-learn's ``FixedThresholdClassifier`` around the fitted pipeline (frozen,
so it is not refitted), so every caller of ``predict`` (evaluation, fairness, batch scoring,
the online service, ``mlflow models serve``) decides with the same threshold.

The candidates are scikit-learn's own: ``precision_recall_curve`` for F1 and a precision
target, ``roc_curve`` for Youden's J. A row is positive when its probability is at or above
the threshold (scikit-learn's rule for both the curves and ``FixedThresholdClassifier``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import precision_recall_curve, roc_curve
from sklearn.model_selection import FixedThresholdClassifier

from mlops_spec.errors import StepError
from mlops_spec.spec.sections import ThresholdGoal, ThresholdSearch


def choose_threshold(positive: np.ndarray, scores: np.ndarray, search: ThresholdSearch) -> float:
    """The threshold ``search`` asks for, given 0/1 ``positive`` outcomes and the positive
    class's probabilities ``scores`` on validation rows."""
    if len(np.unique(positive)) < 2:
        raise StepError("choosing a threshold needs both classes among the validation rows")
    if search.optimize is ThresholdGoal.youden:
        fpr, tpr, thresholds = roc_curve(positive, scores)
        finite = np.isfinite(thresholds)
        best = int(np.argmax((tpr - fpr)[finite]))
        return float(thresholds[finite][best])
    precision, recall, thresholds = precision_recall_curve(positive, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if search.optimize is ThresholdGoal.f1:
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        return float(thresholds[int(np.argmax(f1))])
    assert search.precision_at is not None
    reached = np.flatnonzero(precision >= search.precision_at)
    if reached.size == 0:
        raise StepError(
            f"no threshold reaches precision {search.precision_at} on the validation rows "
            f"(at most {precision.max():.3f}); lower precision_at"
        )
    return float(thresholds[reached[0]])  # the lowest such threshold: the most recall


def with_threshold(model: Any, threshold: float, X: Any, y: Any, pos_label: Any) -> Any:
    """``model`` (fitted) deciding positive from ``threshold`` on; not refitted."""
    wrapped = FixedThresholdClassifier(
        FrozenEstimator(model),
        threshold=threshold,
        pos_label=pos_label,
        response_method="predict_proba",
    )
    return wrapped.fit(X, y)


def decision_threshold(model: Any) -> tuple[float, Any] | None:
    """``(threshold, positive class)`` of a model made by ``with_threshold``, else None."""
    if isinstance(model, FixedThresholdClassifier):
        return float(model.threshold), model.pos_label
    return None
