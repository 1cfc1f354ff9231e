"""The spec ``features add`` writes next to the Feast module: a first version that validates and
runs, with the choices it made written out (task, metric, gates) for the team to review.

The task comes from the label (see ``table.infer_task``); the estimator is the
histogram gradient-boosting model for that task, which needs no scaling and takes missing
values and text categories as they come. The first gate is a deliberately low bar, named as
such in a comment: only the team knows what "good enough" is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlops_spec.project.table import TableLayout


@dataclass(frozen=True)
class TaskDefaults:
    estimator: str
    metric: str
    first_bar: float


DEFAULTS = {
    "binary_classification": TaskDefaults(
        "sklearn.ensemble.HistGradientBoostingClassifier", "roc_auc", 0.7
    ),
    "multiclass_classification": TaskDefaults(
        "sklearn.ensemble.HistGradientBoostingClassifier", "f1_macro", 0.5
    ),
    "regression": TaskDefaults("sklearn.ensemble.HistGradientBoostingRegressor", "r2", 0.1),
}


def _scalar(value: Any) -> str:
    """A YAML scalar that reads back as the same value (text is quoted: `yes`, `1` stay text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else json.dumps(str(value))


def _name(column: str) -> str:
    """A column name as YAML: bare when that is unambiguous, quoted otherwise."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", column)
    reserved = column.lower() in {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
    return column if plain and not reserved else json.dumps(column)


def _constraints(layout: TableLayout, task: str) -> list[str]:
    example = layout.served[0]
    lines = [
        "constraints:",
        f"  data: []    # e.g. - {{column: {_name(example)}, no_missing: true}}; see the README",
    ]
    if layout.keep and task == "binary_classification":
        lines += [
            "  fairness:",
            f"    sensitive: [{', '.join(_name(c) for c in layout.keep)}]",
            "    rules:",
            "      - {metric: disparate_impact, min: 0.8}   # the four-fifths rule",
        ]
    elif layout.keep:
        lines.append(
            f"  # {', '.join(layout.keep)} are on the entity rows; fairness rules "
            "apply to binary classification only"
        )
    return lines


def render_spec(
    name: str,
    layout: TableLayout,
    *,
    task: str,
    positive_label: Any,
    entities: str,
    repo: str,
    shown: str,
    policy: str | None,
) -> str:
    """The spec text; ``entities``, ``repo`` and ``policy`` are paths from the project root."""
    defaults = DEFAULTS[task]
    assert layout.label is not None
    model = [
        "model:",
        f"  task: {task}",
        f"  estimator: {defaults.estimator}",
        "  params: {max_iter: 200}",
    ]
    if positive_label is not None:
        model.append(
            f"  positive_label: {_scalar(positive_label)}   # the class f1, precision, recall "
            "and fairness count"
        )
    kept = f"key, event time, label{', ' + ', '.join(layout.keep) if layout.keep else ''}"
    lines = [
        "# yaml-language-server: $schema=../schema/mlops-spec.schema.json",
        f"# Written by `mlops-spec features add {shown}`.",
        "# A first version that validates and runs: review the owner, the gates and the tuning",
        "# budget before relying on it.",
        "apiVersion: mlops-spec/v1",
        "kind: TrainingPipeline",
        "metadata:",
        f"  name: {name}",
        "  owner: team@example.com   # who answers for this model",
        f"  description: {_scalar(f'Predicts {layout.label} from the features of {shown}.')}",
        "data:",
        f"  entities: {entities}   # {kept}",
        f"  entity_key: {_name(layout.key)}",
        f"  timestamp: {_name(layout.timestamp)}",
        f"  label: {_name(layout.label)}",
        "features:",
        f"  repo: {repo}",
        f"  service: {name}_v1   # {len(layout.served)} features, defined in {repo}/{name}.py",
        "split: {method: time, test_size: 0.2, seed: 42}",
        *model,
        *_tuning(defaults.metric),
        *_constraints(layout, task),
        *_governance(defaults, policy),
    ]
    return "\n".join(lines) + "\n"


def _tuning(metric: str) -> list[str]:
    return [
        "tuning:",
        "  n_trials: 20",
        "  timeout: 10m",
        f"  metric: {metric}",
        "  pruner: median",
        "  seed: 42",
        "  search_space:",
        "    learning_rate: {float: [0.01, 0.3], log: true}",
        "    max_leaf_nodes: {int: [8, 64]}",
    ]


def _governance(defaults: TaskDefaults, policy: str | None) -> list[str]:
    lines = ["governance:"]
    if policy:
        lines.append(f"  policy: {policy}")
    return [
        *lines,
        "  gates:",
        f"    - {{metric: {defaults.metric}, min: {defaults.first_bar}}}   # a first, low bar: "
        "raise it to what the model must reach",
        f"    - {{compare_to: champion, metric: {defaults.metric}, max_regression: 0.02}}",
        "  promotion: {alias: champion, approval: none}",
    ]
