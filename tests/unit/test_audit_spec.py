"""``kind: FairnessAudit``: the shipped example validates and plans, its mistakes are located,
validate dispatches on the kind, and its schema is current and clean for editors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from mlops_spec.errors import SpecError
from mlops_spec.loader import load_audit, validate_file
from mlops_spec.plan import render_text
from mlops_spec.plan.compile import compile_audit_plan
from mlops_spec.schema import AUDIT_SCHEMA_PATH, audit_schema_text
from mlops_spec.settings import Settings
from tests.support.yaml12 import yaml12_keys

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "audits" / "compas_risk_score.yaml"


def _audit(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text, old
    path = tmp_path / "specs" / "audit.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, new))
    return path


def test_the_example_loads_and_plans() -> None:
    settings = Settings(project_root=ROOT)
    audit = load_audit(EXAMPLE, settings)
    assert audit.spec.score.threshold == 5 and audit.spec.positive_label == 1
    rules = audit.spec.fairness.rules
    assert rules[1].on == ["race"] and rules[1].severity.value == "warn"
    text = render_text(compile_audit_plan(audit))
    assert "per-group rates of the decision decile_score >= 5 against two_year_recid" in text
    assert "disparate_impact >= 0.8 against Caucasian on race (warn only)" in text
    assert validate_file(EXAMPLE, settings).endswith("ok (compas-risk-audit, fairness audit)")


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        ("score: {column: decile_score, threshold: 5}", "score: {colum: decile_score}",
         "score.colum", "unknown key 'colum'"),
        ("threshold: 5}", "threshold: high}", "score.threshold", "valid number"),
        ("  label: two_year_recid", "  label: decile_score", "", "score.column is the label"),
        ("- {metric: equalized_odds_difference, max: 0.1, on: [race]}",
         "- {metric: equalized_odds, max: 0.1, on: [race]}",
         "fairness.rules.0.metric", "equalized_odds_difference"),
        ("kind: FairnessAudit", "kind: FairnessAudit\nmodel: {task: regression}",
         "model", "unknown key 'model'"),
        ("sensitive: [race, sex]", "sensitive: [race, [sex, two_year_recid]]",
         "fairness.sensitive.1.1", "the label cannot be a sensitive group"),
        ("sensitive: [race, sex]", "sensitive: [race, [sex]]",
         "fairness.sensitive.1", "an intersection needs two or more columns"),
        ("- {metric: equal_opportunity_difference, max: 0.1, on: [sex]}",
         "- {metric: mae_ratio, max: 1.2, on: [sex]}",
         "fairness.rules.2.metric", "mae_ratio judges errors of a regression"),
    ],
)  # fmt: skip
def test_mistakes_are_located(tmp_path: Path, old: str, new: str, key: str, says: str) -> None:
    path = _audit(tmp_path, old, new)
    with pytest.raises(SpecError) as caught:
        load_audit(path, Settings(project_root=tmp_path))
    issues = caught.value.issues
    assert any(i.key_path == key and says in i.render() for i in issues), [
        i.render() for i in issues
    ]
    assert all(i.file.endswith("audit.yaml") and i.line >= 1 for i in issues)


def test_columns_are_checked_against_the_entity_file(tmp_path: Path) -> None:
    import pandas as pd

    rows = tmp_path / "rows.parquet"
    pd.DataFrame(
        {"person_id": [1], "event_timestamp": [pd.Timestamp(0, tz="UTC")], "two_year_recid": [0],
         "decile_score": [3], "race": ["x"], "gender": ["f"]}
    ).to_parquet(rows)  # fmt: skip
    path = _audit(
        tmp_path, "${MLOPS_SPEC_DATA_DIR:-.mlops/data}/compas/entities.parquet", str(rows)
    )
    settings = Settings(project_root=tmp_path, allow_paths_outside_root=True)
    with pytest.raises(SpecError) as caught:
        load_audit(path, settings)
    [issue] = caught.value.issues
    assert issue.key_path == "fairness.sensitive.1"
    assert "column 'sex' is not in the entity file" in issue.message
    assert issue.line == 19


def test_the_audit_schema_is_current_and_accepts_the_example() -> None:
    committed = (ROOT / AUDIT_SCHEMA_PATH).read_text()
    assert committed == audit_schema_text(), (
        f"run `mlops-spec schema --audit -o {AUDIT_SCHEMA_PATH}`"
    )
    validator = Draft202012Validator(json.loads(committed))
    document = yaml12_keys(yaml.safe_load(EXAMPLE.read_text()))
    assert [e.message for e in validator.iter_errors(document)] == []
