"""The spec language as pydantic models (no heavy imports: validate and plan stay fast)."""

from mlops_spec.spec.constraints import Constraints, DataConstraint, Fairness, FairnessRule
from mlops_spec.spec.governance import ChampionGate, Governance, Promotion, ThresholdGate
from mlops_spec.spec.metrics import TASK_METRICS, Task, higher_is_better
from mlops_spec.spec.operations import Drift, Monitoring, Schedule
from mlops_spec.spec.pipeline import API_VERSION, TrainingPipeline
from mlops_spec.spec.rules import semantic_problems
from mlops_spec.spec.sections import DataSource, FeatureSource, Metadata, ModelSection, Split
from mlops_spec.spec.tuning import CategoricalParam, FloatParam, IntParam, Tuning

__all__ = [
    "API_VERSION",
    "TASK_METRICS",
    "CategoricalParam",
    "ChampionGate",
    "Constraints",
    "DataConstraint",
    "DataSource",
    "Drift",
    "Fairness",
    "FairnessRule",
    "FeatureSource",
    "FloatParam",
    "Governance",
    "IntParam",
    "Metadata",
    "ModelSection",
    "Monitoring",
    "Promotion",
    "Schedule",
    "Split",
    "Task",
    "ThresholdGate",
    "TrainingPipeline",
    "Tuning",
    "higher_is_better",
    "semantic_problems",
]
