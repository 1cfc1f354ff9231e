"""Fairness from whylogs segments, checked against a plain pandas groupby on real data.

The diabetes data (442 patients, with sex and age) gets a real classifier's predictions for
"disease progression above the median". Age bands give a small group (under 30 rows) and a
missing-value group, both of which the report must show and handle as documented.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression

from mlops_spec.adapters.fairness import MISSING_GROUP, fairness_report
from mlops_spec.adapters.fairness import groups as fairness_module
from mlops_spec.errors import DataSourceError, StepError
from mlops_spec.spec.constraints import CLASSIFICATION_FAIRNESS_METRICS, Fairness, FairnessMetric

pytestmark = pytest.mark.integration

MIN_GROUP = 30
METRICS = list(CLASSIFICATION_FAIRNESS_METRICS)


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    df = load_diabetes(as_frame=True, scaled=False).frame
    features = df.drop(columns=["target", "sex", "age"])
    df["y_true"] = (df["target"] > df["target"].median()).astype(int)
    model = LogisticRegression(max_iter=2000).fit(features, df["y_true"])
    df["y_pred"] = model.predict(features).astype(int)
    bands = pd.cut(df["age"], [0, 25, 40, 55, 100], labels=["<=25", "26-40", "41-55", ">55"])
    df["age_band"] = bands.astype(object)
    df.loc[df.index[::12], "age_band"] = np.nan  # 37 rows: a judged "<missing>" group
    df["sex_cat"] = df["sex"].map({1.0: "one", 2.0: "two"}).astype("category")
    return df


def _expected_groups(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """The group table computed independently with pandas."""
    label = df[column].map(str, na_action="ignore").astype(object).fillna(MISSING_GROUP)
    rows = {}
    for group, part in df.groupby(label):
        truth, pred = part["y_true"], part["y_pred"]
        rows[group] = {
            "n": len(part),
            "selection_rate": pred.mean(),
            "tpr": pred[truth == 1].mean() if (truth == 1).any() else None,
            "fpr": pred[truth == 0].mean() if (truth == 0).any() else None,
            "accuracy": (truth == pred).mean(),
            "base_rate": truth.mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _expected_metrics(groups: pd.DataFrame) -> dict[FairnessMetric, float]:
    judged = groups[groups["n"] >= MIN_GROUP]
    sel = judged["selection_rate"]
    tpr, fpr = judged["tpr"].dropna(), judged["fpr"].dropna()
    return {
        FairnessMetric.disparate_impact: sel.min() / sel.max(),
        FairnessMetric.demographic_parity_difference: sel.max() - sel.min(),
        FairnessMetric.equal_opportunity_difference: tpr.max() - tpr.min(),
        FairnessMetric.equalized_odds_difference: max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
    }


def _fairness(rules: list[dict[str, Any]], sensitive: list[str] | None = None) -> Fairness:
    return Fairness(
        sensitive=sensitive or ["sex", "age_band", "sex_cat"],
        rules=rules,
        min_group_size=MIN_GROUP,
    )


def test_numbers_match_a_pandas_groupby(scored: pd.DataFrame) -> None:
    rules = [{"metric": metric.value, "min": -1.0} for metric in METRICS]
    report = fairness_report(scored, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules))
    table = report.group_table()
    assert list(table.columns) == [
        "sensitive", "group", "n", "selection_rate", "tpr", "fpr", "accuracy", "base_rate", "judged"
    ]  # fmt: skip
    for result in report.results:
        expected = _expected_groups(scored, result.column)
        got = table[table["sensitive"] == result.column].set_index("group")
        assert sorted(got.index) == sorted(expected.index)
        assert got["n"].sum() == len(scored)  # no row lost, missing values included
        for group, row in expected.iterrows():
            for stat, value in row.items():
                assert got.loc[group, stat] == pytest.approx(value), (result.column, group, stat)
            assert got.loc[group, "judged"] == (row["n"] >= MIN_GROUP)
        want = _expected_metrics(expected)
        for metric in METRICS:
            assert result.metrics[metric] == pytest.approx(want[metric]), (result.column, metric)
    assert report.passed


def test_small_and_missing_groups(scored: pd.DataFrame) -> None:
    rules = [{"metric": "disparate_impact", "min": 0.0}]
    report = fairness_report(
        scored, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules, ["age_band"])
    )
    groups = {g.group: g for g in report.results[0].groups}
    assert groups[MISSING_GROUP].n == scored["age_band"].isna().sum()
    assert groups[MISSING_GROUP].judged
    assert report.results[0].groups[-1].group == MISSING_GROUP  # listed last
    small = groups["<=25"]
    assert small.n == ((scored["age"] <= 25) & scored["age_band"].notna()).sum() < MIN_GROUP
    assert not small.judged
    # the small group is excluded: with it, the selection-rate spread would differ
    expected = _expected_groups(scored, "age_band")
    every = expected["selection_rate"]
    assert (every.max() - every.min()) != pytest.approx(
        report.results[0].metrics[FairnessMetric.demographic_parity_difference]
    )


def test_rules_pass_and_fail_both_ways(scored: pd.DataFrame) -> None:
    value_of = _expected_metrics(_expected_groups(scored, "age_band"))
    rules = []
    for metric, value in value_of.items():
        rules += [
            {"metric": metric.value, "min": value - 0.01},  # pass
            {"metric": metric.value, "min": value + 0.01},  # fail
            {"metric": metric.value, "max": value + 0.01},  # pass
            {"metric": metric.value, "max": value - 0.01},  # fail
            {"metric": metric.value, "min": value - 0.01, "max": value + 0.01},  # pass
        ]
    report = fairness_report(
        scored, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules, ["age_band"])
    )
    assert [r.passed for r in report.rules] == [True, False, True, False, True] * len(METRICS)
    assert all(r.judged for r in report.rules)
    assert report.failed() == [r for r in report.rules if not r.passed]
    assert not report.passed
    records = report.to_records()
    assert records[1]["bound"] == f">= {value_of[METRICS[0]] + 0.01:g}"
    assert records[4]["bound"].startswith("in [")
    assert {r["sensitive"] for r in records} == {"age_band"}


def test_undefined_rates_and_unjudged_rules(scored: pd.DataFrame) -> None:
    """A group without positives has no TPR; with too few judged groups nothing is judged."""
    df = scored.assign(outcome=scored["y_true"].map({0: "neg", 1: "pos"}))
    report = fairness_report(
        df,
        y_true="y_true",
        y_pred="y_pred",
        fairness=_fairness([{"metric": "equalized_odds_difference", "max": 0.0}], ["outcome"]),
    )
    neg, pos = report.results[0].groups
    assert neg.tpr is None and neg.fpr is not None
    assert pos.fpr is None and pos.tpr is not None
    assert report.results[0].metrics[FairnessMetric.equal_opportunity_difference] is None
    assert report.results[0].metrics[FairnessMetric.disparate_impact] is not None
    (rule,) = report.rules
    assert rule.value is None and not rule.judged and rule.passed
    assert "not judged" in report.to_markdown()
    assert "n/a" in report.to_markdown()

    everything_small = Fairness(
        sensitive=["sex"], rules=[{"metric": "disparate_impact", "min": 0.99}], min_group_size=1000
    )
    report = fairness_report(df, y_true="y_true", y_pred="y_pred", fairness=everything_small)
    assert report.passed and not report.rules[0].judged
    assert all(not g.judged for g in report.results[0].groups)


def test_markdown_renders_tables(scored: pd.DataFrame) -> None:
    rules = [{"metric": "disparate_impact", "min": 0.8}]
    report = fairness_report(
        scored, y_true="y_true", y_pred="y_pred", fairness=_fairness(rules, ["sex"])
    )
    lines = report.to_markdown().splitlines()
    assert lines[2] == "| sensitive | metric | against | value | bound | result |"
    assert lines[3] == "|---|---|---|---|---|---|"
    assert lines[4].startswith("| sex | disparate_impact | all groups | 0.")
    header = "| group | n | selection rate | TPR | FPR | accuracy | base rate | judged |"
    at = lines.index(header)
    assert lines[at + 1].count("|") == header.count("|")
    groups = lines[at + 2 :]
    # the overall rates first, the yardstick each group is read against
    assert [row.split(" | ")[0] for row in groups] == ["| **overall**", "| 1.0", "| 2.0"]
    assert groups[0].endswith(" | - |")
    assert all(row.count("|") == header.count("|") for row in groups)


def test_bad_inputs(scored: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    fairness = _fairness([{"metric": "disparate_impact", "min": 0.8}], ["ethnicity"])
    with pytest.raises(DataSourceError, match="ethnicity"):
        fairness_report(scored, y_true="y_true", y_pred="y_pred", fairness=fairness)
    fairness = _fairness([{"metric": "disparate_impact", "min": 0.8}], ["sex"])
    with pytest.raises(StepError, match="0/1"):
        fairness_report(scored, y_true="target", y_pred="y_pred", fairness=fairness)
    with pytest.raises(StepError, match="no rows"):
        fairness_report(scored.iloc[:0], y_true="y_true", y_pred="y_pred", fairness=fairness)
    monkeypatch.setattr(fairness_module, "MAX_GROUPS", 10)
    fairness = _fairness([{"metric": "disparate_impact", "min": 0.8}], ["age"])
    with pytest.raises(StepError, match="'age' has 58 distinct values"):
        fairness_report(scored, y_true="y_true", y_pred="y_pred", fairness=fairness)
