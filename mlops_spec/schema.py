"""The JSON Schemas of the spec language (pipelines and policies), generated from the pydantic
models (one source) and shaped for the editors that use them.

Editors check a spec against this file through yaml-language-server before ``validate`` ever
runs, so it must accept everything the loader accepts (durations written as ``10m``) and say
as much as JSON Schema can of what the loader refuses: the estimator allow-list, and which
metrics and estimators each task allows (as ``if``/``then`` on ``model.task``). Defaults of
``null`` are dropped because the language server inserts a property's default into its
completion snippet, which put a literal ``null`` into the file.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mlops_spec.spec import TASK_METRICS, Task, TrainingPipeline
from mlops_spec.spec.audit import FairnessAudit
from mlops_spec.spec.estimator_params import ESTIMATOR_PARAMS
from mlops_spec.spec.pipeline import POLICY_KEYS

SCHEMA_PATH = "schema/mlops-spec.schema.json"
POLICY_SCHEMA_PATH = "schema/mlops-spec-policy.schema.json"
AUDIT_SCHEMA_PATH = "schema/mlops-spec-audit.schema.json"
_BASE_ID = "https://mlops-spec.dev/schema/"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
ESTIMATOR_NOTE = (
    " The editor offers the built-in allow-list; estimators a project adds with "
    "MLOPS_SPEC_EXTRA_ESTIMATORS are accepted by validate and run but flagged by editors that "
    "use this schema."
)
_TASK_ESTIMATOR_KIND = {
    Task.binary_classification: "classifier",
    Task.multiclass_classification: "classifier",
    Task.regression: "regressor",
}


def spec_schema() -> dict[str, Any]:
    """The schema of a ``kind: TrainingPipeline`` file."""
    schema = TrainingPipeline.model_json_schema(by_alias=True, mode="validation")
    _for_editors(schema)
    estimator = schema["$defs"]["ModelSection"]["properties"]["estimator"]
    estimator["enum"] = sorted(ESTIMATOR_PARAMS)
    estimator["description"] = (estimator.get("description", "") + ESTIMATOR_NOTE).strip()
    estimator["markdownDescription"] = estimator["description"]
    schema["allOf"] = [_task_rule(task) for task in Task]
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE_ID}mlops-spec.schema.json",
        "title": "mlops-spec TrainingPipeline",
        **schema,
    }


def policy_schema() -> dict[str, Any]:
    """The schema of a ``kind: Policy`` file: the sections a policy may set, each optional at
    every depth, since a policy is merged under a spec and only the merge must be complete."""
    pipeline = spec_schema()
    properties = {k: v for k, v in pipeline["properties"].items() if k in POLICY_KEYS}
    properties["kind"] = {"const": "Policy", "description": "Always `Policy` in a policy file."}
    properties["extends"] = {
        "description": "Policies this one builds on, merged under it in order (paths relative "
        "to this file).",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    defs = _without_required(copy.deepcopy(pipeline["$defs"]))
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE_ID}mlops-spec-policy.schema.json",
        "title": "mlops-spec Policy",
        "description": "Shared sections specs build on: a spec naming this file in "
        "governance.policy gets them merged under its own, and what the spec writes wins.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "$defs": defs,
    }


def audit_schema() -> dict[str, Any]:
    """The schema of a ``kind: FairnessAudit`` file."""
    schema = FairnessAudit.model_json_schema(by_alias=True, mode="validation")
    _for_editors(schema)
    return {
        "$schema": _DRAFT,
        "$id": f"{_BASE_ID}mlops-spec-audit.schema.json",
        "title": "mlops-spec FairnessAudit",
        **schema,
    }


def _task_rule(task: Task) -> dict[str, Any]:
    """``if model.task is <task> then`` its metrics for tuning and gates, and its estimators."""
    metrics = {"enum": list(TASK_METRICS[task])}
    kind = _TASK_ESTIMATOR_KIND[task]
    estimators = sorted(name for name, (k, _) in ESTIMATOR_PARAMS.items() if k == kind)
    return {
        "if": {
            "properties": {
                "model": {"properties": {"task": {"const": task.value}}, "required": ["task"]}
            },
            "required": ["model"],
        },
        "then": {
            "properties": {
                "model": {"properties": {"estimator": {"enum": estimators}}},
                "tuning": {"properties": {"metric": metrics}},
                "governance": {
                    "properties": {"gates": {"items": {"properties": {"metric": metrics}}}}
                },
            }
        },
    }


def _for_editors(node: Any) -> None:
    """Drop ``default: null`` and give markdown descriptions a ``markdownDescription`` (the
    language server renders only that one as markdown), in place."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None:
            del node["default"]
        description = node.get("description")
        if isinstance(description, str) and "`" in description:
            node.setdefault("markdownDescription", description)
        for value in node.values():
            _for_editors(value)
    elif isinstance(node, list):
        for item in node:
            _for_editors(item)


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(item) for item in node]
    return node


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"


def audit_schema_text() -> str:
    return json.dumps(audit_schema(), indent=2, sort_keys=True) + "\n"


def policy_schema_text() -> str:
    return json.dumps(policy_schema(), indent=2, sort_keys=True) + "\n"
