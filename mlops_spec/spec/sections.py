"""Metadata, data, features, split and model: what is trained, on which rows and columns."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from mlops_spec.spec.common import Column, Name, ProjectPath, Seed, SpecModel
from mlops_spec.spec.metrics import Task


class Metadata(SpecModel):
    name: Name
    owner: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class DataSource(SpecModel):
    """Entity rows: one per training example, with its key, event time, label and groups."""

    entities: ProjectPath
    entity_key: Column | list[Column]
    timestamp: Column
    label: Column
    columns: list[Column] | None = Field(
        default=None,
        description="Columns of the entity file, when known; lets validate check names early.",
    )

    @property
    def entity_keys(self) -> list[str]:
        return [self.entity_key] if isinstance(self.entity_key, str) else list(self.entity_key)

    @model_validator(mode="after")
    def _label_is_not_a_key(self) -> DataSource:
        if self.label in self.entity_keys or self.label == self.timestamp:
            raise ValueError("the label must not also be the entity key or the timestamp")
        if self.columns is not None:
            missing = [
                c for c in [*self.entity_keys, self.timestamp, self.label] if c not in self.columns
            ]
            if missing:
                raise ValueError(f"columns {missing} are not among data.columns")
        return self


class FeatureSource(SpecModel):
    """Features joined point-in-time from a Feast repo: a feature service or explicit refs."""

    repo: ProjectPath = "feature_repo"
    service: str | None = Field(default=None, min_length=1)
    refs: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> FeatureSource:
        if (self.service is None) == (self.refs is None):
            raise ValueError("give exactly one of `service` or `refs`")
        for ref in self.refs or []:
            view, sep, feature = ref.partition(":")
            if not sep or not view or not feature:
                raise ValueError(f"feature ref '{ref}' must look like `view:feature`")
        return self

    @property
    def feature_names(self) -> list[str]:
        return [ref.partition(":")[2] for ref in self.refs or []]


class SplitMethod(StrEnum):
    time = "time"
    random = "random"
    stratified = "stratified"


class Split(SpecModel):
    method: SplitMethod = SplitMethod.time
    test_size: float = Field(default=0.2, gt=0, lt=1)
    validation_size: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share of the training rows held out to score tuning trials.",
    )
    seed: Seed = 42


class ModelSection(SpecModel):
    task: Task
    estimator: str = Field(pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
    params: dict[str, Any] = Field(default_factory=dict)
    positive_label: str | int | bool | None = Field(
        default=None, description="For binary tasks whose label is not 0/1."
    )


class CanaryRules(SpecModel):
    """When a canary has earned promotion (see ``mlops-spec canary``)."""

    min_requests: int = Field(
        default=100, ge=1, description="Canary requests needed before any decision."
    )
    min_agreement: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Without outcomes: share of canary requests where the champion agrees.",
    )
    max_regression: float = Field(
        default=0.02,
        ge=0,
        description="With outcomes: how much lower the canary's accuracy may be.",
    )


class Serving(SpecModel):
    """Online serving: who answers, who is tried alongside, and what an outage of the online
    store does."""

    mode: Literal["champion", "shadow", "canary"] = "champion"
    candidate_alias: str = Field(
        default="challenger",
        pattern=r"^[A-Za-z][\w-]*$",
        description="The version shadowed (scored and logged, never returned) or canaried.",
    )
    canary_percent: float = Field(default=0.0, ge=0, le=100)
    on_store_unavailable: Literal["defaults", "error_503"] = Field(
        default="error_503",
        description="defaults: predict with every feature missing, so the model's imputers "
        "answer with the training medians and modes; error_503: refuse the request.",
    )
    reload_seconds: float = Field(
        default=10, gt=0, le=3600, description="How often the service checks the aliases."
    )
    canary: CanaryRules = CanaryRules()
    batch_max_entities: int = Field(
        default=64,
        ge=1,
        le=10_000,
        description="Most entities one batch gathers from concurrent requests: one online read "
        "and one model call each (a larger request is still served whole, as its own batch).",
    )
    batch_wait_ms: float = Field(
        default=2,
        ge=0,
        le=1000,
        description="Longest a batch waits for more requests, and only under load: an idle "
        "service answers a lone request at once.",
    )
    max_entities: int = Field(
        default=1000, ge=1, le=100_000, description="Most entities one request may ask for."
    )
    max_body_kb: int = Field(
        default=1024,
        ge=1,
        le=1_048_576,
        description="Largest request body accepted, in KiB; a larger one is refused with 413.",
    )
    request_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=600,
        description="Longest a request waits for its answer before a 504.",
    )
    log_max_mb: float = Field(
        default=64,
        gt=0,
        le=1_048_576,
        description="Size at which the prediction log is rotated (predictions.jsonl.1, ...).",
    )
    log_backups: int = Field(
        default=5,
        ge=0,
        le=10_000,
        description="Rotated prediction logs kept; the oldest beyond this is deleted.",
    )

    @model_validator(mode="after")
    def _percent_matches_mode(self) -> Serving:
        if self.mode == "canary" and self.canary_percent <= 0:
            raise ValueError("mode canary needs canary_percent above 0")
        if self.mode != "canary" and self.canary_percent > 0:
            raise ValueError(f"canary_percent is only used with mode canary, not {self.mode}")
        return self
