"""What a logged model may contain and what it needs where it is loaded: the skops trust list
and the pinned requirements.

Kept apart from the registry calls because it is the project's one serialization decision
(see :func:`mlops_spec.adapters.mlflow_registry.log_and_register_model`) and changes when an
estimator library joins the allow-list, never when the registry's lifecycle does.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import mlops_spec_preprocessing
from mlops_spec.errors import RegistryError

__all__ = [
    "DEFAULT_REQUIREMENTS",
    "MODEL_CODE_PATH",
    "SERIALIZATION_FORMAT",
    "TRUSTED_TYPE_NAMES",
    "TRUSTED_TYPE_PREFIXES",
    "library_requirements",
    "pinned_requirements",
    "trusted_types_for",
]

#: The one serialization decision of the project, see :func:`log_and_register_model`.
SERIALIZATION_FORMAT = "skops"
#: Module prefixes whose types skops may be told to trust. Everything the allowed scikit-learn
#: estimators need (``TreePredictor``, ``Tree``, ``numpy.dtype``...) is under the first three;
#: the fourth is the project's own column conversions (``FunctionTransformer(as_text)``) and
#: label wrapper, which skops stores by reference, never as code; the last two are the allowed
#: boosting libraries, whose boosters skops rebuilds from their own model text or bytes
#: (``__setstate__``). The project's package is logged with every model as its
#: ``code_paths``, so a loading environment needs only the model's requirements.
TRUSTED_TYPE_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "mlops_spec_preprocessing.",
    "lightgbm.",
    "xgboost.",
)
#: Exact standard-library names that may be trusted. ``functools.partial`` appears in fitted
#: HistGradientBoosting pipelines; skops checks the wrapped function's name separately, so
#: trusting the wrapper does not trust what it wraps.
#: ``collections.OrderedDict`` holds a fitted LightGBM model's best scores.
TRUSTED_TYPE_NAMES: frozenset[str] = frozenset({"functools.partial", "collections.OrderedDict"})
#: Top-level modules of trusted types that need no pin of their own: the defaults below cover
#: them, or they come with Python.
_COVERED_MODULES = frozenset(
    {"sklearn", "numpy", "scipy", "mlops_spec_preprocessing", "functools", "collections"}
)
#: The package of conversions (and label wrapper) pipelines refer to, logged with each model.
MODEL_CODE_PATH = str(Path(mlops_spec_preprocessing.__file__).parent)
#: Packages a served model needs; pinned to the versions installed here.
DEFAULT_REQUIREMENTS: tuple[str, ...] = ("scikit-learn", "skops", "numpy", "scipy", "pandas")


def pinned_requirements(packages: Sequence[str] = DEFAULT_REQUIREMENTS) -> list[str]:
    """``name==installed-version`` for each package, for ``pip_requirements``.

    Passing requirements explicitly is what keeps ``log_model`` at ~1 s: letting MLflow infer
    them loads the model in a subprocess and tries a DNS lookup (8-19 s offline).
    """
    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pins.append(package)
    return pins


def library_requirements(trusted: Sequence[str], pinned: Sequence[str] = ()) -> list[str]:
    """Pins for the libraries a model's own types come from beyond ``pinned`` (a LightGBM or
    XGBoost model needs its library where it is loaded, a scikit-learn one does not).

    Read from the trusted type names rather than from the spec, so the requirements follow
    what the pickle-free artifact actually holds; the distribution is looked up because its
    name can differ from the module's (``xgboost`` comes from ``xgboost-cpu`` here).
    """
    modules = sorted({name.split(".")[0] for name in trusted} - _COVERED_MODULES)
    if not modules:
        return []
    distributions = metadata.packages_distributions()
    already = {pin.split("==")[0].lower() for pin in pinned}
    names = [distributions.get(module, [module])[0] for module in modules]
    return pinned_requirements([name for name in names if name.lower() not in already])


def trusted_types_for(model: Any, *, extra_prefixes: Sequence[str] = ()) -> list[str]:
    """The types skops must be told to trust to load ``model``, if all are allow-listed.

    skops refuses to load any type it does not know to be safe unless the caller names it.
    For the allowed estimators that list is short and stable (for example
    ``sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor``,
    ``sklearn.tree._tree.Tree`` and ``numpy.dtype``), but it depends on the fitted pipeline,
    so it is computed from the object rather than hard-coded, and accepted only when every
    entry is in :data:`TRUSTED_TYPE_NAMES` or under :data:`TRUSTED_TYPE_PREFIXES` (plus
    ``extra_prefixes``, for estimators added through ``MLOPS_SPEC_EXTRA_ESTIMATORS``).

    Raises:
        RegistryError: a type outside the allow-list (a custom transformer, a lambda, a
            third-party estimator) would have to be trusted.
    """
    import skops.io as sio

    untrusted: list[str] = list(sio.get_untrusted_types(data=sio.dumps(model)))
    prefixes = TRUSTED_TYPE_PREFIXES + tuple(extra_prefixes)
    rejected = sorted(
        t for t in untrusted if t not in TRUSTED_TYPE_NAMES and not t.startswith(prefixes)
    )
    if rejected:
        raise RegistryError(
            "the model contains types skops cannot load safely and that are not under an "
            f"allow-listed module ({', '.join(prefixes)}): {', '.join(rejected)}; use built-in "
            "scikit-learn transformers, or allow the package's prefix deliberately"
        )
    return sorted(untrusted)
