"""``kind: FairnessAudit``: the fairness of predictions that already exist, with no training.

The classic case is a risk score in production: a team (or a regulator) asks for its false
positive and false negative rates per group, judged by the same rules a trained model meets.
The audit reads entity rows that carry the label and the score (or a ready prediction), turns
the score into a decision at ``threshold``, and runs the fairness report, its rules and the
decision record that ``run`` gives a trained model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlops_spec.spec.common import Column, SpecModel
from mlops_spec.spec.constraints import Fairness
from mlops_spec.spec.sections import DataSource, Metadata


class ScoreColumn(SpecModel):
    """The column holding what is audited: a score turned into a decision by ``threshold``
    (positive when the score is at or above it), or, without a threshold, the decision itself
    (the positive label, or 0/1)."""

    column: Column = Field(
        description="The entity-file column with the score or the prediction.",
        examples=["decile_score"],
    )
    threshold: float | None = Field(
        default=None,
        description="A score at or above this is a positive decision; omitted: the column "
        "already holds decisions.",
        examples=[5],
    )


class FairnessAudit(SpecModel):
    """An audit of existing predictions: per-group rates and the fairness rules, recorded in
    MLflow and Prefect like a trained model's, with nothing trained or registered."""

    api_version: Literal["mlops-spec/v1"] = Field(
        alias="apiVersion", description="Version of the spec language: `mlops-spec/v1`."
    )
    kind: Literal["FairnessAudit"] = Field(description="Always `FairnessAudit` in an audit.")
    metadata: Metadata = Field(
        description="Who owns the audited predictions; `name` names the MLflow experiment."
    )
    data: DataSource = Field(
        description="The entity rows: file, keys, event time, the true outcome as `label`, "
        "and the sensitive columns."
    )
    score: ScoreColumn = Field(description="What is audited: a score and its threshold.")
    positive_label: str | int | bool = Field(
        default=1,
        description="The label value (and decision value) that counts as positive, such as "
        "`1` for 'reoffended' or 'defaulted'.",
        examples=[1],
    )
    fairness: Fairness = Field(description="The sensitive columns and the rules judged.")

    @model_validator(mode="after")
    def _distinct_columns(self) -> FairnessAudit:
        if self.score.column == self.data.label:
            raise ValueError("score.column is the label: audit a score against the outcome")
        return self


AUDIT_KIND = "FairnessAudit"
