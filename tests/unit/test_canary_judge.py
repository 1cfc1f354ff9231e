"""``canary.judge`` on its edges: which logged requests count, the ``min_requests`` boundary,
agreement and accuracy ties, outcomes that label only some requests, and keys of several
columns. Expectations are counted by hand here from the rules' meaning in the spec language
(``min_agreement`` and ``max_regression`` are inclusive); ``test_verdicts`` covers the refusals
a canary's gate verdict imposes.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_spec.runtime.canary import judge
from mlops_spec.runtime.gates import PROMOTE, VERDICT_TAG
from mlops_spec.spec.sections import CanaryRules

JUDGED = {VERDICT_TAG: PROMOTE}


def answer(i: int, canary: Any, champion: Any, **overrides: Any) -> dict[str, Any]:
    """One canary request of v2 against champion v1, as the service logs it."""
    return {
        "route": "canary",
        "version": 2,
        "champion_version": 1,
        "store": "ok",
        "entity": {"id": i},
        "prediction": canary,
        "champion_prediction": champion,
        **overrides,
    }


def agreeing(n: int, disagreeing: int = 0, start: int = 0) -> list[dict[str, Any]]:
    return [
        answer(i, "a", "a" if i - start < n - disagreeing else "b") for i in range(start, start + n)
    ]


def decide(records: list[dict[str, Any]], rules: CanaryRules, **kwargs: Any) -> Any:
    return judge(records, rules, champion=1, canary=2, candidate_tags=JUDGED, **kwargs)


def test_only_ok_canary_answers_of_this_pair_count() -> None:
    counted = agreeing(10)
    noise = [
        answer(100, "a", "b", route="champion"),
        answer(101, "a", "b", route="shadow"),
        answer(102, "a", "b", version=3),  # another canary
        answer(103, "a", "b", champion_version=4),  # before the champion changed
        answer(104, "a", "b", store="outage"),  # answered from defaults, not features
        {"route": "canary"},  # a record missing its fields
    ]
    verdict = decide(noise + counted, CanaryRules(min_requests=10, min_agreement=1.0))
    assert (verdict.requests, verdict.agreement, verdict.decision) == (10, 1.0, "promote")
    assert (verdict.champion_version, verdict.canary_version) == (1, 2)


def test_min_requests_is_the_first_count_that_decides() -> None:
    rules = CanaryRules(min_requests=40, min_agreement=0.5)
    waiting = decide(agreeing(39), rules)
    assert waiting.decision == "wait"
    assert waiting.reason == "39 canary requests logged, 40 needed"
    assert waiting.agreement == 1.0 and waiting.requests == 39  # reported while waiting
    assert decide(agreeing(40), rules).decision == "promote"


def test_nothing_logged_waits() -> None:
    verdict = decide([], CanaryRules(min_requests=1))
    assert (verdict.decision, verdict.requests, verdict.agreement) == ("wait", 0, None)


@pytest.mark.parametrize(
    ("requests", "disagreeing", "min_agreement", "decision"),
    [
        (40, 10, 0.75, "promote"),  # 30/40 = 0.75: the bound is inclusive
        (40, 11, 0.75, "rollback"),  # 29/40
        (40, 4, 0.9, "promote"),  # 36/40 = 0.9, a decimal tie
        (40, 5, 0.9, "rollback"),
        (50, 0, 1.0, "promote"),
        (50, 1, 1.0, "rollback"),
        (50, 50, 0.0, "promote"),  # no agreement needed
    ],
)
def test_agreement_boundary(
    requests: int, disagreeing: int, min_agreement: float, decision: str
) -> None:
    rules = CanaryRules(min_requests=requests, min_agreement=min_agreement)
    verdict = decide(agreeing(requests, disagreeing), rules)
    assert verdict.decision == decision, verdict.reason
    assert verdict.agreement == pytest.approx((requests - disagreeing) / requests)
    assert (verdict.labelled, verdict.champion_accuracy, verdict.canary_accuracy) == (0, None, None)


def test_answers_agree_as_text() -> None:
    """Labels pass through JSON: 1 and "1" are the same answer, True and "True" too."""
    records = [answer(0, 1, "1"), answer(1, True, "True"), answer(2, 2.5, "2.5")]
    verdict = decide(records, CanaryRules(min_requests=3, min_agreement=1.0))
    assert verdict.agreement == 1.0 and verdict.decision == "promote"


# --------------------------------------------------------------------------------------------
# with outcomes


def labelled(canary_right: int, champion_right: int, n: int) -> tuple[list[Any], dict[Any, Any]]:
    """``n`` requests with the truth "yes"; the canary is right on the first ``canary_right``,
    the champion on the first ``champion_right``."""
    records = [
        answer(i, "yes" if i < canary_right else "no", "yes" if i < champion_right else "no")
        for i in range(n)
    ]
    return records, {(str(i),): "yes" for i in range(n)}


@pytest.mark.parametrize(
    ("canary_right", "champion_right", "max_regression", "decision"),
    [
        (20, 20, 0.0, "promote"),  # a tie with no allowance
        (19, 20, 0.0, "rollback"),
        (15, 20, 0.25, "promote"),  # 0.75 vs 1.0: exactly the allowance
        (14, 20, 0.25, "rollback"),
        (20, 10, 0.0, "promote"),  # better than the champion
    ],
)
def test_accuracy_boundary(
    canary_right: int, champion_right: int, max_regression: float, decision: str
) -> None:
    records, outcomes = labelled(canary_right, champion_right, 20)
    rules = CanaryRules(min_requests=20, max_regression=max_regression)
    verdict = decide(records, rules, outcomes=outcomes)
    assert verdict.decision == decision, verdict.reason
    assert verdict.canary_accuracy == canary_right / 20
    assert verdict.champion_accuracy == champion_right / 20
    assert verdict.labelled == 20


def test_accuracy_exactly_at_a_decimal_allowance_promotes() -> None:
    records, outcomes = labelled(7, 8, 10)  # canary 0.7, champion 0.8
    rules = CanaryRules(min_requests=10, max_regression=0.1)
    assert decide(records, rules, outcomes=outcomes).decision == "promote"


def test_with_outcomes_only_labelled_requests_count_and_decide() -> None:
    """Accuracy wins over agreement: a canary that disagrees with a wrong champion is right."""
    records, outcomes = labelled(canary_right=30, champion_right=0, n=30)
    unlabelled = agreeing(100, start=1000)
    rules = CanaryRules(min_requests=30, min_agreement=0.99, max_regression=0.0)
    verdict = decide(records + unlabelled, rules, outcomes=outcomes)
    assert verdict.requests == 130 and verdict.labelled == 30
    assert verdict.agreement == pytest.approx(100 / 130)  # below min_agreement, yet...
    assert verdict.decision == "promote"
    assert (verdict.canary_accuracy, verdict.champion_accuracy) == (1.0, 0.0)

    few = decide(records[:29] + unlabelled, rules, outcomes=outcomes)
    assert few.decision == "wait"
    assert few.reason == "29 labelled canary requests logged, 30 needed"


def test_outcomes_that_label_nothing_wait() -> None:
    rules = CanaryRules(min_requests=1)
    for outcomes in ({}, {("999",): "yes"}):
        verdict = decide(agreeing(50), rules, outcomes=outcomes)
        assert (verdict.decision, verdict.labelled, verdict.canary_accuracy) == ("wait", 0, None)


def test_keys_of_several_columns_match_whatever_their_order() -> None:
    """The log writes the entity as the request named it; outcomes are keyed by the sorted
    column names, with every value as text (a parquet int and a JSON int alike)."""
    records = [
        answer(0, "yes", "no", entity={"store": 7, "day": "2024-01-01"}),
        answer(1, "yes", "no", entity={"day": "2024-01-02", "store": 7}),
    ]
    outcomes = {("2024-01-01", "7"): "yes", ("2024-01-02", "7"): "yes"}
    verdict = decide(records, CanaryRules(min_requests=2), outcomes=outcomes)
    assert verdict.labelled == 2 and verdict.canary_accuracy == 1.0
    assert verdict.champion_accuracy == 0.0


def test_a_refusal_wins_over_any_traffic_even_with_outcomes() -> None:
    records, outcomes = labelled(10, 0, 10)
    verdict = judge(
        records,
        CanaryRules(min_requests=10),
        champion=1,
        canary=2,
        candidate_tags={},
        outcomes=outcomes,
    )
    assert verdict.decision == "refused"
    assert verdict.reason.startswith("v2 may not be promoted: unjudged")
    assert verdict.canary_accuracy == 1.0  # what was seen is still reported
