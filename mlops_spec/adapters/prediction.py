"""One prediction function for scoring, serving and evaluation.

A gate judges a model on what ``evaluate`` computed from its answers, and users then see its
answers through batch scoring and the online service. If each of those asked the model in its
own way (which method, which classes, which column for the positive class), a test metric could
describe answers nobody is ever given. So all of them ask here, and get the same frame: a
``prediction`` column (a label or a value), plus ``proba_<class>`` per class, in the model's
``classes_`` order, for classifiers that give probabilities: the columns batch scoring writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlops_spec.spec.metrics import Task

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"


def has_method(model: Any, name: str) -> bool:
    """Whether ``model`` offers ``name``; pipelines and SGD expose ``predict_proba``
    conditionally, and ``hasattr`` runs that check, which may raise more than AttributeError."""
    try:
        return hasattr(model, name)
    except Exception:
        return False


def gives_probabilities(model: Any, task: Task | None = None) -> bool:
    """Whether ``predict`` adds ``proba_<class>`` columns: a classifier with ``predict_proba``
    and ``classes_`` (``task=None``: whatever the model is)."""
    return (
        task is not Task.regression
        and has_method(model, "predict_proba")
        and has_method(model, "classes_")
    )


def predict(
    model: Any, X: Any, task: Task | None = None, *, labels_from_probabilities: bool = False
) -> pd.DataFrame:
    """The model's answer for each row of ``X``: ``prediction``, then ``proba_<class>`` per class
    when ``gives_probabilities``; indexed like ``X`` when ``X`` is a frame.

    ``labels_from_probabilities`` (online serving): one model call instead of two, the label
    being the most probable class. Most of a call's cost is per call (the pipeline's
    transformers, input checks), and a classifier's ``predict`` repeats ``predict_proba``'s
    work; the allowed classifiers' ``predict`` is that same class except where two classes
    are exactly tied (there ``argmax`` takes the first in ``classes_`` order)."""
    index = X.index if isinstance(X, pd.DataFrame) else None
    if not gives_probabilities(model, task):
        return pd.DataFrame({PREDICTION: model.predict(X)}, index=index)
    probabilities = model.predict_proba(X)
    labels = labels_of(model, probabilities) if labels_from_probabilities else model.predict(X)
    out = pd.DataFrame({PREDICTION: labels}, index=index)
    for i, label in enumerate(model.classes_):
        out[f"{PROBA_PREFIX}{label}"] = probabilities[:, i]
    return out


def labels_of(model: Any, probabilities: np.ndarray) -> np.ndarray:
    """The labels ``model.predict`` gives, from its ``predict_proba`` output: the positive
    class from a decision threshold on (a ``FixedThresholdClassifier``), else the most
    probable class."""
    classes = np.asarray(model.classes_)
    threshold = getattr(model, "threshold", None)
    if isinstance(threshold, float) and len(classes) == 2:
        positive = list(classes).index(model.pos_label)
        chosen = np.where(probabilities[:, positive] >= threshold, positive, 1 - positive)
    else:
        chosen = np.argmax(probabilities, axis=1)
    labels: np.ndarray = classes[chosen]
    return labels


def probability_columns(answers: pd.DataFrame) -> list[str]:
    """The ``proba_<class>`` columns of ``predict``'s frame, in the model's class order."""
    return [str(c) for c in answers.columns if str(c).startswith(PROBA_PREFIX)]


def class_probabilities(answers: pd.DataFrame) -> np.ndarray | None:
    """The probability matrix (rows by classes, ``classes_`` order), or ``None`` without one."""
    columns = probability_columns(answers)
    return answers[columns].to_numpy(dtype=float) if columns else None


def decision_scores(model: Any, X: Any) -> np.ndarray | None:
    """``decision_function`` values for a classifier without probabilities (SGD with hinge
    loss): ranking metrics stay computable. ``None`` when the model has neither."""
    if not has_method(model, "decision_function"):
        return None
    return np.asarray(model.decision_function(X), dtype=float)
