"""The governance rules that nothing may bypass, as pure functions.

* ``alias_refusal``: which verdicts allow which alias (champion: passed every gate, approved
  where approval is required; challenger: judged at all; unjudged: nothing).
* the canary decision: its rules add to the gates and never replace them, so a canary that
  failed its gates is refused however well it agrees with the champion.
* the audit's governance lines say UNJUDGED in so many words.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_spec.runtime.audit import governance_lines
from mlops_spec.runtime.canary import judge
from mlops_spec.runtime.gates import (
    AWAITING_APPROVAL,
    KEEP_CHALLENGER,
    PROMOTE,
    VERDICT_TAG,
    GateDecision,
    alias_refusal,
    decision_tags,
    is_unjudged,
    verdict_of,
)
from mlops_spec.spec.sections import CanaryRules

PASSED = [GateDecision("accuracy", True, 0.95, ">= 0.9", "accuracy = 0.9500")]
FAILED = [*PASSED, GateDecision("f1_macro", False, 0.5, ">= 0.9", "f1_macro = 0.5000")]
APPROVED = {"approval.decision": "approve", "approval.reviewer": "ana"}


def test_verdict_of_the_decisions() -> None:
    assert verdict_of(PASSED, approval_required=False) == PROMOTE
    assert verdict_of(PASSED, approval_required=True) == AWAITING_APPROVAL
    assert verdict_of(FAILED, approval_required=False) == KEEP_CHALLENGER
    assert verdict_of(FAILED, approval_required=True) == KEEP_CHALLENGER
    assert verdict_of([], approval_required=False) == PROMOTE  # a spec without gates


def test_decision_tags_carry_every_gate_and_the_verdict() -> None:
    tags = decision_tags(FAILED, KEEP_CHALLENGER)
    assert tags == {
        "gate.0.accuracy": "pass: accuracy = 0.9500",
        "gate.1.f1_macro": "FAIL: f1_macro = 0.5000",
        VERDICT_TAG: KEEP_CHALLENGER,
    }
    assert not is_unjudged(tags)
    assert is_unjudged({"mlops_spec.spec_name": "m"})


@pytest.mark.parametrize(
    ("tags", "approval_required", "champion", "challenger"),
    [
        ({VERDICT_TAG: PROMOTE}, False, None, None),
        ({VERDICT_TAG: PROMOTE}, True, "requires approval", None),
        ({VERDICT_TAG: PROMOTE, **APPROVED}, True, None, None),
        ({VERDICT_TAG: AWAITING_APPROVAL}, False, "awaits approval", None),
        ({VERDICT_TAG: AWAITING_APPROVAL, "approval.decision": "reject"}, True, "reject", None),
        ({VERDICT_TAG: AWAITING_APPROVAL, "approval.decision": "timeout"}, False, "await", None),
        ({VERDICT_TAG: AWAITING_APPROVAL, **APPROVED}, True, None, None),
        ({VERDICT_TAG: AWAITING_APPROVAL, **APPROVED}, False, None, None),
        (decision_tags(FAILED, KEEP_CHALLENGER), False, "failed its gates (f1_macro)", None),
        ({VERDICT_TAG: KEEP_CHALLENGER, **APPROVED}, False, "failed its gates", None),
        ({}, False, "unjudged", "unjudged"),
        ({"mlops_spec.spec_name": "m", **APPROVED}, False, "unjudged", "unjudged"),
        ({VERDICT_TAG: "promoted"}, False, "unknown verdict", "unknown verdict"),
    ],
)
def test_which_verdicts_allow_which_alias(
    tags: dict[str, str], approval_required: bool, champion: str | None, challenger: str | None
) -> None:
    as_champion = alias_refusal("champion", tags, approval_required=approval_required)
    as_challenger = alias_refusal("challenger", tags, approval_required=approval_required)
    for refusal, expected in ((as_champion, champion), (as_challenger, challenger)):
        if expected is None:
            assert refusal is None
        else:
            assert refusal is not None and expected in refusal
            assert "\n" not in refusal


def _canary_log(requests: int, agreeing: int) -> list[dict[str, Any]]:
    """The serving log of ``requests`` canary answers of v2 next to champion v1."""
    return [
        {
            "route": "canary",
            "version": 2,
            "champion_version": 1,
            "store": "ok",
            "entity": {"penguin_id": i},
            "prediction": "Adelie",
            "champion_prediction": "Adelie" if i < agreeing else "Gentoo",
        }
        for i in range(requests)
    ]


RULES = CanaryRules(min_requests=40, min_agreement=0.9)


def test_a_canary_that_failed_its_gates_is_refused_however_well_it_agrees() -> None:
    records = _canary_log(100, 98)  # agreement 0.98 >= 0.9: the canary rules alone promote
    failed = decision_tags(FAILED, KEEP_CHALLENGER)
    verdict = judge(records, RULES, champion=1, canary=2, candidate_tags=failed)
    assert verdict.decision == "refused"
    assert "v2 may not be promoted: it failed its gates (f1_macro)" in verdict.reason
    assert verdict.agreement == pytest.approx(0.98) and verdict.requests == 100
    passed = decision_tags(PASSED, PROMOTE)
    assert judge(records, RULES, champion=1, canary=2, candidate_tags=passed).decision == "promote"


@pytest.mark.parametrize(
    ("tags", "approval_required", "decision"),
    [
        ({VERDICT_TAG: PROMOTE}, False, "promote"),
        ({VERDICT_TAG: PROMOTE}, True, "refused"),
        ({VERDICT_TAG: AWAITING_APPROVAL}, True, "refused"),
        ({VERDICT_TAG: AWAITING_APPROVAL, **APPROVED}, True, "promote"),
        ({VERDICT_TAG: KEEP_CHALLENGER}, False, "refused"),
        ({}, False, "refused"),
    ],
)
def test_canary_promotion_needs_the_gates_and_the_approval(
    tags: dict[str, str], approval_required: bool, decision: str
) -> None:
    verdict = judge(
        _canary_log(100, 100),
        RULES,
        champion=1,
        canary=2,
        candidate_tags=tags,
        approval_required=approval_required,
    )
    assert verdict.decision == decision, verdict.reason


def test_refusal_comes_before_waiting_and_rollback_still_applies() -> None:
    failed = {VERDICT_TAG: KEEP_CHALLENGER}
    few = _canary_log(5, 5)
    assert judge(few, RULES, champion=1, canary=2, candidate_tags=failed).decision == "refused"
    passed = {VERDICT_TAG: PROMOTE}
    assert judge(few, RULES, champion=1, canary=2, candidate_tags=passed).decision == "wait"
    poor = _canary_log(100, 50)
    assert judge(poor, RULES, champion=1, canary=2, candidate_tags=passed).decision == "rollback"


def test_audit_says_unjudged_and_what_a_verdict_allows() -> None:
    unjudged = "\n".join(governance_lines({"mlops_spec.spec_name": "m"}))
    assert "governance.verdict: none - UNJUDGED" in unjudged
    assert "may not be promoted, served or scored" in unjudged
    failed = governance_lines(
        {**decision_tags(FAILED, KEEP_CHALLENGER), "canary.decision": "refused"}
    )
    assert failed == [
        "  accuracy: pass: accuracy = 0.9500",
        "  f1_macro: FAIL: f1_macro = 0.5000",
        "  governance.verdict: keep-challenger",
        "  may be: challenger only (it failed its gates (f1_macro))",
        "  canary.decision: refused",
    ]
    promoted = governance_lines(decision_tags(PASSED, PROMOTE))
    assert "  may be: champion or challenger" in promoted


def test_applied_history_drops_moves_recorded_but_never_made() -> None:
    """promote records a move, then makes it: a kill in between leaves an event whose alias
    change never happened, and a rollback must not return to a version that never held it."""
    from mlops_spec.adapters.mlflow_registry import applied_history
    from mlops_spec.runtime.rollback import champion_chain

    def move(a: int | None, b: int, kind: str = "promotion") -> dict[str, object]:
        return {"from_version": a, "to_version": b, "kind": kind}

    done = [move(None, 1), move(1, 2)]
    assert applied_history(done, 2) == done
    unfinished_last = [*done, move(2, 3)]
    assert champion_chain(applied_history(unfinished_last, 2)) == [1, 2]
    unfinished_inside = [*done, move(2, 3), move(2, 4, "conflict"), move(2, 5)]
    assert champion_chain(applied_history(unfinished_inside, 5)) == [1, 2, 5]
    # the alias moved behind mlops-spec's back (to v3): nothing is dropped, rollback refuses
    assert applied_history(done, 3) == done
