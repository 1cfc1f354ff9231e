"""Group fairness of a binary classifier, counted with whylogs segments.

Per-group counts come from a whylogs profile segmented on each sensitive column (one segment per
group), so the numbers in the report are the ones a stored whylogs profile would show. Outcomes
are logged as 0/1 integer indicators and groups as integer codes, with a schema keeping only the
counts and distribution sketches: whylogs takes its fast numpy path for integers, while strings
and booleans go through per-value ``Series.apply`` calls (4x slower on 50k rows, 100 groups).
A group's tally is ``round(mean * n)`` of an indicator, exact for any realistic row count.

Groups are labelled ``str(value)``; missing sensitive values form the group ``"<missing>"``
(whylogs' segmentation, built on ``pandas.groupby``, would otherwise drop those rows silently).
An intersection (a sensitive entry listing several columns) is one segmented column whose
values are the rows' combinations, labelled ``"African-American & Male"``: its groups are the
combinations present in the rows, as fairlearn's ``MetricFrame`` forms them from several
sensitive features. The report also carries the overall rates (every row, one group), the
yardstick a reader compares each group with.
Groups with fewer than ``min_group_size`` rows are reported but do not enter any metric: their
rates are too noisy to judge a model by. A metric needs two judged groups with the rate defined
(TPR needs positives, FPR negatives); otherwise it is ``None`` and its rules are not judged,
which counts as passing and is shown as such. Equalized odds takes whichever of the TPR and FPR
gaps is defined.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import pandas as pd
import whylogs as why
from whylogs.core.datatypes import Fractional, Integral
from whylogs.core.resolvers import MetricSpec, ResolverSpec, StandardMetric
from whylogs.core.schema import DeclarativeSchema
from whylogs.core.segmentation_partition import segment_on_column

from mlops_spec.errors import DataSourceError, StepError
from mlops_spec.spec.constraints import (
    INTERSECTION_JOIN,
    Fairness,
    FairnessMetric,
    FairnessRule,
    Sensitive,
    Severity,
    sensitive_name,
)

MISSING_GROUP = "<missing>"
MAX_GROUPS = 1000
OVERALL_SENSITIVE, OVERALL_GROUP = "(all)", "overall"
_INDICATORS = ("_f_pos_pred", "_f_positive", "_f_tp", "_f_fp", "_f_correct")


@dataclass(frozen=True)
class GroupStats:
    group: str
    n: int
    selection_rate: float
    tpr: float | None  # None: the group has no actual positives
    fpr: float | None  # None: the group has no actual negatives
    accuracy: float
    base_rate: float
    judged: bool  # n >= min_group_size

    # (heading, attribute) of the report's per-group markdown tables
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("selection rate", "selection_rate"),
        ("TPR", "tpr"),
        ("FPR", "fpr"),
        ("accuracy", "accuracy"),
        ("base rate", "base_rate"),
    )


@dataclass(frozen=True)
class SensitiveResult:
    column: str  # the entry's name: a column, or an intersection's columns joined
    groups: tuple[Any, ...]  # GroupStats, or a regression's ErrorStats
    metrics: Mapping[FairnessMetric, float | None]


@dataclass(frozen=True)
class RuleOutcome:
    sensitive: str
    metric: FairnessMetric
    value: float | None
    min: float | None
    max: float | None
    passed: bool
    judged: bool
    severity: Severity = Severity.block
    reference_group: str | None = None

    @property
    def blocking(self) -> bool:
        """A broken rule that fails the gate (a ``warn`` rule only reports)."""
        return not self.passed and self.severity is Severity.block

    @property
    def bound(self) -> str:
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"


@dataclass(frozen=True)
class FairnessReport:
    """Per-group stats of every sensitive entry, the rules judged on them and the overall
    stats (a classifier's ``GroupStats`` or a regressor's ``ErrorStats``)."""

    results: tuple[SensitiveResult, ...]
    rules: tuple[RuleOutcome, ...]
    min_group_size: int = field(default=30)
    overall: Any = None  # the stats of every row as one group; None: not computed

    @property
    def passed(self) -> bool:
        """No blocking rule broken (``warn`` rules never fail a report)."""
        return not self.failed()

    def failed(self) -> list[RuleOutcome]:
        return [rule for rule in self.rules if rule.blocking]

    def warned(self) -> list[RuleOutcome]:
        """Broken ``warn`` rules: reported, never gating."""
        return [rule for rule in self.rules if not rule.passed and not rule.blocking]

    def to_records(self) -> list[dict[str, Any]]:
        """One record per (sensitive column, rule): the table a reviewer decides on."""
        return [
            {
                "sensitive": r.sensitive,
                "metric": r.metric.value,
                "value": r.value,
                "bound": r.bound,
                "passed": r.passed,
                "judged": r.judged,
                "severity": r.severity.value,
                "reference_group": r.reference_group,
            }
            for r in self.rules
        ]

    def group_table(self, *, overall: bool = True) -> pd.DataFrame:
        """One row per (sensitive entry, group), after an ``overall`` row (sensitive
        ``(all)``) of every test row when ``overall`` and the report has one."""
        first = [] if self.overall is None or not overall else [self.overall]
        rows = [{"sensitive": OVERALL_SENSITIVE, **vars(stats)} for stats in first]
        rows += [
            {"sensitive": result.column, **vars(group)}
            for result in self.results
            for group in result.groups
        ]
        kind = type(self.overall) if self.overall is not None else GroupStats
        if self.results and self.results[0].groups:
            kind = type(self.results[0].groups[0])
        columns = ["sensitive", *(f.name for f in fields(kind))]
        return pd.DataFrame(rows, columns=columns)

    def to_markdown(self) -> str:
        ok = sum(rule.passed for rule in self.rules)
        lines = [f"**{ok} of {len(self.rules)} fairness rules passed.**", ""]
        lines += [
            "| sensitive | metric | against | value | bound | result |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rules:
            against = "all groups" if r.reference_group is None else r.reference_group
            lines.append(
                f"| {r.sensitive} | {r.metric.value} | {against} | {_num(r.value)} | {r.bound} "
                f"| {_result(r)} |"
            )
        for res in self.results:
            lines += ["", f"Groups of `{res.column}` (n < {self.min_group_size}: not judged)", ""]
            lines += _group_lines(res.groups, self.overall)
        return "\n".join(lines) + "\n"


def _group_lines(groups: tuple[Any, ...], overall: Any) -> list[str]:
    """A markdown table of groups, the overall row first (judged: -)."""
    columns = type(groups[0] if groups else overall).COLUMNS if groups or overall else ()
    lines = [
        "| group | n | " + " | ".join(head for head, _ in columns) + " | judged |",
        "|---|---|" + "---|" * len(columns) + "---|",
    ]
    for g in ([overall] if overall is not None else []) + list(groups):
        cells = [g.group.replace("|", "\\|"), str(g.n)]
        cells += [_num(getattr(g, attribute)) for _, attribute in columns]
        cells.append("-" if g is overall else "yes" if g.judged else "no")
        if g is overall:
            cells[0] = f"**{OVERALL_GROUP}**"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _result(rule: RuleOutcome) -> str:
    if not rule.judged:
        return "not judged"
    if rule.passed:
        return "pass"
    return "**FAIL**" if rule.blocking else "warn"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def fairness_report(
    frame: pd.DataFrame, *, y_true: str, y_pred: str, fairness: Fairness
) -> FairnessReport:
    """Compute group metrics for every sensitive entry (a column or an intersection) and the
    overall rates, and judge every rule on each entry it applies to."""
    truth, pred = binary_outcomes(frame, y_true=y_true, y_pred=y_pred, fairness=fairness)
    indicators = (pred, truth, truth & pred, ~truth & pred, truth == pred)
    values = {name: v.astype("int8") for name, v in zip(_INDICATORS, indicators, strict=True)}
    codes, labels = group_codes(frame, fairness.sensitive)
    means = segment_means(pd.DataFrame({**codes, **values}, index=frame.index), labels)
    results = []
    for name in labels:
        groups = tuple(
            _stats(label, _tallies(n, m), fairness.min_group_size) for label, n, m in means[name]
        )
        results.append(SensitiveResult(name, groups, _metrics(groups)))
    overall_means = {key: float(v.mean()) for key, v in values.items()}
    overall = _stats(OVERALL_GROUP, _tallies(len(frame), overall_means), fairness.min_group_size)
    rules = judge_rules(results, fairness.rules, _against_reference)
    return FairnessReport(tuple(results), rules, fairness.min_group_size, overall)


def binary_outcomes(
    frame: pd.DataFrame, *, y_true: str, y_pred: str, fairness: Fairness
) -> tuple[Any, Any]:
    """``y_true`` and ``y_pred`` as boolean arrays, after checking the frame has every column
    the report reads, some rows, and 0/1 outcomes."""
    require_columns(frame, [y_true, y_pred, *fairness.columns])
    truth, pred = frame[y_true], frame[y_pred]
    for name, values in ((y_true, truth), (y_pred, pred)):
        if values.isna().any() or not values.isin([0, 1]).all():
            raise StepError(f"fairness needs {name} as 0/1 with 1 = positive class")
    return truth.to_numpy(dtype=float) == 1, pred.to_numpy(dtype=float) == 1


def require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    """Fail as a data problem when a column is absent, as a step problem with no rows."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataSourceError(f"fairness needs columns missing from the data: {', '.join(absent)}")
    if frame.empty:
        raise StepError("no rows to judge fairness on")


