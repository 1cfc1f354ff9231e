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


class TrainingPipeline(SpecModel):
    """A model's whole life: data, features, tuning, constraints, governance and operations."""

    api_version: Literal["mlops-spec/v1"] = Field(alias="apiVersion")
    kind: Literal["TrainingPipeline"]
    metadata: Metadata
    data: DataSource
    features: FeatureSource
    split: Split = Split()
    model: ModelSection
    tuning: Tuning | None = None
    constraints: Constraints = Constraints()
    governance: Governance = Governance()
    monitoring: Monitoring | None = None
    schedule: Schedule | None = None
    serving: Serving | None = None

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
