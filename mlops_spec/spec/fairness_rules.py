"""The fairness block's cross-field rules, as located problems (see ``spec.rules``).

Split from ``spec.rules`` because intersections (a sensitive entry that is a list of columns)
and task-dependent metrics give the fairness block more rules than the rest of a pipeline
together. Every problem points at the innermost key that is wrong, such as the second column
of an intersection (``constraints.fairness.sensitive.1.0``), so the editor underlines it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlops_spec.spec.constraints import (
    CLASSIFICATION_FAIRNESS_METRICS,
    LABEL_METRICS,
    REGRESSION_FAIRNESS_METRICS,
    Fairness,
    FairnessRule,
    Sensitive,
    sensitive_name,
)
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.names import did_you_mean
from mlops_spec.spec.pipeline import TrainingPipeline

Location = tuple[str | int, ...]
Problem = tuple[Location, str, str | None]
ColumnCheck = Callable[[str, Location], list[Problem]]

_TASK_METRICS = {
    Task.binary_classification: CLASSIFICATION_FAIRNESS_METRICS,
    Task.regression: REGRESSION_FAIRNESS_METRICS,
}


def pipeline_fairness_problems(spec: TrainingPipeline) -> list[Problem]:
    """Sensitive columns: real, distinct groups of the entity rows, never the label or key;
    intersections of two or more distinct columns; rules whose metrics fit the task."""
    fairness = spec.constraints.fairness
    if fairness is None:
        return []
    at: Location = ("constraints", "fairness")
    problems: list[Problem] = []
    if spec.model.task not in _TASK_METRICS:
        problems.append(
            (
                at,
                "fairness rules apply to binary classification and regression only",
                "remove constraints.fairness or change model.task",
            )
        )
    problems += sensitive_problems(
        fairness, at, lambda column, where: _column_problems(spec, column, where)
    )
    return problems + fairness_rule_problems(fairness, at, spec.model.task)


def sensitive_problems(
    fairness: Fairness, at: Location, column_problems: ColumnCheck
) -> list[Problem]:
    """Entries listed twice, intersections that are not two or more distinct columns, and
    whatever ``column_problems`` (the pipeline's or the audit's) says of each column."""
    problems: list[Problem] = []
    for index in _repeated_entries(fairness.sensitive):
        entry = fairness.sensitive[index]
        hint = None if isinstance(entry, str) else "the same columns in any order: the same groups"
        where: Location = (*at, "sensitive", index)
        problems.append((where, f"sensitive '{sensitive_name(entry)}' is listed twice", hint))
    for index, entry in enumerate(fairness.sensitive):
        where = (*at, "sensitive", index)
        if isinstance(entry, str):
            problems += column_problems(entry, where)
        else:
            problems += _intersection_problems(entry, where, column_problems)
    return problems


def label_column_problems(label: str) -> ColumnCheck:
    """The check of an audit's sensitive columns: none of them is the outcome."""

    def check(column: str, where: Location) -> list[Problem]:
        if column == label:
            return [(where, "the label cannot be a sensitive group", None)]
        return []

    return check


def _repeated_entries(entries: Sequence[Sensitive]) -> list[int]:
    """Indexes of entries naming the same groups as an earlier one (an intersection's columns
    in another order give the same groups)."""
    seen: set[tuple[str, ...]] = set()
    repeated = []
    for index, entry in enumerate(entries):
        key = (entry,) if isinstance(entry, str) else tuple(sorted(set(entry)))
        if key in seen:
            repeated.append(index)
        seen.add(key)
    return repeated


def _intersection_problems(
    columns: list[str], where: Location, column_problems: ColumnCheck
) -> list[Problem]:
    if len(columns) < 2:
        return [
            (
                where,
                "an intersection needs two or more columns",
                f"write the column itself: {columns[0]}" if columns else "remove the empty list",
            )
        ]
    problems: list[Problem] = []
    for position, column in enumerate(columns):
        if column in columns[:position]:
            problems.append(
                (
                    (*where, position),
                    f"column '{column}' is listed twice in the intersection",
                    "name each column of an intersection once",
                )
            )
        else:
            problems += column_problems(column, (*where, position))
    return problems


def _column_problems(spec: TrainingPipeline, column: str, where: Location) -> list[Problem]:
    identifying = {*spec.data.entity_keys, spec.data.timestamp}
    if column == spec.data.label:
        return [(where, "the label cannot be a sensitive group", None)]
    if column in identifying:
        kind = "timestamp" if column == spec.data.timestamp else "entity key"
        return [
            (
                where,
                f"'{column}' is the {kind}, not a group of people",
                "a sensitive column holds a few groups, such as sex or age band",
            )
        ]
    if spec.data.columns is not None and column not in spec.data.columns:
        return [
            (
                where,
                f"column '{column}' is not in data.columns",
                _hint(column, spec.data.columns, what="column"),
            )
        ]
    return []


