"""Metadata, data, features, split and model: what is trained, on which rows and columns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from mlops_spec.spec.common import Column, Moment, Name, ProjectPath, Seed, SpecModel
from mlops_spec.spec.metrics import Task


class Metadata(SpecModel):
    """Who owns the model and what it is for."""

    name: Name = Field(
        description="The registered model's name, also used in run and deployment names: a "
        "lower-case slug of letters, digits, `-` and `_`, at most 63 characters, starting "
        "with a letter or digit.",
        examples=["credit-default"],
    )
    owner: str = Field(
        min_length=3,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Who answers for the model: an e-mail address, recorded with every run and "
        "in the model card.",
        examples=["risk-ml@example.com"],
    )
    description: str = Field(
        default="",
        description="What the model predicts, in a sentence; shown in the model card, on the "
        "MLflow model page and in the serving docs.",
        examples=["Probability that an applicant defaults within 12 months."],
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        description="Free-form text labels; `governance.required_metadata` can require some "
        "of their keys.",
        examples=[{"team": "risk", "domain": "credit"}],
    )


class DataSource(SpecModel):
    """Entity rows: one per training example, with its key, event time, label and groups."""

    entities: ProjectPath = Field(
        description="The entity file, from the project root: parquet (or CSV, by the `.csv` "
        "suffix), one row per key and event time; every row needs a label.",
        examples=["data/applications.parquet"],
    )
    entity_key: Column | list[Column] = Field(
        description="The column (or list of columns) identifying the entity, as the Feast "
        "entity's join key.",
        examples=["applicant_id", ["store_id", "product_id"]],
    )
    timestamp: Column = Field(
        description="The event-time column: features are joined as of this time "
        "(point-in-time), and a `time` split orders rows by it.",
        examples=["event_timestamp"],
    )
    label: Column = Field(
        description="The column the model predicts; neither an entity key nor the timestamp.",
        examples=["default"],
    )
    columns: list[Column] | None = Field(
        default=None,
        description="Columns of the entity file, when known; lets validate check names early. "
        "Must include the keys, the timestamp and the label.",
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

    repo: ProjectPath = Field(
        default="feature_repo",
        description="The Feast repo folder (the one holding `feature_store.yaml`), from the "
        "project root.",
    )
    service: str | None = Field(
        default=None,
        min_length=1,
        description="A Feast feature service whose features the model uses; give this or "
        "`refs`, not both.",
        examples=["credit_features_v1"],
    )
    refs: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Feature references as `view:feature`; give this or `service`, not both.",
        examples=[["applicant_stats:income", "applicant_stats:age"]],
    )

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
    """How the test rows are chosen: `time` (the latest rows by event time, or those at or
    after a `cutoff`: tests on rows later than any trained on; the default), `random` (seeded
    shuffle), `stratified` (seeded, with each class's share kept on both sides;
    classification only), `group` (whole groups of rows, say every row of one person, on one
    side only) or `column` (a column of the entity rows says each row's side)."""

    time = "time"
    random = "random"
    stratified = "stratified"
    group = "group"
    column = "column"


SplitValue = str | int | bool


def _values(*values: SplitValue) -> Any:
    """A default list of split values (a fresh list each time)."""
    return lambda: list(values)


class SplitValues(SpecModel):
    """Which values of the split column put a row on which side (`method: column`)."""

    train: list[SplitValue] = Field(
        default_factory=_values("train"),
        min_length=1,
        description="Values of the split column that make a row a training row.",
        examples=[["train"]],
    )
    validation: list[SplitValue] = Field(
        default_factory=list,
        description="Values that make a row a tuning-holdout row (trained on by the final "
        "fit); empty: the holdout is `validation_size` of the training rows, at random.",
        examples=[["validation"]],
    )
    test: list[SplitValue] = Field(
        default_factory=_values("test"),
        min_length=1,
        description="Values that make a row a test row. Rows whose value is in no list are "
        "left out of the run, and the split step says how many.",
        examples=[["test"]],
    )


class Split(SpecModel):
    """Training and test rows, and the holdout that scores tuning trials. Each held-out part
    given as a size is n x size rows, rounded half up; gates and the champion comparison use
    the test rows. A time split never separates rows that share a timestamp."""

    method: SplitMethod = Field(
        default=SplitMethod.time,
        description="`time`, `random`, `stratified`, `group` or `column`; the tuning holdout "
        "is split the same way.",
    )
    test_size: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share of the rows held out as the test set, a fraction strictly between "
        "0 and 1 (for `group`: the share of groups). Not with `cutoff` or `method: column`, "
        "which say the test rows themselves.",
        examples=[0.2],
    )
    validation_size: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share of the training rows held out to score tuning trials, a fraction "
        "strictly between 0 and 1 (for `group`: of the training groups); used only with "
        "`tuning`.",
        examples=[0.2],
    )
    seed: Seed = Field(
        default=42,
        description="Seed of the `random`, `stratified` and `group` splits and of the final "
        "model's `random_state` (0 to 2**32 - 1).",
    )
    cutoff: Moment | None = Field(
        default=None,
        description="`method: time` only: the test rows are those whose event time is at or "
        "after this date (UTC unless a zone is written).",
        examples=["2014-01-01"],
    )
    validation_cutoff: Moment | None = Field(
        default=None,
        description="`method: time` with `cutoff` only: the tuning holdout is the training "
        "rows at or after this date (before `cutoff`); omitted: the latest `validation_size` "
        "of them.",
        examples=["2013-07-01"],
    )
    by: Column | None = Field(
        default=None,
        description="`method: group`: the entity-file column whose value names a group (a "
        "person, a store); no group has rows on both sides. Stratified by the label where "
        "the task is a classification.",
        examples=["person_id"],
    )
    column: Column | None = Field(
        default=None,
        description="`method: column`: the entity-file column that says each row's side, "
        "with the values in `values`.",
        examples=["fold"],
    )
    values: SplitValues | None = Field(
        default=None,
        description="`method: column`: which values of `column` are train, validation and "
        "test rows (default: `train`, none, `test`).",
    )

    def summary(self) -> str:
        """The split in a few words, for logs and the model card."""
        detail = {
            SplitMethod.time: f"cutoff {self.cutoff.isoformat()}" if self.cutoff else None,
            SplitMethod.group: f"by {self.by}",
            SplitMethod.column: f"column {self.column}",
        }.get(self.method)
        return f"{self.method.value} ({detail})" if detail else self.method.value


