"""Data-aware checks: the spec against its entity file and its Feast repo, before any run.

A run reads the entity file and applies the Feast repo tens of seconds after it starts; a
misspelled feature service, a constraint on a column nobody has, or three label values for a
binary task then fail there. When both the entity file and the repo exist, these checks find
the same problems at validate time, in milliseconds: the parquet footer and the label column
are read with pyarrow (``entity_file``) and the repo's definitions with ``ast``
(``feast_static``); neither Feast nor pandas is imported. When either is absent (a fresh
checkout before ``mlops-spec demo-data``), nothing is checked, and anything the static reader
cannot resolve is skipped rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from mlops_spec.loader.entity_file import (
    EntityTable,
    LabelSummary,
    read_entity_table,
    shown_values,
)
from mlops_spec.loader.feast_static import RepoDefinitions, ViewDef, read_definitions
from mlops_spec.spec.audit import FairnessAudit
from mlops_spec.spec.fairness_rules import located_sensitive_columns
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.names import did_you_mean
from mlops_spec.spec.pipeline import TrainingPipeline
from mlops_spec.spec.rules import Location, Problem

FEAST_CONFIG = "feature_store.yaml"
SHOWN = 12
CUTOFF = 0.75  # column names are short: below this, "target" would suggest "age"


def project_problems(spec: TrainingPipeline, root: Path) -> list[Problem]:
    """Every conflict between the spec and its data; empty when the data is not there."""
    entities = _resolve(root, spec.data.entities)
    repo = _resolve(root, spec.features.repo)
    if entities is None or repo is None:
        return []
    if not (entities.is_file() and (repo / FEAST_CONFIG).is_file()):
        return []
    table = read_entity_table(entities, spec.data.label)
    if table is None:
        return []  # parquet this reader cannot follow: the run will read it
    if isinstance(table, str):
        return [(("data", "entities"), table, "write the entity rows as a parquet file")]
    features, problems = _feature_source_problems(spec, read_definitions(repo), table)
    problems += _entity_column_problems(spec, table)
    if table.label is not None:
        problems += _label_problems(spec, table.label, table.rows)
    if features is not None:
        problems += _named_column_problems(spec, {*table.columns, *features})
    return problems


def _resolve(root: Path, written: str) -> Path | None:
    """As the run resolves it (``LoadedSpec.resolve``); None for no usable path."""
    try:
        candidate = Path(written)
        return candidate if candidate.is_absolute() else (root / candidate).resolve()
    except (OSError, ValueError):
        return None


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    more = f", ... ({len(shown)} in all)" if len(shown) > SHOWN else ""
    return ", ".join(shown[:SHOWN]) + more if shown else "none"


def _missing(
    where: Location, name: str, message: str, choices: Sequence[str], *, what: str, has: str
) -> Problem:
    hint = did_you_mean(name, choices, what=what, cutoff=CUTOFF) or f"{has}: {_listing(choices)}"
    return (where, message, hint)


def _feature_source_problems(
    spec: TrainingPipeline, found: RepoDefinitions, table: EntityTable
) -> tuple[list[str] | None, list[Problem]]:
    """The service or refs against the repo: (the features joined, if known; problems)."""
    source = spec.features
    if source.service is not None:
        service = found.services.get(source.service)
        if service is None:
            if not found.services_complete:
                return None, []
            message = f"feature service '{source.service}' is not defined in {source.repo}"
            names = sorted(found.services)
            problem = _missing(
                ("features", "service"), source.service, message, names, what="name", has="defined"
            )
            return None, [problem]
        if service.projections is None:
            return None, []
        views = [view for view, _ in service.projections]
        features = list(service.features or ())
        problems = _join_key_problems(("features", "service"), views, table)
        if spec.data.label in features:
            problems.append(
                (
                    ("features", "service"),
                    f"the label '{spec.data.label}' is a feature of service '{service.name}'",
                    "a model must not see its own label: use a service without it",
                )
            )
        return features, problems
    return _ref_problems(spec, found, table)


def _ref_problems(
    spec: TrainingPipeline, found: RepoDefinitions, table: EntityTable
) -> tuple[list[str] | None, list[Problem]]:
    """Each ``view:feature`` ref names a view of the repo and a feature of that view."""
    problems: list[Problem] = []
    features: list[str] | None = []
    views: dict[str, ViewDef] = {}
    for index, ref in enumerate(spec.features.refs or []):
        view_name, _, feature = ref.partition(":")
        where: Location = ("features", "refs", index)
        view = found.views.get(view_name)
        if view is None:
            features = None
            if found.views_complete:
                message = f"feature view '{view_name}' is not defined in {spec.features.repo}"
                problems.append(
                    _missing(
                        where, view_name, message, sorted(found.views), what="view", has="views"
                    )
                )
            continue
        views.setdefault(view.name, view)
        if view.features is None:
            features = None
        elif feature not in view.features:
            features = None
            message = f"feature view '{view_name}' has no feature '{feature}'"
            problems.append(
                _missing(where, feature, message, view.features, what="feature", has="it has")
            )
        elif features is not None:
            features.append(feature)
    problems += _join_key_problems(("features", "refs"), list(views.values()), table)
    return features, problems


def _join_key_problems(where: Location, views: list[ViewDef], table: EntityTable) -> list[Problem]:
    """Feast joins each view on its entities' join keys, which the entity rows must carry."""
    problems: list[Problem] = []
    for view in views:
        for key in view.join_keys or ():
            if key not in table.columns:
                message = (
                    f"feature view '{view.name}' joins on '{key}', which the entity file lacks"
                )
                problems.append(
                    _missing(where, key, message, table.columns, what="column", has="it has")
                )
    return problems


