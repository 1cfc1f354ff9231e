"""What an editor sees: every shipped spec, policy and ``init`` output is clean against the
committed JSON Schemas, read with a JSON Schema library as yaml-language-server reads them, and
the schemas still catch what an editor should flag (a typo'd key, a duration that is no
duration, an estimator off the allow-list, a metric of another task)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from mlops_spec.cli import main
from mlops_spec.project import scaffold
from mlops_spec.schema import POLICY_SCHEMA_PATH, SCHEMA_PATH, policy_schema_text
from tests.support.yaml12 import yaml12_keys

ROOT = Path(__file__).resolve().parents[2]
HEADER = "# yaml-language-server: $schema="


def _validator(schema_file: Path) -> Draft202012Validator:
    schema = json.loads(schema_file.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(document: Path) -> list[str]:
    """The schema errors of ``document``, against the schema its header names (as editors do)."""
    first = document.read_text().splitlines()[0]
    assert first.startswith(HEADER), document
    schema_file = (document.parent / first.removeprefix(HEADER)).resolve()
    data = yaml12_keys(yaml.safe_load(document.read_text()))
    validator = _validator(schema_file)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize(
    "document",
    sorted((ROOT / "specs").rglob("*.yaml")) + sorted((ROOT / "policies").glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_shipped_documents_are_clean(document: Path) -> None:
    assert _errors(document) == []


def test_policies_point_at_the_policy_schema() -> None:
    for policy in (ROOT / "policies").glob("*.yaml"):
        assert policy.read_text().startswith(f"{HEADER}../{POLICY_SCHEMA_PATH}"), policy


def test_committed_policy_schema_is_current() -> None:
    committed = (ROOT / POLICY_SCHEMA_PATH).read_text()
    assert committed == policy_schema_text(), (
        f"run `mlops-spec schema --policy -o {POLICY_SCHEMA_PATH}`"
    )


def test_init_output_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = scaffold.create_project(tmp_path / "p")
    monkeypatch.chdir(project)
    assert main(["init", "churn-risk"]) == 0
    assert main(["init", "churn", "--dir", "specs/team_a"]) == 0
    for document in (
        project / "specs/churn-risk.yaml",
        project / "specs/team_a/churn.yaml",
        project / "policies/default.yaml",
    ):
        assert _errors(document) == [], document


def _spec(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "specs/penguins.yaml").read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "flagged"),
    [
        ({"tuning__timout": "5m"}, "Additional properties are not allowed ('timout'"),
        ({"tuning__timeout": "five minutes"}, "'five minutes' is not valid"),
        ({"model__estimator": "sklearn.svm.SVC"}, "'sklearn.svm.SVC' is not one of"),
        ({"tuning__metric": "rmse"}, "'rmse' is not one of"),
        ({"governance__approval_timeout": "2h"}, "Additional properties are not allowed"),
    ],
)
def test_the_schema_still_flags_mistakes(changes: dict[str, Any], flagged: str) -> None:
    validator = _validator(ROOT / SCHEMA_PATH)
    messages = [e.message for e in validator.iter_errors(_spec(**changes))]
    messages += [c.message for e in validator.iter_errors(_spec(**changes)) for c in e.context]
    assert any(flagged in m for m in messages), messages


def test_durations_are_strings_or_seconds_in_the_schema() -> None:
    validator = _validator(ROOT / SCHEMA_PATH)
    for timeout in ("10m", "1h30m", "90s", 600, 2.5):
        assert not list(validator.iter_errors(_spec(tuning__timeout=timeout))), timeout
    for timeout in ("10 minutes", "m10", -5, 0):
        assert list(validator.iter_errors(_spec(tuning__timeout=timeout))), timeout


def test_no_default_is_a_literal_null() -> None:
    """yaml-language-server puts a property's default into its completion snippet."""

    def nulls(node: Any, path: str) -> list[str]:
        if isinstance(node, dict):
            found = [path] if "default" in node and node["default"] is None else []
            return found + [p for k, v in node.items() for p in nulls(v, f"{path}/{k}")]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in nulls(v, f"{path}/{i}")]
        return []

    for schema_file in (SCHEMA_PATH, POLICY_SCHEMA_PATH):
        assert nulls(json.loads((ROOT / schema_file).read_text()), "") == [], schema_file


def test_every_property_is_described() -> None:
    schema = json.loads((ROOT / SCHEMA_PATH).read_text())
    bare = [
        f"{name}.{prop}"
        for name, definition in {"(root)": schema, **schema["$defs"]}.items()
        for prop, body in definition.get("properties", {}).items()
        if not body.get("description")
    ]
    assert bare == []
