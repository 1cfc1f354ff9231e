"""Fairness of a regressor on real data: the diabetes study scikit-learn ships (442 patients,
disease progression after a year), predicted out of fold by a ridge regression, judged per sex
and per sex and age band. Every number is checked against plain pandas, computed as
fairlearn's ``MetricFrame(metrics=mean_absolute_error, ...)`` would: per-group errors, their
``difference()`` (largest minus smallest) and our ratio (largest over smallest, the inverse of
fairlearn's ``ratio()``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_predict

from mlops_spec.adapters.fairness import OVERALL_SENSITIVE, regression_fairness_report
from mlops_spec.errors import StepError
from mlops_spec.spec import Fairness

pytestmark = pytest.mark.integration

MIN_GROUP = 30
CROSSED = ["sex", "age_band"]


@pytest.fixture(scope="module")
def predicted() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False).frame
    features = data.drop(columns="target")
    pred = cross_val_predict(Ridge(alpha=1.0), features, data["target"], cv=5)
    return pd.DataFrame(
        {
            "sex": data["sex"].map({1.0: "one", 2.0: "two"}),
            "age_band": np.where(data["age"] >= 50, "50+", "under 50"),
            "y_true": data["target"],
            "y_pred": pred,
        }
    )


def _errors(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """n, MAE, RMSE per group by plain pandas, indexed by the report's group labels."""
    err = frame.assign(abs=(frame["y_pred"] - frame["y_true"]).abs())
    err["sq"] = err["abs"] ** 2
    grouped = err.groupby(by)
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "mae": grouped["abs"].mean(),
            "rmse": np.sqrt(grouped["sq"].mean()),
            "mean_true": grouped["y_true"].mean(),
            "mean_pred": grouped["y_pred"].mean(),
        }
    )
    table.index = [" & ".join(key) if isinstance(key, tuple) else key for key in table.index]
    return table


def _fairness(rules: list[dict[str, object]], sensitive: list[object] | None = None) -> Fairness:
    return Fairness.model_validate(
        {
            "sensitive": sensitive or ["sex", CROSSED],
            "rules": rules,
            "min_group_size": MIN_GROUP,
        }
    )


def test_errors_per_group_and_overall_match_pandas(predicted: pd.DataFrame) -> None:
    rules = [
        {"metric": metric, "max": 100.0}
        for metric in ("mae_difference", "mae_ratio", "rmse_difference", "rmse_ratio")
    ]
    report = regression_fairness_report(
        predicted, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules)
    )
    assert [result.column for result in report.results] == ["sex", "sex & age_band"]
    for result, by in zip(report.results, (["sex"], CROSSED), strict=True):
        expected = _errors(predicted, by)
        got = {g.group: g for g in result.groups}
        assert set(got) == set(expected.index)
        for label, row in expected.iterrows():
            for stat, value in row.items():
                assert getattr(got[str(label)], stat) == pytest.approx(value, rel=1e-9), (
                    label,
                    stat,
                )
        mae, rmse = expected["mae"], expected["rmse"]
        want = [
            mae.max() - mae.min(),  # MetricFrame(...).difference()
            mae.max() / mae.min(),  # 1 / MetricFrame(...).ratio()
            rmse.max() - rmse.min(),
            rmse.max() / rmse.min(),
        ]
        values = [rule.value for rule in report.rules if rule.sensitive == result.column]
        assert values == pytest.approx(want, rel=1e-9)
    error = predicted["y_pred"] - predicted["y_true"]
    assert report.overall.n == len(predicted)
    assert report.overall.mae == pytest.approx(error.abs().mean(), rel=1e-9)
    assert report.overall.rmse == pytest.approx(np.sqrt((error**2).mean()), rel=1e-9)
    table = report.group_table()
    assert list(table.columns) == [
        "sensitive", "group", "n", "mae", "rmse", "mean_true", "mean_pred", "judged"
    ]  # fmt: skip
    assert table.iloc[0]["sensitive"] == OVERALL_SENSITIVE
    assert report.passed


def test_rules_against_a_reference_group_and_bounds(predicted: pd.DataFrame) -> None:
    reference = ["one", "under 50"]
    rules = [
        {"metric": "mae_ratio", "max": 1.01, "on": [CROSSED], "reference_group": reference},
        {"metric": "rmse_difference", "max": 1000, "on": [CROSSED], "reference_group": reference},
        {"metric": "mae_ratio", "max": 1.01, "on": ["sex"], "severity": "warn"},
    ]
    report = regression_fairness_report(
        predicted, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules)
    )
    crossed = _errors(predicted, CROSSED)
    base = crossed.loc["one & under 50"]
    others = crossed[(crossed["n"] >= MIN_GROUP) & (crossed.index != "one & under 50")]
    sexes = _errors(predicted, ["sex"])
    assert [rule.value for rule in report.rules] == pytest.approx(
        [
            (others["mae"] / base["mae"]).max(),
            (others["rmse"] - base["rmse"]).abs().max(),
            sexes["mae"].max() / sexes["mae"].min(),
        ],
        rel=1e-9,
    )
    first, second, third = report.rules
    assert first.passed == (first.value is not None and first.value <= 1.01)
    assert second.passed and second.reference_group == "one & under 50"
    assert third.severity.value == "warn"
    assert [rule.blocking for rule in report.rules] == [not first.passed, False, False]
    markdown = report.to_markdown()
    assert "| group | n | MAE | RMSE | mean label | mean prediction | judged |" in markdown
    assert "| one & under 50 |" in markdown


def test_bad_inputs(predicted: pd.DataFrame) -> None:
    fairness = _fairness([{"metric": "mae_ratio", "max": 1.5}], ["sex"])
    broken = predicted.assign(y_pred=predicted["y_pred"].where(predicted.index > 0))
    with pytest.raises(StepError, match="finite numbers"):
        regression_fairness_report(broken, y_true="y_true", y_pred="y_pred", fairness=fairness)
    one_group = _fairness([{"metric": "mae_ratio", "max": 1.5}], ["sex"])
    only = predicted[predicted["sex"] == "one"]
    report = regression_fairness_report(only, y_true="y_true", y_pred="y_pred", fairness=one_group)
    assert report.passed and not report.rules[0].judged  # one group: nothing to compare
