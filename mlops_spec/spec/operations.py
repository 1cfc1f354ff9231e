"""Schedules and monitoring: when the pipeline runs and what watches the champion afterwards."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from mlops_spec.spec.common import Cron, ProjectPath, SpecModel, Timezone


class Schedule(SpecModel):
    cron: Cron
    timezone: Timezone = "UTC"


class DriftMethod(StrEnum):
    psi = "psi"
    ks = "ks"
    hellinger = "hellinger"


class Drift(SpecModel):
    method: DriftMethod = DriftMethod.psi
    threshold: float = Field(default=0.2, gt=0)
    features: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Per-feature thresholds overriding `threshold`."
    )


class Monitoring(SpecModel):
    schedule: Cron | None = None
    timezone: Timezone = "UTC"
    batch: ProjectPath | None = Field(
        default=None,
        description="Path or glob of the newest batch, inside the project like every path.",
    )
    drift: Drift = Drift()
    on_drift: Literal["retrain", "alert"] = "alert"
