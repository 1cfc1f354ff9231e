"""The model card and the model page's history, rendered from a version's records; and the
verdict a review leaves on a version.

The records are written out here as MLflow holds them for a registered version (tags with
``pass: ...`` values, ``test_`` metrics, the run's logged gate decisions), so the card is
checked against what a reader of the MLflow page must see, not against the renderer itself.
"""

from __future__ import annotations

from typing import Any

from mlops_spec.adapters.mlflow_audit import VersionRecord
from mlops_spec.runtime.gates import AWAITING_APPROVAL, VERDICT_TAG, alias_refusal
from mlops_spec.runtime.model_card import history_markdown, render_card
from mlops_spec.runtime.registry_steps import after_review
from mlops_spec.spec import TrainingPipeline


def spec(**extra: Any) -> TrainingPipeline:
    return TrainingPipeline.model_validate(
        {
            "apiVersion": "mlops-spec/v1",
            "kind": "TrainingPipeline",
            "metadata": {
                "name": "credit",
                "owner": "risk@example.com",
                "description": "Default risk for small-business loans.",
            },
            "data": {"entities": "e.parquet", "entity_key": "id", "timestamp": "ts", "label": "y"},
            "features": {"repo": "feature_repo", "service": "credit_v1"},
            "model": {
                "task": "binary_classification",
                "estimator": "sklearn.linear_model.LogisticRegression",
            },
            **extra,
        }
    )


RECORD = VersionRecord(
    name="credit",
    version=4,
    aliases=("champion",),
    status="READY",
    created_at="2026-12-02T10:00:00+00:00",
    run_id="abc123",
    model_id="m-1",
    source="models:/m-1",
    version_tags={
        "gate.0.roc_auc": "pass: roc_auc = 0.9100",
        "governance.verdict": "promote",
        "governance.status": "promoted",
        "data.rows": "1200",
        "feast.feature_refs": "loans:amount,loans:term",
        "mlops_spec.spec_path": "specs/credit.yaml",
    },
    run_params={"train_rows": "960", "test_rows": "240"},
    run_metrics={"test_roc_auc": 0.91, "train_seconds": 3.0},
)
DECISIONS = [
    {"gate": "roc_auc", "passed": True, "value": 0.91, "bound": ">= 0.85", "detail": "ok"},
]
GROUPS = [{"sensitive": "sex", "group": "Female", "selection_rate": 0.2, "tpr": 0.7}]


def test_the_card_says_use_data_metrics_fairness_gates_approval_and_lineage() -> None:
    card = render_card(
        spec(
            constraints={
                "fairness": {
                    "sensitive": ["sex"],
                    "rules": [{"metric": "disparate_impact", "min": 0.8}],
                }
            }
        ),
        RECORD,
        GROUPS,
        DECISIONS,
    )
    assert card.startswith("# credit v4\n")
    assert "**Status:** promoted (@champion) · **verdict:** promote" in card
    assert "Default risk for small-business loans." in card
    assert "| entity rows | e.parquet (1200) |" in card
    assert "960 train, 240 test rows" in card
    assert "`amount`, `term`" in card
    assert "train_seconds" not in card  # only test metrics
    assert "## Fairness per group (sex)" in card and "Female" in card
    # the bound is escaped so it renders as text, not as a block quote reading "= 0.85"
    assert "\\>= 0.85" in card
    assert "May be: champion or challenger." in card
    assert "Not required by the spec" in card
    assert "specs/credit.yaml" in card


def test_without_logged_decisions_the_gates_come_from_the_tags() -> None:
    card = render_card(spec(), RECORD, [], [])
    assert "roc\\_auc = 0.9100" in card
    assert "The spec sets no fairness constraints." in card


def test_the_history_reads_as_moves_oldest_first() -> None:
    text = history_markdown(
        [
            {
                "alias": "champion",
                "from_version": None,
                "to_version": 1,
                "kind": "promotion",
                "actor": "run a",
                "reason": "every gate passed",
                "at": "2026-12-01T08:00:00+00:00",
            },
            {
                "alias": "champion",
                "from_version": 1,
                "to_version": 2,
                "kind": "rollback",
                "actor": "ada",
                "reason": "bad",
                "at": "2026-12-01T09:00:00.5+00:00",
            },
        ]
    )
    lines = text.splitlines()
    assert lines[0] == "## Promotion history"
    assert "none → v1" in lines[4] and "2026-12-01 08:00:00" in lines[4]
    assert "v1 → v2" in lines[5] and "rollback" in lines[5]
    assert history_markdown([]).endswith("No promotions yet.\n")


def test_a_review_leaves_a_verdict_that_matches_its_status() -> None:
    approved = {"approval.decision": "approve", **after_review("approved")}
    assert approved[VERDICT_TAG] == "promote"
    assert alias_refusal("champion", approved, approval_required=True) is None

    rejected = {
        "approval.decision": "reject",
        "approval.reviewer": "ada",
        **after_review("rejected"),
    }
    assert rejected[VERDICT_TAG] == "keep-challenger"
    assert alias_refusal("champion", rejected) == "a reviewer rejected it (ada)"
    assert alias_refusal("challenger", rejected) is None

    timed_out = after_review("approval-timeout")
    assert timed_out[VERDICT_TAG] == AWAITING_APPROVAL  # nobody decided: still awaiting