class ThresholdGoal(StrEnum):
    """What a chosen threshold maximizes on the validation rows: `f1` (the positive class's
    F1 score) or `youden` (true positive rate minus false positive rate)."""

    f1 = "f1"
    youden = "youden"


class ThresholdSearch(SpecModel):
    """How the decision threshold is chosen on the validation rows: `optimize` a score, or
    the lowest threshold whose precision reaches `precision_at` (the most recall at that
    precision); give one of the two."""

    optimize: ThresholdGoal | None = Field(default=None, description="`f1` or `youden`.")
    precision_at: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="The precision to reach, a fraction strictly between 0 and 1.",
        examples=[0.9],
    )

    @model_validator(mode="after")
    def _one_goal(self) -> ThresholdSearch:
        if (self.optimize is None) == (self.precision_at is None):
            raise ValueError("give one of optimize (f1 or youden) or precision_at")
        return self


def _threshold_kind(value: Any) -> str:
    return "search" if isinstance(value, dict | ThresholdSearch) else "probability"


Threshold = Annotated[
    Annotated[float, Field(gt=0, lt=1), Tag("probability")]
    | Annotated[ThresholdSearch, Tag("search")],
    Discriminator(_threshold_kind),
]
"""A probability, or how to choose one: a number is checked as a number, a mapping as a
search, so a mistake in either gets one error rather than one per branch."""


class ModelSection(SpecModel):
    """What is trained: the task and a scikit-learn estimator with its fixed parameters."""

    task: Task = Field(
        description="`binary_classification`, `multiclass_classification` or `regression`; "
        "decides the metrics and the estimators allowed."
    )
    estimator: str = Field(
        pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$",
        description="The scikit-learn estimator class, by its full import path.",
        examples=["sklearn.ensemble.HistGradientBoostingClassifier"],
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Constructor parameters fixed for every fit; each must be a parameter of "
        "the estimator and not also in `tuning.search_space`.",
        examples=[{"max_iter": 200}],
    )
    positive_label: str | int | bool | None = Field(
        default=None,
        description="For binary tasks whose label is not 0/1: the label value the fairness "
        "rules count as the positive outcome. Omitted: the second of the sorted label values.",
        examples=[">50K"],
    )
    threshold: Threshold | None = Field(
        default=None,
        description="Binary classification: the positive class's probability from which a row "
        "is predicted positive (`0.3`), or how to choose it on the validation rows "
        "(`{optimize: f1}`, `{optimize: youden}`, `{precision_at: 0.9}`). It is part of the "
        "logged model (scikit-learn's `FixedThresholdClassifier`), so evaluation, fairness, "
        "scoring, serving and `mlflow models serve` all decide with it. Omitted: the most "
        "probable class.",
        examples=[0.3, {"optimize": "f1"}],
    )


class CanaryRules(SpecModel):
    """When a canary has earned promotion (see ``mlops-spec canary``)."""

    min_requests: int = Field(
        default=100,
        ge=1,
        description="Canary requests needed before any decision (labelled ones, when outcomes "
        "are given); fewer: the verdict is to wait.",
    )
    min_agreement: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Without outcomes: share of canary requests where the champion agrees, a "
        "fraction from 0 to 1; at least this promotes the canary.",
    )
    max_regression: float = Field(
        default=0.02,
        ge=0,
        description="With outcomes: how much lower the canary's accuracy may be than the "
        "champion's on the same requests, as a fraction (`0.02`: two points).",
    )


class Serving(SpecModel):
    """Online serving: who answers, who is tried alongside, and what an outage of the online
    store does."""

    mode: Literal["champion", "shadow", "canary"] = Field(
        default="champion",
        description="`champion`: the champion answers every request. `shadow`: the candidate "
        "is also scored and logged, never returned. `canary`: `canary_percent` of entities "
        "get the candidate's answer.",
    )
    candidate_alias: str = Field(
        default="challenger",
        pattern=r"^[A-Za-z][\w-]*$",
        description="The alias of the version shadowed (scored and logged, never returned) or "
        "canaried; not the promotion alias.",
    )
    canary_percent: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="Percent (0-100, not a fraction) of entities routed to the candidate by a "
        "stable hash of the entity key, so an entity always meets one version; above 0 with "
        "`mode: canary` only.",
        examples=[10],
    )
    on_store_unavailable: Literal["defaults", "error_503"] = Field(
        default="error_503",
        description="defaults: predict with every feature missing, so the model's imputers "
        "answer with the training medians and modes; error_503: refuse the request.",
    )
    reload_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="How often, in seconds, the service re-reads the aliases; a new champion is "
        "swapped in without a restart.",
    )
    canary: CanaryRules = Field(
        default=CanaryRules(),
        description="When `mlops-spec canary` promotes the candidate or takes it out of traffic.",
    )
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
        description="Longest a batch waits for the next request the service has already "
        "received; it never waits for requests not yet sent, so an idle service answers a lone "
        "request at once.",
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
