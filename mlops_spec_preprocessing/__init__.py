"""The column conversions every model pipeline of mlops-spec starts with, and the one wrapper
some models need, shipped inside each logged model.

A fitted pipeline refers to these by module and name (skops stores functions and classes by
reference, never as code), so whatever loads a registered model must be able to import this
module. That is why it is its own top-level package importing nothing beyond NumPy, pandas and
scikit-learn (which every model requires anyway): MLflow logs it as the model's ``code_paths``
and puts it on ``sys.path`` when the model is loaded, so ``mlflow models serve`` or
``mlflow.pyfunc.load_model`` work in an environment that has only the model's logged
requirements, not mlops-spec. The names are part of every model ever logged: rename nothing
here, add new names instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Tags, get_tags

__all__ = ["EncodedLabelClassifier", "as_float", "as_text"]


def as_float(X: Any) -> pd.DataFrame:
    """Numbers as float64 with NaN: pandas nullable Int64/Float64 carry pd.NA, which
    scikit-learn refuses to put into a numpy array."""
    return pd.DataFrame(X).astype("float64")


def as_text(X: Any) -> pd.DataFrame:
    """Categories as plain strings with NaN for missing.

    Encoders reject pd.NA, mixed str/number columns and (SimpleImputer) bool dtype; mapping
    every present value to its text form makes all of those one uniform case, at fit and at
    predict time alike.
    """
    frame = pd.DataFrame(X).astype(object)
    return frame.where(frame.isna(), frame.astype(str)).where(frame.notna(), np.nan)


class EncodedLabelClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier trained on label codes ``0..k-1`` that answers in the original labels.

    XGBoost's classifiers refuse any other labels (``'>50K'``, or classes ``[1, 3]``), while a
    spec's label is whatever the data holds and predictions, thresholds and fairness reports
    speak of it. scikit-learn has no such wrapper for classifiers (``TransformedTargetRegressor``
    is for regression), hence this one: the fitted model is ``estimator_``, ``classes_`` are the
    original labels in the order of ``predict_proba``'s columns.
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def encode_labels(self, y: Any) -> np.ndarray:
        """Learn the classes and return ``y`` as their codes (also used by staged fitting)."""
        encoder = LabelEncoder().fit(np.asarray(y))
        self.classes_ = encoder.classes_
        return np.asarray(encoder.transform(np.asarray(y)))

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabelClassifier:
        codes = self.encode_labels(y)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(self.estimator_.predict(X)).astype(int)
        return np.asarray(self.classes_[codes])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags
