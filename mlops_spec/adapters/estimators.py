"""Estimator adapter (scikit-learn, and LightGBM and XGBoost through their scikit-learn API):
turn a spec's dotted estimator name and params into a fitted pipeline.

The spec names an estimator as text, so this is the one place where text becomes code. The
allow-list is checked *before* anything is imported, nothing is ever evaluated, and every
parameter name is checked against the estimator's own ``get_params()`` so a typo fails with a
hint instead of deep inside ``fit``.

Preprocessing is chosen per estimator family because the right encoding differs: tree models
want compact ordinal codes and handle NaN themselves, linear models need imputation, scaling and
one-hot columns. Both pipelines accept the same raw frame (any mix of numeric, string,
categorical, boolean and pandas nullable columns) so training and serving never diverge.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import get_tags
from threadpoolctl import threadpool_limits

from mlops_spec.errors import StepError
from mlops_spec.settings import DEFAULT_ALLOWED_ESTIMATORS
from mlops_spec.spec.metrics import Task
from mlops_spec_preprocessing import EncodedLabelClassifier, as_float, as_text

DEFAULT_ALLOWED: frozenset[str] = frozenset(DEFAULT_ALLOWED_ESTIMATORS)
PREPROCESS_STEP = "preprocess"
MODEL_STEP = "model"

# Estimators whose training can be grown in steps, with the parameter that measures growth.
# Reporting a validation score after each step is what lets an Optuna pruner stop bad trials.
_WARM_START_GROWTH: dict[str, str] = {
    "HistGradientBoostingClassifier": "max_iter",
    "HistGradientBoostingRegressor": "max_iter",
    "GradientBoostingClassifier": "n_estimators",
    "GradientBoostingRegressor": "n_estimators",
    "RandomForestClassifier": "n_estimators",
    "RandomForestRegressor": "n_estimators",
    "ExtraTreesClassifier": "n_estimators",
    "ExtraTreesRegressor": "n_estimators",
}
# Boosting libraries grow a fitted model by continuing training from its booster, passed to
# ``fit`` under this keyword: the result equals training all rounds at once.
_CONTINUED_TRAINING: dict[str, str] = {
    "LGBMClassifier": "init_model",
    "LGBMRegressor": "init_model",
    "XGBClassifier": "xgb_model",
    "XGBRegressor": "xgb_model",
}
_NATIVE_CATEGORICAL_MODULES = ("lightgbm.", "xgboost.")
_PARTIAL_FIT = frozenset({"SGDClassifier", "SGDRegressor"})
# partial_fit ignores ``tol``, so SGD's default max_iter=1000 would mean 1000 epochs; cap it.
MAX_SGD_EPOCHS = 50


def resolve_estimator(dotted: str, allowed: frozenset[str]) -> type:
    """Import the estimator class named ``package.module.Class`` if, and only if, it is allowed.

    The allow-list check comes first so a spec can never make the process import arbitrary code
    (importing a module runs it).
    """
    if dotted not in allowed:
        close = difflib.get_close_matches(dotted, sorted(allowed), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise StepError(
            f"estimator '{dotted}' is not in the allow-list{hint} "
            f"(allowed: {', '.join(sorted(allowed))}; add more with MLOPS_SPEC_EXTRA_ESTIMATORS)"
        )
    module_name, _, class_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StepError(f"cannot import module '{module_name}' for '{dotted}': {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "fit"):
        raise StepError(f"'{dotted}' is not an estimator class (no such class with a fit method)")
    return cls


def split_columns(df: pd.DataFrame, feature_columns: list[str]) -> tuple[list[str], list[str]]:
    """Sort features into numeric and categorical by dtype; booleans count as categorical.

    Datetime-like features are refused: they would silently become integers, and time is
    better expressed as engineered features (age, day of week) upstream.
    """
    missing = [c for c in feature_columns if c not in df.columns]
    if missing:
        raise StepError(f"feature columns {missing} are not in the training frame")
    numeric: list[str] = []
    categorical: list[str] = []
    for column in feature_columns:
        dtype = df[column].dtype
        if (
            pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            categorical.append(column)
        elif pd.api.types.is_numeric_dtype(dtype):
            numeric.append(column)
        else:
            raise StepError(
                f"feature column '{column}' has dtype {dtype}, which is neither numeric nor "
                "categorical; derive numeric features from it first"
            )
    return numeric, categorical


# Fitted pipelines refer to their conversions by module and name. Models logged before the
# conversions moved into ``mlops_spec_preprocessing`` name these two; they must keep loading.
_as_float = as_float
_as_text = as_text


def _family(cls: type) -> str:
    """``native`` models split categories themselves (told which columns hold codes), other
    tree ensembles are scale-invariant and split on ordinal codes, and everything else is
    treated as linear (imputed, scaled, one-hot), which is the safe default.

    By module, not by tags: scikit-learn's tags say whether a model accepts NaN, not whether
    it is a tree or reads categories natively (``input_tags.categorical`` is False even for
    HistGradientBoosting, LightGBM and XGBoost), so the tags decide only the imputing.
    """
    module = cls.__module__
    if module.startswith(_NATIVE_CATEGORICAL_MODULES) or cls.__name__.startswith("HistGradient"):
        return "native"
    return "tree" if module.startswith(("sklearn.ensemble", "sklearn.tree")) else "linear"


def check_params(dotted: str, names: list[str], cls: type) -> None:
    """Refuse parameter names the estimator does not have, naming the closest real one."""
    valid = sorted(cls().get_params(deep=False))
    for name in names:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise StepError(
                f"'{name}' is not a parameter of {dotted}{hint} (valid: {', '.join(valid)})"
            )


def build_pipeline(
    dotted: str,
    params: Mapping[str, Any],
    *,
    numeric: list[str],
    categorical: list[str],
    task: Task,
    allowed: frozenset[str] = DEFAULT_ALLOWED,
    seed: int | None = None,
    resolved: type | None = None,
) -> Pipeline:
    """Build an unfitted ``preprocess -> model`` pipeline suited to the estimator family.

    ``seed`` becomes ``random_state`` when the estimator has one and params do not set it, so
    two runs of the same spec train the same model (HistGradientBoosting's early-stopping split
    is random otherwise). ``resolved`` is ``dotted``'s class when the caller resolved it
    already (a study resolves its estimator once, not once per trial).
    """
    cls = resolved if resolved is not None else resolve_estimator(dotted, allowed)
    check_params(dotted, list(params), cls)
    full_params = dict(params)
    if seed is not None and "random_state" in cls().get_params(deep=False):
        full_params.setdefault("random_state", seed)
    family = _family(cls)
    if family == "native":
        # Categorical columns come first in the transformed matrix (see _tree_transformers).
        for key, value in _native_categorical_params(cls, len(categorical), len(numeric)).items():
            full_params.setdefault(key, value)
    try:
        estimator = cls(**full_params)
    except (TypeError, ValueError) as exc:
        raise StepError(f"cannot build {dotted} with params {full_params}: {exc}") from exc
    _check_task(dotted, estimator, task)

    if family == "linear":
        transformers = _scaled_transformers(numeric, categorical)
    else:
        transformers = _tree_transformers(estimator, full_params, numeric, categorical)
    if not transformers:
        raise StepError("no feature columns: a model needs at least one numeric or categorical")
    preprocess = ColumnTransformer(transformers, remainder="drop")
    return Pipeline([(PREPROCESS_STEP, preprocess), (MODEL_STEP, _with_encoded_labels(estimator))])


def _native_categorical_params(cls: type, n_categorical: int, n_numeric: int) -> dict[str, Any]:
    """How each library is told that the first ``n_categorical`` columns hold category codes,
    so it splits on sets of categories instead of on their arbitrary order."""
    codes = list(range(n_categorical))
    if cls.__name__.startswith("HistGradient"):
        return {"categorical_features": codes or None}
    if cls.__module__.startswith("lightgbm."):
        # ``categorical_column`` is LightGBM's alias of ``categorical_feature``: the plain name
        # works as well but warns on every fit that it "will be ignored" (it is not).
        return {"verbose": -1, **({"categorical_column": codes} if codes else {})}
    if not codes:
        return {}
    return {"enable_categorical": True, "feature_types": ["c"] * n_categorical + ["q"] * n_numeric}


def _with_encoded_labels(estimator: BaseEstimator) -> BaseEstimator:
    """XGBoost's classifiers accept only labels ``0..k-1``; every other allowed classifier
    takes the labels as they are, so only those are wrapped."""
    if type(estimator).__module__.startswith("xgboost.") and is_classifier(estimator):
        return EncodedLabelClassifier(estimator)
    return estimator


_Transformers = list[tuple[str, Any, list[str]]]


def _tree_transformers(
    estimator: BaseEstimator,
    full_params: Mapping[str, Any],
    numeric: list[str],
    categorical: list[str],
) -> _Transformers:
    """Trees split on ordinal codes and need no scaling; missing numbers are imputed only for
    the trees that cannot route NaN themselves. Categoricals come first, so their positions
    are ``0..len(categorical)-1`` for the native models (:func:`_native_categorical_params`)."""
    transformers: _Transformers = []
    if categorical:
        max_bins = int(full_params.get("max_bins", 255))
        # LightGBM and XGBoost read NaN as missing; XGBoost refuses a code of -1.
        missing = (
            np.nan if type(estimator).__module__.startswith(_NATIVE_CATEGORICAL_MODULES) else -1
        )
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=missing,
            encoded_missing_value=missing,
            # HistGradientBoosting refuses categoricals with more codes than bins.
            max_categories=max_bins
            if type(estimator).__name__.startswith("HistGradient")
            else None,
        )
        transformers.append(
            ("categorical", Pipeline([("text", _text()), ("encode", encoder)]), categorical)
        )
    if numeric:
        steps: list[tuple[str, Any]] = [("float", _float())]
        if not get_tags(estimator).input_tags.allow_nan:
            steps.append(("impute", SimpleImputer(strategy="median")))
        transformers.append(("numeric", Pipeline(steps), numeric))
    return transformers


def _scaled_transformers(numeric: list[str], categorical: list[str]) -> _Transformers:
    """Linear models, neighbours and the like are sensitive to scale and cannot read codes as
    order: one-hot categoricals, standardized numbers, every gap imputed."""
    transformers: _Transformers = []
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("text", _text()),
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            )
        )
    if numeric:
        transformers.append(
            (
                "numeric",
                Pipeline(
                    [
                        ("float", _float()),
                        ("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            )
        )
    return transformers


def _text() -> FunctionTransformer:
    return FunctionTransformer(as_text, feature_names_out="one-to-one")


def _float() -> FunctionTransformer:
    return FunctionTransformer(as_float, feature_names_out="one-to-one")


def _check_task(dotted: str, estimator: BaseEstimator, task: Task) -> None:
    wants_classifier = task is not Task.regression
    if wants_classifier and not is_classifier(estimator):
        raise StepError(f"{dotted} is not a classifier but the task is {task.value}")
    if not wants_classifier and not is_regressor(estimator):
        raise StepError(f"{dotted} is not a regressor but the task is {task.value}")


def is_iterative(pipeline: Pipeline) -> bool:
    """True when ``fit_in_steps`` can report intermediate scores for this pipeline's model."""
    model = _unwrapped(pipeline.named_steps[MODEL_STEP])
    name = type(model).__name__
    if name in _WARM_START_GROWTH or name in _CONTINUED_TRAINING:
        return True
    # class_weight='balanced' is not supported by partial_fit.
    return name in _PARTIAL_FIT and getattr(model, "class_weight", None) != "balanced"


