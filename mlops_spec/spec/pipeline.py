"""The root of the language: a TrainingPipeline (the rules spanning its sections: ``rules``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlops_spec.spec.common import SpecModel
from mlops_spec.spec.constraints import Constraints
from mlops_spec.spec.governance import ChampionGate, Governance
from mlops_spec.spec.metrics import Task, higher_is_better
from mlops_spec.spec.operations import Monitoring, Schedule
from mlops_spec.spec.sections import (
    DataSource,
    FeatureSource,
    Metadata,
    ModelSection,
    Serving,
    Split,
)
from mlops_spec.spec.tuning import Direction, Tuning

API_VERSION = "mlops-spec/v1"
#: What a policy file may set: the sections teams share (see ``mlops_spec.loader.policy``).
POLICY_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "extends",
        "split",
        "tuning",
        "constraints",
        "governance",
        "monitoring",
        "schedule",
        "serving",
        "model",
    }
)


class TrainingPipeline(SpecModel):
    """A model's whole life: data, features, tuning, constraints, governance and operations."""

    api_version: Literal["mlops-spec/v1"] = Field(
        alias="apiVersion", description="Version of the spec language: `mlops-spec/v1`."
    )
    kind: Literal["TrainingPipeline"] = Field(
        description="Always `TrainingPipeline` in a spec (policy files say `Policy`)."
    )
    metadata: Metadata = Field(
        description="Who owns the model and what it is; `name` names the registered model."
    )
    data: DataSource = Field(
        description="The entity rows: file, keys, event time and label; features are joined "
        "to them."
    )
    features: FeatureSource = Field(
        description="The Feast repo and the features joined point-in-time to the entity rows."
    )
    split: Split = Field(
        default=Split(),
        description="How rows are divided into training and test (and the tuning holdout); "
        "omitted: a time split with 20% test.",
    )
    model: ModelSection = Field(description="The task, the estimator and its fixed parameters.")
    tuning: Tuning | None = Field(
        default=None,
        description="An Optuna search over estimator parameters; omitted: the model is fitted "
        "once with `model.params`.",
    )
    constraints: Constraints = Field(
        default=Constraints(),
        description="Data checks before training and fairness rules on the test predictions.",
    )
    governance: Governance = Field(
        default=Governance(),
        description="Gates a new version must pass, required metadata, and how it is promoted.",
    )
    monitoring: Monitoring | None = Field(
        default=None,
        description="Drift monitoring of new batches against the champion; omitted: no monitor "
        "deployment.",
    )
    schedule: Schedule | None = Field(
        default=None,
        description="When the training deployment runs; omitted: only when started (or by "
        "`on_drift: retrain`).",
    )
    serving: Serving | None = Field(
        default=None,
        description="Online serving (`mlops-spec serve`): which versions answer and limits; "
        "omitted: the champion alone, with the defaults.",
    )

    @property
    def task(self) -> Task:
        return self.model.task

    @property
    def tuning_direction(self) -> Direction:
        assert self.tuning is not None
        if self.tuning.direction is not None:
            return self.tuning.direction
        return Direction.maximize if higher_is_better(self.tuning.metric) else Direction.minimize

    def champion_gates(self) -> list[ChampionGate]:
        return [g for g in self.governance.gates if isinstance(g, ChampionGate)]
