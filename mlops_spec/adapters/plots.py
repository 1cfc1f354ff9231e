"""Evaluation figures for run reports: ROC/PR, confusion matrix, residuals.

Figures are built as ``matplotlib.figure.Figure`` objects with an Agg canvas, never through
``pyplot``: no GUI backend is touched (workers are headless), no global figure registry grows
across thousands of Optuna trials, and nothing needs ``plt.close``. The drawing itself is
scikit-learn's ``*Display`` classes, so the curves match what the library computes for its
own metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["drift_figure", "multiclass_confusion_figure", "residual_figure", "roc_pr_figure"]


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def roc_pr_figure(y_true: Any, y_score: Any, *, pos_label: Any = None) -> Figure:
    """ROC and precision-recall curves side by side for a binary problem.

    ``y_score`` is the positive-class score (``predict_proba(X)[:, 1]``); a two-column
    probability array is accepted and its second column used.
    """
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    scores = np.asarray(y_score)
    if scores.ndim == 2:
        if scores.shape[1] != 2:
            raise ValueError(f"roc_pr_figure is for binary problems, got {scores.shape[1]} columns")
        scores = scores[:, 1]
    if len(np.unique(np.asarray(y_true))) != 2:
        raise ValueError("roc_pr_figure needs exactly two classes in y_true")
    fig, (roc_ax, pr_ax) = _figure(10, 4.5, ncols=2)
    RocCurveDisplay.from_predictions(
        y_true, scores, pos_label=pos_label, ax=roc_ax, plot_chance_level=True, name="model"
    )
    PrecisionRecallDisplay.from_predictions(
        y_true, scores, pos_label=pos_label, ax=pr_ax, plot_chance_level=True, name="model"
    )
    roc_ax.set_title("ROC curve")
    pr_ax.set_title("Precision-recall curve")
    return fig


def multiclass_confusion_figure(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None, *, normalize: bool = False
) -> Figure:
    """Confusion matrix (counts, or row-normalised rates with ``normalize=True``).

    Passing ``labels`` fixes the order and keeps classes absent from this sample visible as
    empty rows, so matrices from different runs line up.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(labels) if labels is not None else len(np.unique(np.asarray(y_true)))
    size = max(4.0, 0.6 * n + 2.5)
    fig, ax = _figure(size, size)
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(labels) if labels is not None else None,
        normalize="true" if normalize else None,
        values_format=".2f" if normalize else "d",
        xticks_rotation="vertical" if n > 6 else "horizontal",
        ax=ax,
        colorbar=False,
    )
    ax.set_title("Confusion matrix" + (" (row-normalised)" if normalize else ""))
    return fig


def residual_figure(y_true: Any, y_pred: Any) -> Figure:
    """Actual-vs-predicted and residual-vs-predicted scatter plots for a regression.

    At most 1 000 points are drawn (a fixed random subsample, so reports are reproducible).
    """
    from sklearn.metrics import PredictionErrorDisplay

    fig, (actual_ax, residual_ax) = _figure(10, 4.5, ncols=2)
    common = {"subsample": 1000, "random_state": 0}
    PredictionErrorDisplay.from_predictions(
        y_true, y_pred, kind="actual_vs_predicted", ax=actual_ax, **common
    )
    PredictionErrorDisplay.from_predictions(
        y_true, y_pred, kind="residual_vs_predicted", ax=residual_ax, **common
    )
    actual_ax.set_title("Actual vs predicted")
    residual_ax.set_title("Residuals vs predicted")
    return fig


def drift_figure(
    features: Sequence[str], scores: Sequence[float], thresholds: Sequence[float], method: str
) -> Figure:
    """Horizontal bars of each feature's drift score against its threshold (red = drifted)."""
    height = max(2.5, 0.35 * len(features) + 1)
    fig, ax = _figure(7, height)
    shown = [min(s, 10.0) if np.isfinite(s) else 10.0 for s in scores]
    colors = ["#c0392b" if s > t else "#2e86c1" for s, t in zip(scores, thresholds, strict=True)]
    positions = np.arange(len(features))
    ax.barh(positions, shown, color=colors)
    ax.scatter(thresholds, positions, marker="|", s=300, color="black", label="threshold")
    ax.set_yticks(positions, labels=list(features))
    ax.invert_yaxis()
    ax.set_xlabel(f"{method} (bars past the threshold mark drift)")
    ax.legend(loc="lower right")
    return fig