def _unwrapped(model: Any) -> Any:
    return model.estimator if isinstance(model, EncodedLabelClassifier) else model


def fit_in_steps(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: Any,
    *,
    n_steps: int = 5,
    n_threads: int | None = None,
) -> Iterator[int]:
    """Fit ``pipeline`` in about ``n_steps`` growing stages, yielding the stage index after each.

    Between yields the pipeline is a usable fitted model, so the caller can score it and stop
    early (Optuna pruning). Tree ensembles grow through ``warm_start`` (more boosting iterations
    or trees), LightGBM and XGBoost by continuing from their booster; SGD runs ``partial_fit``
    epochs; other estimators fit once and yield once. The preprocessing is fitted once, not per
    stage. ``n_threads`` caps the threads of the fit, so parallel trials do not oversubscribe
    the cores.
    """
    Xt = pipeline.named_steps[PREPROCESS_STEP].fit_transform(X, y)
    model = pipeline.named_steps[MODEL_STEP]
    if isinstance(model, EncodedLabelClassifier):
        y = model.encode_labels(y)
        inner = clone(model.estimator)
        model.estimator_ = inner
        model = inner
    name = type(model).__name__
    if not is_iterative(pipeline):
        with _limited(n_threads):
            model.fit(Xt, y)
        yield 0
    elif name in _CONTINUED_TRAINING:
        yield from _continue_training(model, Xt, y, _CONTINUED_TRAINING[name], n_steps, n_threads)
    elif name in _WARM_START_GROWTH:
        yield from _grow_warm(model, Xt, y, _WARM_START_GROWTH[name], n_steps, n_threads)
    else:
        yield from _partial_fit_epochs(model, Xt, y, n_steps)


