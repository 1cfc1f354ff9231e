"""Rules that span sections of a TrainingPipeline, as located problems.

Kept out of pydantic validators because a model validator can only report at the document
root, and a user needs the line of the offending key. Each rule returns
``(key path, message, hint)`` triples; the loader turns the key path into a file position.
Everything here is decided from the spec alone (plus the committed estimator table): checks
that need the entity file or the Feast repo live in ``mlops_spec.loader.project_checks``. The
estimator allow-list is project configuration, so the caller (the loader, from the settings)
passes it in: the spec layer never reads settings, whose import loads pydantic-settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mlops_spec.spec.estimator_params import EstimatorInfo, known_estimator
from mlops_spec.spec.fairness_rules import pipeline_fairness_problems
from mlops_spec.spec.governance import CANDIDATE_ALIAS
from mlops_spec.spec.metrics import TASK_METRICS, Task, higher_is_better
from mlops_spec.spec.names import did_you_mean
from mlops_spec.spec.pipeline import TrainingPipeline
from mlops_spec.spec.sections import Metadata, Split, SplitMethod, SplitValues
from mlops_spec.spec.tuning import Direction

Location = tuple[str | int, ...]
Problem = tuple[Location, str, str | None]


def semantic_problems(
    spec: TrainingPipeline,
    allowed_estimators: frozenset[str],
    estimator: EstimatorInfo | None = None,
) -> list[Problem]:
    """Every cross-section rule the spec breaks.

    ``estimator`` describes ``spec.model.estimator`` when the caller looked it up (the loader
    does, also for estimators outside the committed table); otherwise the committed table is
    used, and an estimator it does not list gets no parameter checks.
    """
    info = estimator or known_estimator(spec.model.estimator)
    return [
        *_estimator_problems(spec, allowed_estimators, info),
        *_data_problems(spec),
        *_feature_problems(spec),
        *_split_problems(spec),
        *_threshold_problems(spec),
        *_tuning_problems(spec),
        *_governance_problems(spec),
        *pipeline_fairness_problems(spec),
        *_operations_problems(spec),
    ]


def duplicates(values: Sequence[str]) -> list[int]:
    """Indexes of values that repeat an earlier one."""
    seen: set[str] = set()
    repeated: list[int] = []
    for index, value in enumerate(values):
        if value in seen:
            repeated.append(index)
        seen.add(value)
    return repeated


def _hint(value: str, choices: Iterable[str], *, what: str, fallback: str | None) -> str | None:
    return did_you_mean(value, choices, what=what) or fallback


def allow_list_problem(estimator: str, allowed: frozenset[str]) -> Problem | None:
    """The estimator is not on the allow-list. Also asked of the raw value when the rest of
    the file fails its models, so ``validate`` reports it alongside those issues."""
    if estimator in allowed:
        return None
    fallback = (
        "allowed: " + ", ".join(sorted(allowed)) + "; extend with MLOPS_SPEC_EXTRA_ESTIMATORS"
    )
    hint = did_you_mean(estimator, allowed, what="estimator", cutoff=0.7)
    return (
        ("model", "estimator"),
        f"'{estimator}' is not in the estimator allow-list",
        hint or fallback,
    )


def _estimator_problems(
    spec: TrainingPipeline, allowed: frozenset[str], info: EstimatorInfo | None
) -> list[Problem]:
    """Allow-list, task fit and parameter names: what the run's first model step refuses."""
    model = spec.model
    refused = allow_list_problem(model.estimator, allowed)
    if refused is not None:
        return [refused]
    if info is None:
        return []
    problems: list[Problem] = []
    wanted = "regressor" if model.task is Task.regression else "classifier"
    if info.kind != "other" and info.kind != wanted:
        problems.append(
            (
                ("model", "estimator"),
                f"{model.estimator} is a {info.kind}, but the task is {model.task.value}",
                f"pick a {wanted} or change model.task",
            )
        )
    valid = sorted(info.params)
    short = model.estimator.rpartition(".")[2]
    named: list[tuple[Location, str]] = [(("model", "params", n), n) for n in model.params]
    if spec.tuning is not None:
        named += [(("tuning", "search_space", n), n) for n in spec.tuning.search_space]
    for where, name in named:
        if name not in info.params:
            problems.append(
                (
                    where,
                    f"'{name}' is not a parameter of {short}",
                    _hint(name, valid, what="parameter", fallback="valid: " + ", ".join(valid)),
                )
            )
    if spec.tuning is not None:
        for name in spec.tuning.search_space:
            if name in model.params:
                problems.append(
                    (
                        ("tuning", "search_space", name),
                        f"'{name}' is both fixed in model.params and searched here",
                        "keep one: remove it from model.params or from the search space",
                    )
                )
    return problems


def _data_problems(spec: TrainingPipeline) -> list[Problem]:
    """Entity keys: each named once, and none of them the event time."""
    data = spec.data
    keys = data.entity_keys
    listed = isinstance(data.entity_key, list)
    problems: list[Problem] = [
        (
            ("data", "entity_key", index),
            f"entity key '{keys[index]}' is listed twice",
            "name each key column once",
        )
        for index in (duplicates(keys) if listed else [])
    ]
    if data.timestamp in keys:
        problems.append(
            (
                ("data", "timestamp"),
                f"the timestamp '{data.timestamp}' is also an entity key",
                "the event time and the key are different columns of the entity rows",
            )
        )
    return problems


def _feature_problems(spec: TrainingPipeline) -> list[Problem]:
    refs = spec.features.refs or []
    problems: list[Problem] = []
    for index, name in enumerate(spec.features.feature_names):
        if name == spec.data.label:
            problems.append(
                (
                    ("features", "refs", index),
                    f"the label '{spec.data.label}' is listed as a feature",
                    "remove it from features.refs: a model must not see its own label",
                )
            )
    for index in duplicates(refs):
        problems.append(
            (
                ("features", "refs", index),
                f"feature ref '{refs[index]}' is listed twice",
                "name each feature once",
            )
        )
    return problems


