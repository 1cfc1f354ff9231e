"""Per-feature drift between two whylogs profiles: PSI, KS and Hellinger.

Monitoring keeps profiles, not rows, so every score here is computed from two profile views:
the champion's reference (its training frame) and the newest batch.

* Numeric columns are binned at the reference's deciles (its KLL sketch); each side's share
  per bin comes from its own sketch's CDF at those edges. PSI and Hellinger use those shares;
  KS is whylogs' own statistic (``calculate_drift_scores``: the largest CDF gap, from the
  sketches). The KS *statistic* is reported, not its p-value: p-values shrink to zero on large
  batches whatever the effect size (whylogs#684).
* Categorical columns (strings, and integers with frequent items only) use the frequent-item
  counts; items beyond the sketch fall into an "other" bucket. KS is undefined there.

PSI uses a floor of ``EPSILON`` for empty bins, so a category that vanishes gives a large
finite score rather than infinity. whylogs has no PSI (STACK notes); the formula is
``sum((a - e) * ln(a / e))`` over bins, checked against a hand computation in the tests.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_spec.adapters.whylogs_profiling import ProfileView

EPSILON = 1e-4
DECILES = [i / 10 for i in range(1, 10)]
OTHER = "<other>"


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's scores, the one the spec judges by, and the verdict."""

    feature: str
    kind: str  # "numeric" or "categorical"
    psi: float | None
    ks: float | None
    hellinger: float | None
    method: str
    threshold: float
    reference_rows: int
    batch_rows: int

    @property
    def score(self) -> float | None:
        value: float | None = getattr(self, self.method)
        return value

    @property
    def drifted(self) -> bool:
        return self.score is not None and self.score > self.threshold

    def to_record(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "method": self.method,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "psi": self.psi,
            "ks": self.ks,
            "hellinger": self.hellinger,
            "reference_rows": self.reference_rows,
            "batch_rows": self.batch_rows,
        }


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def hellinger(expected: list[float], actual: list[float]) -> float:
    """Hellinger distance (0 = same distribution, 1 = disjoint) of two share vectors."""
    squares = sum(
        (math.sqrt(max(e, 0.0)) - math.sqrt(max(a, 0.0))) ** 2
        for e, a in zip(expected, actual, strict=True)
    )
    return math.sqrt(squares / 2)


def numeric_shares(reference: Any, batch: Any) -> tuple[list[float], list[float]] | None:
    """Shares of each side in the reference's decile bins, from two KLL sketches."""
    ref_sketch, batch_sketch = reference.kll.value, batch.kll.value
    if ref_sketch.is_empty() or batch_sketch.is_empty():
        return None
    edges = sorted(set(ref_sketch.get_quantiles(DECILES)))
    return _bin_shares(ref_sketch.get_cdf(edges)), _bin_shares(batch_sketch.get_cdf(edges))


def _bin_shares(cdf: list[float]) -> list[float]:
    shares, previous = [], 0.0
    for value in cdf:
        shares.append(max(0.0, value - previous))
        previous = value
    return shares


def categorical_shares(
    reference: Mapping[str, float], batch: Mapping[str, float], ref_n: int, batch_n: int
) -> tuple[list[float], list[float]] | None:
    """Shares per item (plus the rest as one bucket) from frequent-item counts."""
    if ref_n == 0 or batch_n == 0:
        return None
    items = sorted(set(reference) | set(batch))
    expected = [reference.get(item, 0.0) / ref_n for item in items]
    actual = [batch.get(item, 0.0) / batch_n for item in items]
    expected.append(max(0.0, 1 - sum(expected)))
    actual.append(max(0.0, 1 - sum(actual)))
    return expected, actual


def _frequent(column: Any) -> dict[str, float]:
    metric = column.get_metric("frequent_items")
    if metric is None:
        return {}
    return {
        str(item.value): float(item.est) for item in metric.to_summary_dict()["frequent_strings"]
    }


def _rows(column: Any) -> int:
    counts = column.get_metric("counts")
    return 0 if counts is None else int(counts.n.value - counts.null.value)


def _ks_scores(reference: ProfileView, batch: ProfileView) -> dict[str, float]:
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = calculate_drift_scores(target_view=batch, reference_view=reference)
    return {
        name: float(result["statistic"])
        for name, result in scores.items()
        if result is not None and result.get("algorithm") == "ks"
    }


def feature_drift(
    reference: ProfileView,
    batch: ProfileView,
    features: list[str],
    *,
    method: str,
    threshold: float,
    per_feature: Mapping[str, float] | None = None,
) -> list[FeatureDrift]:
    """Score every feature present in the reference; a feature missing from the batch (or
    empty there) is reported with no scores and counts as drifted, since nothing about it can
    be trusted."""
    ks = _ks_scores(reference, batch)
    ref_columns, batch_columns = reference.get_columns(), batch.get_columns()
    return [
        _one_feature(
            name,
            ref_columns[name],
            batch_columns.get(name),
            ks.get(name),
            method=method,
            threshold=(per_feature or {}).get(name, threshold),
        )
        for name in features
        if name in ref_columns
    ]


def _one_feature(
    name: str,
    ref_col: Any,
    batch_col: Any | None,
    ks: float | None,
    *,
    method: str,
    threshold: float,
) -> FeatureDrift:
    """A feature is numeric when the reference holds a distribution sketch for it; one the
    batch lacks gets the worst score of every method rather than none, so it is drifted."""
    ref_rows = _rows(ref_col)
    batch_rows = 0 if batch_col is None else _rows(batch_col)
    distribution = ref_col.get_metric("distribution")
    numeric = distribution is not None and not distribution.kll.value.is_empty()
    kind = "numeric" if numeric else "categorical"
    shares = None
    if batch_col is not None:
        if numeric:
            shares = numeric_shares(distribution, batch_col.get_metric("distribution"))
        else:
            shares = categorical_shares(
                _frequent(ref_col), _frequent(batch_col), ref_rows, batch_rows
            )
    if shares is None:
        worst_ks = math.inf if numeric else None
        return FeatureDrift(
            name, kind, math.inf, worst_ks, 1.0, method, threshold, ref_rows, batch_rows
        )
    expected, actual = shares
    return FeatureDrift(
        name,
        kind,
        psi(expected, actual),
        ks if numeric else None,
        hellinger(expected, actual),
        method,
        threshold,
        ref_rows,
        batch_rows,
    )