def _grow_warm(
    model: Any, Xt: Any, y: Any, growth: str, n_steps: int, n_threads: int | None
) -> Iterator[int]:
    total = int(model.get_params()[growth])
    original_warm_start = model.warm_start
    model.set_params(warm_start=True)
    try:
        for index, size in enumerate(_schedule(total, n_steps)):
            model.set_params(**{growth: size})
            with _limited(n_threads):
                model.fit(Xt, y)
            yield index
    finally:
        model.set_params(warm_start=original_warm_start, **{growth: total})


def _continue_training(
    model: Any, Xt: Any, y: Any, keyword: str, n_steps: int, n_threads: int | None
) -> Iterator[int]:
    """Each stage fits only the rounds it adds, starting from the booster so far. The
    libraries size their own thread pools (all cores by default), so the cap goes in
    ``n_jobs`` for the stages' duration."""
    total = int(model.get_params()["n_estimators"])
    n_jobs = model.get_params()["n_jobs"]
    booster = None
    done = 0
    try:
        for index, size in enumerate(_schedule(total, n_steps)):
            model.set_params(n_estimators=size - done, n_jobs=n_threads or n_jobs)
            model.fit(Xt, y, **({keyword: booster} if booster is not None else {}))
            booster = model.get_booster() if keyword == "xgb_model" else model.booster_
            done = size
            yield index
    finally:
        model.set_params(n_estimators=total, n_jobs=n_jobs)


def _partial_fit_epochs(model: Any, Xt: Any, y: Any, n_steps: int) -> Iterator[int]:
    epochs = max(1, min(int(model.get_params()["max_iter"]), MAX_SGD_EPOCHS))
    done = 0
    extra = {"classes": np.unique(np.asarray(y))} if is_classifier(model) else {}
    for index, target in enumerate(_schedule(epochs, n_steps)):
        while done < target:
            model.partial_fit(Xt, y, **(extra if done == 0 else {}))
            done += 1
        yield index


def _limited(n_threads: int | None) -> AbstractContextManager[object]:
    """A fresh OpenMP thread cap per use: ``threadpool_limits`` applies at construction."""
    return threadpool_limits(n_threads, user_api="openmp") if n_threads else nullcontext()


def _schedule(total: int, n_steps: int) -> list[int]:
    """Increasing sizes ending at ``total``: ``_schedule(100, 5) == [20, 40, 60, 80, 100]``."""
    sizes = sorted({max(1, round(total * (i + 1) / n_steps)) for i in range(max(1, n_steps))})
    return sizes
