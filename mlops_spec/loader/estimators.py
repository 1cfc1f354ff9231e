"""What an allowed estimator accepts: from the committed table, or by importing an extra one.

The allow-listed defaults are described by ``mlops_spec.spec.estimator_params`` so validate never
imports scikit-learn for them. An estimator a project added through
``MLOPS_SPEC_EXTRA_ESTIMATORS`` is not in that table; it is imported here, lazily and only when
a spec names it (importing runs the module, which the allow-list already permits), and
described exactly as the committed table was generated: ``get_params()`` of a default instance
and scikit-learn's own classifier/regressor test.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from mlops_spec.spec.estimator_params import EstimatorInfo, EstimatorKind, known_estimator


def describe_estimator(dotted: str) -> EstimatorInfo:
    """Import ``package.module.Class`` and describe it; raises when that is impossible."""
    from sklearn.base import is_classifier, is_regressor

    module_name, _, class_name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    instance = cls()
    kind: EstimatorKind = (
        "classifier"
        if is_classifier(instance)
        else ("regressor" if is_regressor(instance) else "other")
    )
    return EstimatorInfo(kind, frozenset(instance.get_params(deep=False)))


@lru_cache(maxsize=32)
def lookup_estimator(dotted: str, allowed: frozenset[str]) -> EstimatorInfo | str | None:
    """The estimator's description, a sentence saying why it cannot be had, or None when it is
    not allowed at all (the allow-list rule reports that)."""
    known = known_estimator(dotted)
    if known is not None:
        return known
    if dotted not in allowed:
        return None
    try:
        return describe_estimator(dotted)
    except Exception as exc:  # an import error, no such class, a constructor needing arguments
        return f"cannot load allowed estimator '{dotted}': {type(exc).__name__}: {exc}"