def fairness_rule_problems(
    fairness: Fairness, at: Location, task: Task = Task.binary_classification
) -> list[Problem]:
    """Some rule at all; metrics that fit the task; a label rule on an outcome rate; each
    rule's `on` and reference. ``at``: where the fairness block sits (a pipeline's
    constraints, an audit's top level, whose decisions are judged as a classifier's)."""
    problems: list[Problem] = []
    if not fairness.rules and not fairness.label_rules:
        first = "mae_ratio, max: 1.25" if task is Task.regression else "disparate_impact, min: 0.8"
        problems.append(
            (
                at,
                "fairness needs rules (on the predictions) or label_rules (on the label)",
                f"add rules: [{{metric: {first}}}]",
            )
        )
    problems += _metric_problems(fairness.rules, (*at, "rules"), task)
    if task is Task.regression and fairness.label_rules:
        problems.append(
            (
                (*at, "label_rules"),
                "label_rules judge the rate of a favourable outcome, and a regression label "
                "is a number",
                "remove label_rules; judge the model's errors per group with rules",
            )
        )
    else:
        for index, rule in enumerate(fairness.label_rules):
            if rule.metric not in LABEL_METRICS:
                problems.append(
                    (
                        (*at, "label_rules", index, "metric"),
                        f"{rule.metric.value} needs predictions; a label alone has outcome rates",
                        "use disparate_impact or demographic_parity_difference",
                    )
                )
    problems += _rule_targets(fairness, fairness.rules, (*at, "rules"))
    return problems + _rule_targets(fairness, fairness.label_rules, (*at, "label_rules"))


def _metric_problems(rules: list[FairnessRule], at: Location, task: Task) -> list[Problem]:
    """Decision rates for a classifier (or an audited score), errors for a regressor."""
    fitting = _TASK_METRICS.get(task)
    if fitting is None:  # a task with no fairness metrics: reported once, on the block
        return []
    judged = "errors of a regression" if task is Task.regression else "rates of decisions"
    other = "rates of decisions" if task is Task.regression else "errors of a regression"
    return [
        (
            (*at, index, "metric"),
            f"{rule.metric.value} judges {other}; this task's fairness is judged on {judged}",
            "use " + ", ".join(metric.value for metric in fitting),
        )
        for index, rule in enumerate(rules)
        if rule.metric not in fitting
    ]


def _rule_targets(fairness: Fairness, rules: list[FairnessRule], at: Location) -> list[Problem]:
    """A rule's `on` names sensitive entries; a reference group needs one entry to be in,
    spelled with one value per column of that entry."""
    names = fairness.names
    problems: list[Problem] = []
    for index, rule in enumerate(rules):
        where: Location = (*at, index)
        for position, entry in enumerate(rule.on or []):
            name = sensitive_name(entry)
            if name not in names:
                kind = "an intersection in sensitive" if isinstance(entry, list) else "column"
                problems.append(
                    (
                        (*where, "on", position),
                        f"'{name}' is not a sensitive column"
                        if isinstance(entry, str)
                        else f"'{name}' is not an intersection in sensitive",
                        _hint(name, names, what=kind.removeprefix("an ")),
                    )
                )
        judged = rule.on or fairness.sensitive
        if rule.reference_group is not None and len(judged) > 1:
            shown = ", ".join(sensitive_name(entry) for entry in judged)
            problems.append(
                (
                    (*where, "reference_group"),
                    f"reference group '{rule.reference_label}' would be looked for in "
                    f"{len(judged)} columns ({shown})",
                    "add on: [<the column or intersection it is a group of>]",
                )
            )
        elif isinstance(rule.reference_group, list):
            problems += _reference_spelling(rule, judged[0], (*where, "reference_group"))
    return problems


def _reference_spelling(rule: FairnessRule, entry: Sensitive, where: Location) -> list[Problem]:
    """A list reference names one value per column of the intersection it is a group of."""
    values = rule.reference_group or []
    columns = [entry] if isinstance(entry, str) else entry
    if len(values) == len(columns):
        return []
    return [
        (
            where,
            f"reference group {values} has {len(values)} values, and "
            f"'{sensitive_name(entry)}' has {len(columns)} column(s)",
            "one value per column, in the intersection's order"
            if len(columns) > 1
            else f"write the group itself: reference_group: {values[0] if values else '<group>'}",
        )
    ]


def _hint(value: str, choices: Sequence[str], what: str) -> str:
    return did_you_mean(value, choices, what=what) or "use one of: " + ", ".join(choices)


def located_sensitive_columns(fairness: Fairness, at: Location) -> list[tuple[Location, str]]:
    """Every column the sensitive entries read, with where the spec names it (an
    intersection's columns one level deeper), for checks against the entity file."""
    located: list[tuple[Location, str]] = []
    for index, entry in enumerate(fairness.sensitive):
        if isinstance(entry, str):
            located.append(((*at, "sensitive", index), entry))
        else:
            located += [((*at, "sensitive", index, j), column) for j, column in enumerate(entry)]
    return located