def _threshold_problems(spec: TrainingPipeline) -> list[Problem]:
    if spec.model.threshold is None or spec.model.task is Task.binary_classification:
        return []
    return [
        (
            ("model", "threshold"),
            f"a decision threshold splits two classes; this task is {spec.model.task.value}",
            "remove model.threshold",
        )
    ]


def _split_problems(spec: TrainingPipeline) -> list[Problem]:
    split = spec.split
    if split.method is SplitMethod.stratified and spec.model.task is Task.regression:
        return [
            (
                ("split", "method"),
                "a stratified split keeps class shares, and a regression has no classes",
                "use method: random, time or group",
            )
        ]
    return [*_split_keys_problems(split), *_split_value_problems(split)]


# each method-specific key, and the method it belongs to
_SPLIT_KEY_METHOD = {
    "cutoff": SplitMethod.time,
    "validation_cutoff": SplitMethod.time,
    "by": SplitMethod.group,
    "column": SplitMethod.column,
    "values": SplitMethod.column,
}


def _split_keys_problems(split: Split) -> list[Problem]:
    """Keys of another method, and the key a method cannot do without."""
    problems: list[Problem] = [
        (
            ("split", key),
            f"'{key}' belongs to method: {method.value}, and this split is "
            f"method: {split.method.value}",
            f"write method: {method.value}, or remove '{key}'",
        )
        for key, method in _SPLIT_KEY_METHOD.items()
        if getattr(split, key) is not None and split.method is not method
    ]
    if split.method is SplitMethod.group and split.by is None:
        problems.append((("split",), "a group split needs the group column", "add by: <column>"))
    if split.method is SplitMethod.column and split.column is None:
        problems.append(
            (
                ("split",),
                "a column split needs the column that says each row's side",
                "add column: <column>",
            )
        )
    if split.validation_cutoff is not None and split.cutoff is None:
        problems.append(
            (
                ("split", "validation_cutoff"),
                "validation_cutoff needs cutoff: the holdout lies between the two",
                "add cutoff: <date>, after validation_cutoff",
            )
        )
    return problems


def _split_value_problems(split: Split) -> list[Problem]:
    """Sizes that the chosen test rows make meaningless, cut-offs in the wrong order, a value
    on two sides."""
    problems: list[Problem] = []
    sets_test_rows = split.cutoff is not None or split.method is SplitMethod.column
    if sets_test_rows and "test_size" in split.model_fields_set:
        says = "cutoff" if split.cutoff is not None else "the split column"
        problems.append(
            (
                ("split", "test_size"),
                f"test_size and {says} both say which rows are tested",
                "remove test_size",
            )
        )
    if (
        split.cutoff is not None
        and split.validation_cutoff is not None
        and split.validation_cutoff >= split.cutoff
    ):
        problems.append(
            (
                ("split", "validation_cutoff"),
                f"validation_cutoff {split.validation_cutoff.isoformat()} is not before "
                f"cutoff {split.cutoff.isoformat()}",
                "the holdout is the training rows from validation_cutoff up to cutoff",
            )
        )
    if split.values is not None:
        problems += _values_problems(split.values)
    return problems


def _values_problems(values: SplitValues) -> list[Problem]:
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for side in ("train", "validation", "test"):
        for index, value in enumerate(getattr(values, side)):
            key = repr(value)
            if key in seen:
                problems.append(
                    (
                        ("split", "values", side, index),
                        f"{value!r} is already a {seen[key]} value",
                        "each value of the split column belongs to one side",
                    )
                )
            seen.setdefault(key, side)
    return problems


def _tuning_problems(spec: TrainingPipeline) -> list[Problem]:
    tuning = spec.tuning
    if tuning is None:
        return []
    metrics = TASK_METRICS[spec.model.task]
    if tuning.metric not in metrics:
        return [
            (
                ("tuning", "metric"),
                f"'{tuning.metric}' is not a metric of task {spec.model.task.value}",
                _metric_hint(tuning.metric, metrics),
            )
        ]
    if tuning.direction is not None and (
        (tuning.direction is Direction.maximize) != higher_is_better(tuning.metric)
    ):
        return [
            (
                ("tuning", "direction"),
                f"{tuning.direction.value} is the wrong way for {tuning.metric}",
                "omit `direction` to use the metric's natural direction",
            )
        ]
    return []


def _governance_problems(spec: TrainingPipeline) -> list[Problem]:
    metrics = TASK_METRICS[spec.model.task]
    problems: list[Problem] = [
        (
            ("governance", "gates", index, "metric"),
            f"'{gate.metric}' is not a metric of task {spec.model.task.value}",
            _metric_hint(gate.metric, metrics),
        )
        for index, gate in enumerate(spec.governance.gates)
        if gate.metric not in metrics
    ]
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
    return problems


def _operations_problems(spec: TrainingPipeline) -> list[Problem]:
    problems: list[Problem] = []
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
    promoted = spec.governance.promotion.alias
    if spec.serving is not None and spec.serving.candidate_alias == promoted:
        problems.append(
            (
                ("serving", "candidate_alias"),
                f"the candidate alias '{promoted}' is the promotion alias: the candidate would "
                "be compared with itself",
                f"use {CANDIDATE_ALIAS}, the alias each new version gets, or another alias",
            )
        )
    return problems


def _metric_hint(value: str, choices: tuple[str, ...], what: str = "name") -> str:
    return did_you_mean(value, choices, what=what) or "use one of: " + ", ".join(choices)
