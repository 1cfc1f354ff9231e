"""What validate knows about each allow-listed estimator without importing scikit-learn.

Importing scikit-learn takes about a second, so ``validate`` reads this table instead: each
estimator's kind (does it fit a classification or a regression task) and its parameter names
(``get_params()``, which the run checks the spec's ``model.params`` and ``tuning.search_space``
against). The table is generated from the installed scikit-learn;
``tests/unit/test_estimator_params.py`` regenerates it and fails when it is stale (run that file
with Python to rewrite it). Estimators added through ``MLOPS_SPEC_EXTRA_ESTIMATORS`` are not in
the table: the loader inspects those lazily (see ``mlops_spec.loader.estimators``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EstimatorKind = Literal["classifier", "regressor", "other"]


@dataclass(frozen=True)
class EstimatorInfo:
    """An estimator's kind and parameter names, as the run sees them."""

    kind: EstimatorKind
    params: frozenset[str]


# --- generated: do not edit by hand (see the module docstring) ---
ESTIMATOR_PARAMS: dict[str, tuple[EstimatorKind, tuple[str, ...]]] = {
    "sklearn.ensemble.HistGradientBoostingClassifier": (
        "classifier",
        (
            "categorical_features",
            "class_weight",
            "early_stopping",
            "interaction_cst",
            "l2_regularization",
            "learning_rate",
            "loss",
            "max_bins",
            "max_depth",
            "max_features",
            "max_iter",
            "max_leaf_nodes",
            "min_samples_leaf",
            "monotonic_cst",
            "n_iter_no_change",
            "random_state",
            "scoring",
            "tol",
            "validation_fraction",
            "verbose",
            "warm_start",
        ),
    ),
    "sklearn.ensemble.HistGradientBoostingRegressor": (
        "regressor",
        (
            "categorical_features",
            "early_stopping",
            "interaction_cst",
            "l2_regularization",
            "learning_rate",
            "loss",
            "max_bins",
            "max_depth",
            "max_features",
            "max_iter",
            "max_leaf_nodes",
            "min_samples_leaf",
            "monotonic_cst",
            "n_iter_no_change",
            "quantile",
            "random_state",
            "scoring",
            "tol",
            "validation_fraction",
            "verbose",
            "warm_start",
        ),
    ),
    "sklearn.ensemble.RandomForestClassifier": (
        "classifier",
        (
            "bootstrap",
            "ccp_alpha",
            "class_weight",
            "criterion",
            "max_depth",
            "max_features",
            "max_leaf_nodes",
            "max_samples",
            "min_impurity_decrease",
            "min_samples_leaf",
            "min_samples_split",
            "min_weight_fraction_leaf",
            "monotonic_cst",
            "n_estimators",
            "n_jobs",
            "oob_score",
            "random_state",
            "verbose",
            "warm_start",
        ),
    ),
    "sklearn.ensemble.RandomForestRegressor": (
        "regressor",
        (
            "bootstrap",
            "ccp_alpha",
            "criterion",
            "max_depth",
            "max_features",
            "max_leaf_nodes",
            "max_samples",
            "min_impurity_decrease",
            "min_samples_leaf",
            "min_samples_split",
            "min_weight_fraction_leaf",
            "monotonic_cst",
            "n_estimators",
            "n_jobs",
            "oob_score",
            "random_state",
            "verbose",
            "warm_start",
        ),
    ),
    "sklearn.linear_model.LogisticRegression": (
        "classifier",
        (
            "C",
            "class_weight",
            "dual",
            "fit_intercept",
            "intercept_scaling",
            "l1_ratio",
            "max_iter",
            "n_jobs",
            "penalty",
            "random_state",
            "solver",
            "tol",
            "verbose",
            "warm_start",
        ),
    ),
    "sklearn.linear_model.Ridge": (
        "regressor",
        (
            "alpha",
            "copy_X",
            "fit_intercept",
            "max_iter",
            "positive",
            "random_state",
            "solver",
            "tol",
        ),
    ),
    "sklearn.linear_model.SGDClassifier": (
        "classifier",
        (
            "alpha",
            "average",
            "class_weight",
            "early_stopping",
            "epsilon",
            "eta0",
            "fit_intercept",
            "l1_ratio",
            "learning_rate",
            "loss",
            "max_iter",
            "n_iter_no_change",
            "n_jobs",
            "penalty",
            "power_t",
            "random_state",
            "shuffle",
            "tol",
            "validation_fraction",
            "verbose",
            "warm_start",
        ),
    ),
}
# --- end of generated table ---


def known_estimator(dotted: str) -> EstimatorInfo | None:
    """The committed entry for ``dotted``, or None when the table does not list it."""
    entry = ESTIMATOR_PARAMS.get(dotted)
    return None if entry is None else EstimatorInfo(entry[0], frozenset(entry[1]))