def _entity_column_problems(spec: TrainingPipeline, table: EntityTable) -> list[Problem]:
    """Columns the run reads from the entity rows themselves: keys, time, label, groups."""
    data = spec.data
    named: list[tuple[Location, str | None]] = []
    if isinstance(data.entity_key, list):
        named += [(("data", "entity_key", i), key) for i, key in enumerate(data.entity_key)]
    else:
        named.append((("data", "entity_key"), data.entity_key))
    named += [(("data", "timestamp"), data.timestamp), (("data", "label"), data.label)]
    named += [(("data", "columns", i), c) for i, c in enumerate(data.columns or [])]
    named += [(("split", key), getattr(spec.split, key)) for key in ("by", "column")]
    if spec.constraints.fairness is not None:
        fairness = spec.constraints.fairness
        named += located_sensitive_columns(fairness, ("constraints", "fairness"))
    problems = _absent_columns(named, table)
    if table.rows == 0:
        problems.append((("data", "entities"), "the entity file has no rows", None))
    return problems


def _named_column_problems(spec: TrainingPipeline, available: set[str]) -> list[Problem]:
    """Constraint and drift columns: on the entity rows or among the features joined to them."""
    source = f"service '{spec.features.service}'" if spec.features.service else "features.refs"
    named: list[tuple[Location, str]] = [
        (("constraints", "data", i, "column"), c.column)
        for i, c in enumerate(spec.constraints.data)
    ]
    if spec.monitoring is not None:
        named += [
            (("monitoring", "drift", "features", n), n) for n in spec.monitoring.drift.features
        ]
    return [
        _missing(
            where,
            name,
            f"column '{name}' is neither in the entity file nor a feature of {source}",
            sorted(available),
            what="column",
            has="known columns",
        )
        for where, name in named
        if name not in available
    ]


def _label_problems(spec: TrainingPipeline, label: LabelSummary, rows: int) -> list[Problem]:
    """The label's values against the task (what the split and the metrics will refuse)."""
    task, name = spec.model.task, spec.data.label
    problems: list[Problem] = []
    if label.missing or label.has_nan:
        count = f"{label.missing} of {rows}" if label.missing else "some"
        problems.append(
            (
                ("data", "label"),
                f"{count} entity rows have no '{name}'",
                "a run refuses unlabeled rows: drop or fill them in the entity file",
            )
        )
    if task is Task.regression and not label.numeric:
        problems.append(
            (
                ("model", "task"),
                f"a regression needs a numeric label; '{name}' holds {label.type_name} values",
                "use a classification task, or a numeric label column",
            )
        )
    distinct = label.distinct
    if distinct is None or not rows or task is Task.regression:
        return problems
    counted = f"'{name}' has {distinct} distinct values ({shown_values(label)})"
    if task is Task.binary_classification and distinct != 2:
        hint = "use multiclass_classification" if distinct > 2 else "the rows need both classes"
        problems.append((("model", "task"), f"a binary task needs 2 label values; {counted}", hint))
    elif task is Task.multiclass_classification and distinct < 2:
        problems.append(
            (("model", "task"), f"a classification needs 2 or more label values; {counted}", None)
        )
    return problems + _positive_label_problems(spec, label)


def _positive_label_problems(spec: TrainingPipeline, label: LabelSummary) -> list[Problem]:
    """A binary task's positive label is one of the label's values."""
    positive = spec.model.positive_label
    if spec.model.task is not Task.binary_classification or positive is None or not label.values:
        return []
    if positive in label.values:
        return []
    return [
        (
            ("model", "positive_label"),
            f"positive_label {positive!r} is not a value of '{spec.data.label}'",
            "its values are " + ", ".join(repr(v) for v in label.values),
        )
    ]


def audit_problems(audit: FairnessAudit, root: Path) -> list[Problem]:
    """Columns the audit reads that its entity file lacks; empty when the file is not there."""
    entities = _resolve(root, audit.data.entities)
    if entities is None or not entities.is_file():
        return []
    table = read_entity_table(entities, audit.data.label)
    if table is None:
        return []
    if isinstance(table, str):
        return [(("data", "entities"), table, "write the entity rows as a parquet file")]
    data = audit.data
    named: list[tuple[Location, str]] = [
        *((("data", "entity_key", i), key) for i, key in enumerate(data.entity_keys)),
        (("data", "timestamp"), data.timestamp),
        (("data", "label"), data.label),
        (("score", "column"), audit.score.column),
        *located_sensitive_columns(audit.fairness, ("fairness",)),
    ]
    if isinstance(data.entity_key, str):
        named[0] = (("data", "entity_key"), data.entity_key)
    return _absent_columns(named, table)


def _absent_columns(
    named: Sequence[tuple[Location, str | None]], table: EntityTable
) -> list[Problem]:
    """Each named column the entity file lacks, located where the spec names it."""
    return [
        _missing(
            where,
            name,
            f"column '{name}' is not in the entity file",
            table.columns,
            what="column",
            has="it has",
        )
        for where, name in named
        if name is not None and name not in table.columns
    ]
