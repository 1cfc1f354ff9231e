"""The governance rules of ``runtime.gates`` on their edges: inclusive bounds, metrics that are
missing or NaN, losses where lower is better, the first version with no champion, and the
order of the decisions (which is the order of the recorded tags and of the refusal message).

Expectations are written out here from the spec language's meaning (``min``/``max`` are
inclusive, a champion gate allows at most ``max_regression`` worse), not read back from the
functions. ``test_verdicts`` covers ``verdict_of`` and the alias table.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from mlops_spec.runtime.gates import (
    KEEP_CHALLENGER,
    PROMOTE,
    alias_refusal,
    champion_decision,
    decide,
    decision_tags,
    metadata_decisions,
    threshold_decision,
    verdict_of,
)
from mlops_spec.spec import ChampionGate, ThresholdGate, TrainingPipeline


def pipeline(governance: dict[str, Any], **metadata: Any) -> TrainingPipeline:
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "mlops-spec/v1",
            "kind": "TrainingPipeline",
            "metadata": {"name": "m", "owner": "team@example.com", **metadata},
            "data": {"entities": "e.parquet", "entity_key": "id", "timestamp": "ts", "label": "y"},
            "features": {"repo": "feature_repo", "service": "s"},
            "model": {
                "task": "binary_classification",
                "estimator": "sklearn.linear_model.LogisticRegression",
            },
            "governance": governance,
        }
    )


# --------------------------------------------------------------------------------------------
# threshold gates


@pytest.mark.parametrize(
    ("bounds", "value", "passed"),
    [
        ({"min": 0.75}, 0.75, True),  # min is inclusive
        ({"min": 0.75}, 0.7499999, False),
        ({"min": 0.75}, 1.0, True),
        ({"max": 0.25}, 0.25, True),  # max is inclusive
        ({"max": 0.25}, 0.2500001, False),
        ({"max": 0.25}, -3.0, True),
        ({"min": 0.5, "max": 0.75}, 0.5, True),
        ({"min": 0.5, "max": 0.75}, 0.75, True),
        ({"min": 0.5, "max": 0.75}, 0.4, False),
        ({"min": 0.5, "max": 0.75}, 0.8, False),
        ({"min": 0.5, "max": 0.5}, 0.5, True),  # a band of one value
        ({"min": 0.5}, math.nan, False),  # a NaN score satisfies no bound
        ({"max": 0.5}, math.nan, False),
        ({"min": 0.5}, math.inf, True),
        ({"max": 0.5}, math.inf, False),
    ],
)
def test_threshold_bounds(bounds: dict[str, float], value: float, passed: bool) -> None:
    gate = ThresholdGate(metric="accuracy", **bounds)
    decision = threshold_decision(gate, {"accuracy": value, "other": 0.0})
    assert decision.passed is passed
    assert decision.gate == "accuracy"
    assert decision.value == value or (math.isnan(value) and math.isnan(decision.value or 0.0))


def test_threshold_bound_text_names_both_sides() -> None:
    assert threshold_decision(ThresholdGate(metric="r2", min=0.5), {"r2": 1}).bound == ">= 0.5"
    assert threshold_decision(ThresholdGate(metric="r2", max=2), {"r2": 1}).bound == "<= 2.0"
    both = threshold_decision(ThresholdGate(metric="r2", min=0.1, max=0.9), {"r2": 0.5})
    assert both.bound == ">= 0.1 and <= 0.9"
    assert both.detail == "r2 = 0.5000"


def test_a_metric_that_was_not_computed_fails_its_gate() -> None:
    decision = threshold_decision(ThresholdGate(metric="roc_auc", min=0.0), {"accuracy": 1.0})
    assert decision.passed is False
    assert decision.value is None
    assert decision.bound == ">= 0.0"  # the bound is still shown
    assert "not computed" in decision.detail


# --------------------------------------------------------------------------------------------
# champion gates


def champion(metric: str, max_regression: float = 0.0) -> ChampionGate:
    return ChampionGate(compare_to="champion", metric=metric, max_regression=max_regression)


@pytest.mark.parametrize(
    ("metric", "challenger", "current", "max_regression", "passed"),
    [
        # higher is better: regression = champion - challenger
        ("roc_auc", 0.75, 0.75, 0.0, True),  # a tie with no allowance passes
        ("roc_auc", 0.74, 0.75, 0.0, False),
        ("roc_auc", 0.9, 0.75, 0.0, True),  # better is never a regression
        ("roc_auc", 0.5, 0.75, 0.25, True),  # exactly the allowed regression
        ("roc_auc", 0.49, 0.75, 0.25, False),
        # lower is better: regression = challenger - champion
        ("log_loss", 0.5, 0.25, 0.25, True),
        ("log_loss", 0.51, 0.25, 0.25, False),
        ("log_loss", 0.1, 0.25, 0.0, True),
        ("rmse", 2.0, 1.0, 0.5, False),
        ("mae", 1.25, 1.0, 0.25, True),
        # r2 is a score, higher is better, though it is a regression metric
        ("r2", 0.5, 0.75, 0.25, True),
        ("r2", 0.4, 0.75, 0.25, False),
    ],
)
def test_champion_regression(
    metric: str, challenger: float, current: float, max_regression: float, passed: bool
) -> None:
    decision = champion_decision(
        champion(metric, max_regression), {metric: challenger}, {metric: current}, 3
    )
    assert decision.passed is passed, decision.detail
    assert decision.gate == f"{metric} vs champion"
    assert decision.value == challenger
    assert decision.bound == f"regression <= {max_regression}"
    assert "champion v3" in decision.detail


def test_champion_regression_exactly_at_a_decimal_allowance_passes() -> None:
    gate = champion("accuracy", 0.1)
    assert champion_decision(gate, {"accuracy": 0.7}, {"accuracy": 0.8}, 1).passed


@pytest.mark.parametrize(
    ("champion_metrics", "champion_version"),
    [(None, None), ({"roc_auc": 0.99}, None), (None, 4)],
)
def test_without_a_champion_there_is_nothing_to_regress_from(
    champion_metrics: dict[str, float] | None, champion_version: int | None
) -> None:
    decision = champion_decision(
        champion("roc_auc"), {"roc_auc": 0.1}, champion_metrics, champion_version
    )
    assert decision.passed is True
    assert decision.value == 0.1


@pytest.mark.parametrize(
    ("challenger", "current"),
    [({}, {"roc_auc": 0.5}), ({"roc_auc": 0.9}, {}), ({"accuracy": 0.9}, {"accuracy": 0.5})],
)
def test_a_metric_missing_on_either_side_fails_the_comparison(
    challenger: dict[str, float], current: dict[str, float]
) -> None:
    decision = champion_decision(champion("roc_auc", 1.0), challenger, current, 2)
    assert decision.passed is False
    assert "missing" in decision.detail


def test_a_nan_score_on_either_side_fails_the_comparison() -> None:
    gate = champion("roc_auc", 1.0)
    assert not champion_decision(gate, {"roc_auc": math.nan}, {"roc_auc": 0.5}, 1).passed
    assert not champion_decision(gate, {"roc_auc": 0.5}, {"roc_auc": math.nan}, 1).passed


# --------------------------------------------------------------------------------------------
# required metadata


def test_required_metadata_reads_fields_and_tags_and_empty_is_missing() -> None:
    spec = pipeline(
        {"required_metadata": ["owner", "description", "team", "cost_center"]},
        description="",
        tags={"team": "risk", "cost_center": ""},
    )
    found = {d.gate: d.passed for d in metadata_decisions(spec)}
    assert found == {
        "metadata owner": True,
        "metadata description": False,  # present but empty
        "metadata team": True,  # from metadata.tags
        "metadata cost_center": False,  # an empty tag is not set
    }
    assert all(d.value is None and d.bound == "required" for d in metadata_decisions(spec))


def test_no_required_metadata_no_decisions() -> None:
    assert metadata_decisions(pipeline({})) == []


# --------------------------------------------------------------------------------------------
# decide: every gate, in order


GATES = [
    {"metric": "accuracy", "min": 0.8},
    {"compare_to": "champion", "metric": "roc_auc", "max_regression": 0.0},
    {"metric": "log_loss", "max": 0.5},
]


def test_decide_keeps_the_spec_order_then_metadata_then_fairness() -> None:
    spec = pipeline({"gates": GATES, "required_metadata": ["team"]}, tags={"team": "t"})
    decisions = decide(
        spec,
        {"accuracy": 0.9, "roc_auc": 0.7, "log_loss": 0.4},
        champion_metrics={"roc_auc": 0.75},
        champion_version=1,
        fairness_failures=["disparate_impact 0.5 < 0.8 for sex"],
    )
    assert [(d.gate, d.passed) for d in decisions] == [
        ("accuracy", True),
        ("roc_auc vs champion", False),
        ("log_loss", True),
        ("metadata team", True),
        ("fairness", False),
    ]
    assert decisions[-1].detail == "disparate_impact 0.5 < 0.8 for sex"


@pytest.mark.parametrize(
    ("fairness_failures", "expected"),
    [(None, None), ([], (True, "all rules pass")), (["a", "b"], (False, "a; b"))],
)
def test_fairness_is_one_gate_only_when_fairness_was_judged(
    fairness_failures: list[str] | None, expected: tuple[bool, str] | None
) -> None:
    decisions = decide(
        pipeline({}),
        {},
        champion_metrics=None,
        champion_version=None,
        fairness_failures=fairness_failures,
    )
    if expected is None:
        assert decisions == []
    else:
        [fairness] = decisions
        assert (fairness.gate, fairness.passed, fairness.detail) == ("fairness", *expected)


def test_a_first_version_is_judged_on_its_thresholds_alone() -> None:
    spec = pipeline({"gates": GATES})
    decisions = decide(
        spec,
        {"accuracy": 0.9, "roc_auc": 0.1, "log_loss": 0.4},
        champion_metrics=None,
        champion_version=None,
        fairness_failures=None,
    )
    assert all(d.passed for d in decisions)
    assert verdict_of(decisions, approval_required=False) == PROMOTE


def test_one_failed_gate_keeps_the_version_a_challenger_and_is_named() -> None:
    """decide -> verdict -> tags -> alias_refusal, the path a registered version takes."""
    spec = pipeline({"gates": GATES, "required_metadata": ["team"]})
    decisions = decide(
        spec,
        {"accuracy": 0.9, "roc_auc": 0.7, "log_loss": 0.4},
        champion_metrics={"roc_auc": 0.75},
        champion_version=1,
        fairness_failures=[],
    )
    verdict = verdict_of(decisions, approval_required=False)
    assert verdict == KEEP_CHALLENGER
    tags = decision_tags(decisions, verdict)
    refusal = alias_refusal("champion", tags)
    assert refusal == "it failed its gates (roc_auc vs champion, metadata team)"
    assert alias_refusal("challenger", tags) is None


@pytest.mark.parametrize("decision", ["approved", "Approve", "yes", ""])
def test_only_the_word_approve_is_an_approval(decision: str) -> None:
    tags = {"governance.verdict": "awaiting-approval", "approval.decision": decision}
    refusal = alias_refusal("champion", tags)
    assert refusal is not None and "awaits approval" in refusal


def test_a_refusal_lists_failed_gates_in_the_specs_order() -> None:
    from mlops_spec.runtime.gates import KEEP_CHALLENGER, VERDICT_TAG, alias_refusal

    tags = {VERDICT_TAG: KEEP_CHALLENGER, "gate.10.late": "FAIL: x", "gate.2.early": "FAIL: y"}
    tags |= {f"gate.{i}.fine{i}": "pass: z" for i in (0, 1, 3)}
    assert alias_refusal("champion", tags) == "it failed its gates (early, late)"
