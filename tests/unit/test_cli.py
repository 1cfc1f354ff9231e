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
    assert "4 specs valid" in capsys.readouterr().out  # three pipelines and an audit


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


def test_deploy_writes_checks_and_refuses_bad_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("MLOPS_SPEC_PREFECT_API_URL", raising=False)
    target = tmp_path / "prefect.yaml"
    assert main(["deploy", "specs", "-o", str(target)]) == 0
    assert target.read_text() == (ROOT / "prefect.yaml").read_text()
    assert main(["deploy", "specs", "-o", str(target), "--check"]) == 0

    stale = (ROOT / "specs" / "penguins.yaml").read_text().replace("30 4 1 * *", "0 6 * * *")
    (tmp_path / "penguins.yaml").write_text(stale)
    capsys.readouterr()
    assert main(["deploy", str(tmp_path / "penguins.yaml"), "-o", str(target), "--check"]) == 1
    err = capsys.readouterr().err
    assert "is stale: run `mlops-spec deploy`" in err
    assert "+  - cron: 0 6 * * *" in err

    # an invalid spec: located errors, exit 1, prefect.yaml untouched
    before = target.read_text()
    bad = stale.replace("n_trials: 15", "n_trails: 15")
    (tmp_path / "penguins.yaml").write_text(bad)
    assert main(["deploy", str(tmp_path / "penguins.yaml"), "-o", str(target)]) == 1
    assert "unknown key 'n_trails'" in capsys.readouterr().err
    assert target.read_text() == before

    # two specs with one name cannot both be deployed
    twins = tmp_path / "twins"
    twins.mkdir()
    (twins / "penguins.yaml").write_text(stale)
    (twins / "penguins_copy.yaml").write_text(stale)
    assert main(["deploy", str(twins), "-o", str(target)]) == 1
    assert "share metadata.name (penguin-species-score, penguin-species-train)" in (
        capsys.readouterr().err
    )
    assert target.read_text() == before

    # --apply needs a server
    assert main(["deploy", "specs", "-o", str(target), "--apply"]) == 1
    assert "--apply needs a Prefect server" in capsys.readouterr().err


def test_version_refs() -> None:
    import argparse

    from mlops_spec.cli.run_commands import VersionRef, version_ref

    assert version_ref("3") == VersionRef(number=3)
    assert version_ref("@challenger") == VersionRef(alias="challenger")
    for bad in ("0", "@", "v3", "@a b", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            version_ref(bad)
