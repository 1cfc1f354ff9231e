"""Drift scores from real whylogs profiles, checked against hand computations.

Small frames (under KLL's exact-mode size) make the sketches exact, so the decile edges and
bin shares the adapter reads from the profiles can be worked out by hand here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlops_spec.adapters.drift import EPSILON, feature_drift, hellinger, psi
from mlops_spec.adapters.whylogs_profiling import profile_frame

pytestmark = pytest.mark.integration


def test_psi_and_hellinger_formulas_by_hand() -> None:
    expected, actual = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    by_hand = (0.2 - 0.5) * math.log(0.2 / 0.5) + 0 + (0.5 - 0.2) * math.log(0.5 / 0.2)
    assert psi(expected, actual) == pytest.approx(by_hand)  # 0.5498
    assert psi(expected, expected) == 0
    # an emptied bin is floored at EPSILON instead of making PSI infinite
    assert psi([0.5, 0.5], [1.0, 0.0]) == pytest.approx(
        (1.0 - 0.5) * math.log(1.0 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    )
    assert hellinger([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert hellinger(expected, actual) == pytest.approx(
        math.sqrt(((math.sqrt(0.5) - math.sqrt(0.2)) ** 2 * 2) / 2)
    )


def test_numeric_psi_matches_a_hand_computation_on_the_data() -> None:
    reference = pd.DataFrame({"x": np.arange(100, dtype=float)})  # deciles at 10, 20, ... 90
    batch = pd.DataFrame({"x": np.concatenate([np.full(50, 5.0), np.arange(50, 100.0)])})
    [result] = feature_drift(
        profile_frame(reference), profile_frame(batch), ["x"], method="psi", threshold=0.2
    )
    # the adapter's bins: [min, q.1), [q.1, q.2) ... [q.9, max] at the reference's deciles
    # (the sketch's quantile q is the value of rank floor(q * n); its CDF counts values below)
    ordered = np.sort(reference["x"].to_numpy())
    edges = [ordered[int(q * len(ordered))] for q in np.arange(1, 10) / 10]
    assert edges == [10.0 * i for i in range(1, 10)]

    def shares(values: pd.Series) -> list[float]:
        cdf = [float((values < e).mean()) for e in edges] + [1.0]
        return [b - a for a, b in zip([0.0, *cdf[:-1]], cdf, strict=True)]

    e, a = shares(reference["x"]), shares(batch["x"])
    by_hand = sum(
        (max(y, EPSILON) - max(x, EPSILON)) * math.log(max(y, EPSILON) / max(x, EPSILON))
        for x, y in zip(e, a, strict=True)
    )
    assert result.kind == "numeric"
    assert result.psi == pytest.approx(by_hand, rel=1e-6)
    assert result.drifted and result.score == result.psi
    assert result.ks == pytest.approx(0.45, abs=0.02)  # largest CDF gap: at x = 49
    assert 0 < result.hellinger < 1


def test_same_distribution_no_drift_shift_drift_for_every_kind_of_column() -> None:
    rng = np.random.default_rng(0)
    n = 5_000

    def frame(shift: float, weights: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": rng.normal(100 + shift, 15, n),
                "count": rng.poisson(3 + shift / 10, n),
                "channel": rng.choice(["web", "app", "branch"], n, p=weights),
                "member": rng.random(n) < weights[0],
                "segment": pd.Categorical(
                    rng.choice(["a", "b"], n, p=weights[:2] / np.sum(weights[:2]))
                ),
            }
        )

    base = [0.5, 0.3, 0.2]
    reference = profile_frame(frame(0, base))
    same = profile_frame(frame(0, base))
    shifted = profile_frame(frame(30, [0.1, 0.2, 0.7]))
    features = ["amount", "count", "channel", "member", "segment"]
    for method in ("psi", "ks", "hellinger"):
        quiet = feature_drift(reference, same, features, method="psi", threshold=0.1)
        assert not [r.feature for r in quiet if r.drifted], method
    loud = feature_drift(
        reference, shifted, features, method="hellinger", threshold=0.1, per_feature={"count": 5}
    )
    by_name = {r.feature: r for r in loud}
    assert by_name["amount"].drifted and by_name["channel"].drifted
    assert not by_name["count"].drifted and by_name["count"].threshold == 5  # per-feature bound
    assert by_name["channel"].ks is None and by_name["channel"].kind == "categorical"
    assert by_name["amount"].ks is not None and by_name["amount"].ks > 0.5


def test_a_feature_missing_from_the_batch_counts_as_drifted() -> None:
    reference = profile_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}))
    batch = profile_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    results = {
        r.feature: r
        for r in feature_drift(reference, batch, ["a", "b"], method="psi", threshold=0.2)
    }
    assert not results["a"].drifted
    assert results["b"].drifted and results["b"].batch_rows == 0
