"""The root of the language: a TrainingPipeline and the rules that span its sections."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field

from mlops_spec.settings import DEFAULT_ALLOWED_ESTIMATORS
from mlops_spec.spec.common import SpecModel
from mlops_spec.spec.constraints import Constraints
from mlops_spec.spec.governance import ChampionGate, Governance
from mlops_spec.spec.metrics import TASK_METRICS, Task, higher_is_better
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


Location = tuple[str | int, ...]


def semantic_problems(
    spec: TrainingPipeline, allowed_estimators: frozenset[str] | None = None
) -> list[tuple[Location, str, str | None]]:
    """Rules that span sections, as (key path, message, hint) so the loader can point at them.

    Kept out of pydantic validators because a model validator can only report at the document
    root, and a user needs the line of the offending key.
    """
    problems: list[tuple[Location, str, str | None]] = []
    metrics = TASK_METRICS[spec.model.task]
    allowed = allowed_estimators or frozenset(DEFAULT_ALLOWED_ESTIMATORS)
    if spec.model.estimator not in allowed:
        close = difflib.get_close_matches(spec.model.estimator, sorted(allowed), n=1, cutoff=0.7)
        problems.append(
            (
                ("model", "estimator"),
                f"'{spec.model.estimator}' is not in the estimator allow-list",
                f"did you mean '{close[0]}'?"
                if close
                else "allowed: "
                + ", ".join(sorted(allowed))
                + "; extend with MLOPS_SPEC_EXTRA_ESTIMATORS",
            )
        )
    for index, name in enumerate(spec.features.feature_names):
        if name == spec.data.label:
            problems.append(
                (
                    ("features", "refs", index),
                    f"the label '{spec.data.label}' is listed as a feature",
                    "remove it from features.refs: a model must not see its own label",
                )
            )
    if spec.tuning is not None:
        if spec.tuning.metric not in metrics:
            problems.append(
                (
                    ("tuning", "metric"),
                    f"'{spec.tuning.metric}' is not a metric of task {spec.model.task.value}",
                    _metric_hint(spec.tuning.metric, metrics),
                )
            )
        elif spec.tuning.direction is not None and (
            (spec.tuning.direction is Direction.maximize) != higher_is_better(spec.tuning.metric)
        ):
            problems.append(
                (
                    ("tuning", "direction"),
                    f"{spec.tuning.direction.value} is the wrong way for {spec.tuning.metric}",
                    "omit `direction` to use the metric's natural direction",
                )
            )
    for index, gate in enumerate(spec.governance.gates):
        if gate.metric not in metrics:
            problems.append(
                (
                    ("governance", "gates", index, "metric"),
                    f"'{gate.metric}' is not a metric of task {spec.model.task.value}",
                    _metric_hint(gate.metric, metrics),
                )
            )
    for index, key in enumerate(spec.governance.required_metadata):
        value = (
            getattr(spec.metadata, key)
            if key in Metadata.model_fields
            else (spec.metadata.tags.get(key))
        )
        if not value:
            problems.append(
                (
                    ("governance", "required_metadata", index),
                    f"governance requires metadata '{key}', which is not set",
                    f"set metadata.{key} or metadata.tags.{key}",
                )
            )
    fairness = spec.constraints.fairness
    if fairness is not None:
        if spec.model.task is not Task.binary_classification:
            problems.append(
                (
                    ("constraints", "fairness"),
                    "fairness rules apply to binary classification only",
                    "remove constraints.fairness or change model.task",
                )
            )
        for index, column in enumerate(fairness.sensitive):
            if column == spec.data.label:
                problems.append(
                    (
                        ("constraints", "fairness", "sensitive", index),
                        "the label cannot be a sensitive group",
                        None,
                    )
                )
            elif spec.data.columns is not None and column not in spec.data.columns:
                problems.append(
                    (
                        ("constraints", "fairness", "sensitive", index),
                        f"column '{column}' is not in data.columns",
                        _metric_hint(column, tuple(spec.data.columns)),
                    )
                )
    if (
        spec.monitoring is not None
        and spec.monitoring.on_drift == "retrain"
        and (spec.monitoring.batch is None)
    ):
        problems.append(
            (
                ("monitoring", "batch"),
                "on_drift: retrain needs a batch to compare",
                "set monitoring.batch to a path or glob of new entity rows",
            )
        )
    return problems


def _metric_hint(value: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "use one of: " + ", ".join(choices)