def group_labels(frame: pd.DataFrame, entry: Sensitive) -> pd.Series:
    """Each row's group of one sensitive entry as text: the value, or for an intersection
    the values of its columns joined (``African-American & Male``); missing is ``<missing>``."""
    columns = [entry] if isinstance(entry, str) else list(entry)
    texts = [
        frame[c].map(str, na_action="ignore").astype(object).fillna(MISSING_GROUP) for c in columns
    ]
    label = texts[0]
    for text in texts[1:]:
        label = label + INTERSECTION_JOIN + text
    return label


def group_codes(
    frame: pd.DataFrame, sensitive: list[Sensitive]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Integer group codes per sensitive entry (logged as ``_g<i>``, whylogs' fast path) and,
    by entry name, the group label of each code."""
    codes: dict[str, Any] = {}
    labels: dict[str, list[str]] = {}
    for index, entry in enumerate(sensitive):
        name = sensitive_name(entry)
        code, uniques = pd.factorize(group_labels(frame, entry))
        if len(uniques) > MAX_GROUPS:  # one whylogs profile per group: bin such columns first
            raise StepError(
                f"sensitive {'column ' if isinstance(entry, str) else ''}'{name}' has "
                f"{len(uniques)} distinct values "
                f"(at most {MAX_GROUPS}); bin it into groups before judging fairness"
            )
        codes[f"_g{index}"], labels[name] = code, [str(u) for u in uniques]
    return codes, labels


def segment_means(
    logged: pd.DataFrame, labels: dict[str, list[str]]
) -> dict[str, list[tuple[str, int, dict[str, float]]]]:
    """Per sensitive entry (logged as ``_g<i>`` in the order of ``labels``): each group's
    label, rows and the mean of every other logged column, read from a whylogs profile
    segmented on the entry; groups sorted by label, ``<missing>`` last."""
    keys = {f"_g{index}": name for index, name in enumerate(labels)}
    values = [c for c in logged.columns if c not in keys]
    partitions: dict[str, Any] = {}
    for column in keys:
        partitions |= segment_on_column(column)
    metrics = [
        MetricSpec(StandardMetric.counts.value),
        MetricSpec(StandardMetric.distribution.value),
    ]
    resolvers = [ResolverSpec(column_type=kind, metrics=metrics) for kind in (Integral, Fractional)]
    schema = DeclarativeSchema(resolvers, segments=partitions)
    with warnings.catch_warnings():  # whylogs calls pandas get_group with a 1-tuple (FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        result_set = why.log(logged, schema=schema)
    out = {}
    for column, name in keys.items():
        groups = []
        for segment in result_set.segments_in_partition(partitions[column]):
            view = result_set.view(segment)
            n = int(view.get_column(values[0]).get_metric("counts").n.value)
            means = {v: view.get_column(v).get_metric("distribution").mean.value for v in values}
            groups.append((labels[name][int(segment.key[0])], n, means))
        out[name] = sorted(groups, key=lambda g: (g[0] == MISSING_GROUP, g[0]))
    return out


def _tallies(n: int, means: dict[str, float]) -> dict[str, int]:
    """Counts of ones from the means of 0/1 indicators (exact for any realistic n)."""
    return {**{name: round(mean * n) for name, mean in means.items()}, "n": n}


def _stats(label: str, c: dict[str, int], min_group_size: int) -> GroupStats:
    n, positives = c["n"], c["_f_positive"]
    negatives = n - positives
    return GroupStats(
        group=label,
        n=n,
        selection_rate=c["_f_pos_pred"] / n,
        tpr=c["_f_tp"] / positives if positives else None,
        fpr=c["_f_fp"] / negatives if negatives else None,
        accuracy=c["_f_correct"] / n,
        base_rate=positives / n,
        judged=n >= min_group_size,
    )


def _spread(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return max(defined) - min(defined) if len(defined) >= 2 else None


def _metrics(groups: tuple[GroupStats, ...]) -> dict[FairnessMetric, float | None]:
    judged = [g for g in groups if g.judged]
    rates = [g.selection_rate for g in judged]
    impact: float | None = None
    if len(rates) >= 2:
        # A model that selects nobody treats every group alike: ratio 1, not 0/0.
        impact = min(rates) / max(rates) if max(rates) > 0 else 1.0
    tpr_gap = _spread([g.tpr for g in judged])
    fpr_gap = _spread([g.fpr for g in judged])
    gaps = [gap for gap in (tpr_gap, fpr_gap) if gap is not None]
    return {
        FairnessMetric.disparate_impact: impact,
        FairnessMetric.demographic_parity_difference: _spread(list(rates)),
        FairnessMetric.equal_opportunity_difference: tpr_gap,
        FairnessMetric.equalized_odds_difference: max(gaps) if gaps else None,
    }


Reference = Callable[[SensitiveResult, str], Mapping[FairnessMetric, float | None]]


def judge_rules(
    results: list[SensitiveResult], rules: list[FairnessRule], against: Reference
) -> tuple[RuleOutcome, ...]:
    """Every rule on every entry it names (all of them without ``on``); ``against`` measures
    an entry's metrics relative to a reference group."""
    return tuple(
        _judge(res, rule, against)
        for rule in rules
        for res in results
        if rule.on_names is None or res.column in rule.on_names
    )


def _judge(result: SensitiveResult, rule: FairnessRule, against: Reference) -> RuleOutcome:
    reference = rule.reference_label
    if reference is None:
        value = result.metrics[rule.metric]
    else:
        value = against(result, reference)[rule.metric]
    passed = value is None or (
        (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
    )
    return RuleOutcome(
        sensitive=result.column,
        metric=rule.metric,
        value=value,
        min=rule.min,
        max=rule.max,
        passed=passed,
        judged=value is not None,
        severity=rule.severity,
        reference_group=reference,
    )


def reference_stats(result: SensitiveResult, reference: str) -> Any:
    """The reference group's stats; a step error naming the groups when it has no rows."""
    by_name = {group.group: group for group in result.groups}
    if reference not in by_name:
        raise StepError(
            f"reference group '{reference}' is not a group of '{result.column}' in the test "
            f"rows (groups: {', '.join(sorted(by_name))})"
        )
    return by_name[reference]


def _against_reference(
    result: SensitiveResult, reference: str
) -> dict[FairnessMetric, float | None]:
    """Each metric measured against ``reference``: the lowest ratio of a judged group's
    selection rate to the reference's, and the largest gap of a judged group's rate to the
    reference's (the reference itself is judged whatever its size, since it is the yardstick)."""
    base = reference_stats(result, reference)
    others = [g for g in result.groups if g.judged and g.group != reference]
    impact = None
    if others:
        ratios = [g.selection_rate / base.selection_rate for g in others if base.selection_rate]
        impact = min(ratios) if ratios else 1.0  # the reference selects nobody: no ratio
    tpr_gap = _gap(base.tpr, [g.tpr for g in others])
    fpr_gap = _gap(base.fpr, [g.fpr for g in others])
    gaps = [gap for gap in (tpr_gap, fpr_gap) if gap is not None]
    return {
        FairnessMetric.disparate_impact: impact,
        FairnessMetric.demographic_parity_difference: _gap(
            base.selection_rate, [g.selection_rate for g in others]
        ),
        FairnessMetric.equal_opportunity_difference: tpr_gap,
        FairnessMetric.equalized_odds_difference: max(gaps) if gaps else None,
    }


def _gap(base: float | None, rates: list[float | None]) -> float | None:
    """The largest distance of a defined rate from ``base``; None when nothing to compare."""
    defined = [rate for rate in rates if rate is not None]
    if base is None or not defined:
        return None
    return max(abs(rate - base) for rate in defined)
