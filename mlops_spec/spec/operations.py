"""Schedules and monitoring: when the pipeline runs and what watches the champion afterwards."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from mlops_spec.spec.common import Cron, ProjectPath, SpecModel, Timezone


class Schedule(SpecModel):
    """When the training deployment runs on its own (`mlops-spec deploy` writes it to
    prefect.yaml)."""

    cron: Cron = Field(
        description="Five-field cron (minute hour day-of-month month day-of-week), read in "
        "`timezone`: `0 3 * * 1` is Mondays at 03:00.",
        examples=["0 3 * * 1"],
    )
    timezone: Timezone = Field(
        default="UTC",
        description="IANA time zone the cron is read in.",
        examples=["UTC", "Europe/Paris"],
    )


class DriftMethod(StrEnum):
    """The drift score that decides, per feature, from the champion's reference profile and the
    batch's: `psi` (population stability index over the reference's deciles or per category;
    0.1-0.25 is a moderate shift, above 0.25 a large one), `ks` (Kolmogorov-Smirnov statistic,
    the largest gap between the two distributions, 0 to 1; numeric features only) or
    `hellinger` (Hellinger distance, 0 to 1)."""

    psi = "psi"
    ks = "ks"
    hellinger = "hellinger"


class Drift(SpecModel):
    """How drift is scored and where it begins; a batch has drifted when any feature has."""

    method: DriftMethod = Field(
        default=DriftMethod.psi, description="The score compared with the thresholds."
    )
    threshold: float = Field(
        default=0.2,
        gt=0,
        description="A feature has drifted when its score is above this (on the scale of "
        "`method`).",
        examples=[0.2],
    )
    features: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Per-feature thresholds overriding `threshold`, by feature name; every "
        "other feature uses `threshold`.",
        examples=[{"age": 0.1}],
    )


class Monitoring(SpecModel):
    """Drift checks of new entity rows against the champion, as the `<name>-monitor`
    deployment and `mlops-spec monitor` run them."""

    schedule: Cron | None = Field(
        default=None,
        description="Five-field cron of the monitor deployment, read in `timezone`; omitted: "
        "it runs only when started.",
        examples=["0 * * * *"],
    )
    timezone: Timezone = Field(
        default="UTC",
        description="IANA time zone `schedule` is read in.",
        examples=["UTC", "Europe/Paris"],
    )
    batch: ProjectPath | None = Field(
        default=None,
        description="Path or glob of the batches (entity rows; features come from Feast); the "
        "last match by file name is checked. Inside the project like every path.",
        examples=["data/batches/*.parquet"],
    )
    drift: Drift = Field(
        default=Drift(),
        description="The drift score, its threshold and per-feature thresholds; omitted: PSI "
        "above 0.2.",
    )
    on_drift: Literal["retrain", "alert"] = Field(
        default="alert",
        description="`alert`: record a drift event, nothing starts. `retrain`: the event "
        "starts the training deployment (needs `batch`).",
    )
