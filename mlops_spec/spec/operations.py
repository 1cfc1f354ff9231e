"""Schedules and monitoring: when the pipeline runs and what watches the champion afterwards."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from mlops_spec.spec.common import Cron, SpecModel, Timezone


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
    features: dict[str, float] = Field(
        default_factory=dict, description="Per-feature thresholds overriding `threshold`."
    )


class Monitoring(SpecModel):
    schedule: Cron | None = None
    timezone: Timezone = "UTC"
    batch: str | None = Field(default=None, description="Path or glob of the newest batch.")
    drift: Drift = Drift()
    on_drift: Literal["retrain", "alert"] = "alert"
