"""The two column conversions every model pipeline of mlops-spec starts with, shipped inside
each logged model.

A fitted pipeline refers to these functions by module and name (skops stores functions by
reference, never as code), so whatever loads a registered model must be able to import this
module. That is why it is its own top-level package with no import beyond NumPy and pandas:
MLflow logs it as the model's ``code_paths`` and puts it on ``sys.path`` when the model is
loaded, so ``mlflow models serve`` or ``mlflow.pyfunc.load_model`` work in an environment that
has only the model's logged requirements, not mlops-spec. The names are part of every model
ever logged: rename nothing here, add new functions instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_float", "as_text"]


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
