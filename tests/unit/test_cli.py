"""The CLI as users call it: validate the demo specs, init a spec that validates, schema out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_spec.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_validate_demo_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "specs/"]) == 0
    assert "3 specs valid" in capsys.readouterr().out


def test_init_writes_a_valid_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "churn-risk", "--dir", str(tmp_path)]) == 0
    assert main(["validate", str(tmp_path / "churn-risk.yaml")]) == 0
    assert main(["init", "churn-risk", "--dir", str(tmp_path)]) == 1  # never overwrites
    assert main(["init", "Bad Name", "--dir", str(tmp_path)]) == 1


def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert "tuning" in schema["properties"]


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "specs/flight_delays.yaml", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["steps"][1]["settings"]["service"] == "flight_weather_v1"


def test_plan_of_invalid_spec_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    assert main(["plan", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "Traceback" not in err
