"""`mlops-spec init --project DIR` writes a complete project, or nothing; `init NAME` inside it
writes a spec that validates at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from mlops_spec.cli import main
from mlops_spec.project import scaffold
from mlops_spec.schema import policy_schema_text, schema_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's shell has none of the test run's MLOPS_SPEC_* settings."""
    for key in list(os.environ):
        if key.startswith("MLOPS_SPEC_"):
            monkeypatch.delenv(key)


def test_project_has_every_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--project", str(tmp_path / "Credit Risk")]) == 0
    project = tmp_path / "Credit Risk"
    names = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert names == {
        ".gitignore",
        "README.md",
        "data/.gitkeep",
        "feature_repo/feature_store.yaml",
        "feature_repo/project.py",
        "flows/monitor.py",
        "flows/score.py",
        "flows/train.py",
        "policies/default.yaml",
        "prefect.yaml",
        "schema/mlops-spec-policy.schema.json",
        "schema/mlops-spec.schema.json",
        "specs/.gitkeep",
    }
    store = yaml.safe_load((project / "feature_repo/feature_store.yaml").read_text())
    assert store["project"] == "credit_risk"
    assert 'name="credit_risk"' in (project / "feature_repo/project.py").read_text()
    assert store["provider"] == "local"
    assert store["offline_store"]["type"] == (
        "mlops_spec.adapters.feast_asof_store.AsofDuckDBOfflineStore"
    )
    assert store["online_store"]["type"] == "sqlite"
    assert store["registry"]["registry_type"] == "file"
    for path in (store["registry"]["path"], store["online_store"]["path"]):
        # directly in .mlops: Feast makes the registry's folder, not its parents
        assert (project / "feature_repo" / path).resolve().parent == project / ".mlops"
    assert ".mlops/" in (project / ".gitignore").read_text().splitlines()
    assert (project / "schema/mlops-spec.schema.json").read_text() == schema_text()
    policy_schema = (project / "schema/mlops-spec-policy.schema.json").read_text()
    assert policy_schema == policy_schema_text()
    assert "mlops-spec-policy.schema.json" in (project / "policies/default.yaml").read_text()
    assert oct(project.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode
    assert not (project / ".mlops").exists()  # state appears when something runs


def test_flows_are_the_repositorys_entrypoints(tmp_path: Path) -> None:
    """The project's prefect.yaml names flows/train.py:train etc., as this repository's does."""
    project = scaffold.create_project(tmp_path / "p")
    for name in ("train", "score", "monitor"):
        assert (project / "flows" / f"{name}.py").read_text() == (
            ROOT / "flows" / f"{name}.py"
        ).read_text()


def test_prefect_yaml_is_what_deploy_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no spec yet it has no deployments; once there is one, `mlops-spec deploy` writes
    deployments whose static entrypoints are the project's own flows/ files."""
    project = scaffold.create_project(tmp_path / "p")
    monkeypatch.chdir(project)
    assert yaml.safe_load((project / "prefect.yaml").read_text())["deployments"] == []
    assert main(["init", "churn"]) == 0
    assert main(["deploy", "--check"]) == 1  # a spec now: stale until deploy rewrites it
    assert main(["deploy"]) == 0
    assert main(["deploy", "--check"]) == 0
    document = yaml.safe_load((project / "prefect.yaml").read_text())
    assert {d["entrypoint"] for d in document["deployments"]} == {
        "flows/train.py:train",
        "flows/score.py:score",
    }
    assert all((project / d["entrypoint"].split(":")[0]).is_file() for d in document["deployments"])


def test_init_spec_in_the_project_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = scaffold.create_project(tmp_path / "p")
    monkeypatch.chdir(project)
    assert main(["init", "churn-risk"]) == 0
    spec = project / "specs" / "churn-risk.yaml"
    header = spec.read_text().splitlines()[0]
    assert header == "# yaml-language-server: $schema=../schema/mlops-spec.schema.json"
    assert (spec.parent / "../schema/mlops-spec.schema.json").is_file()
    assert main(["validate", "specs/"]) == 0
    assert "1 specs valid" in capsys.readouterr().out


def test_init_spec_points_at_the_schema_from_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = scaffold.create_project(tmp_path / "p")
    monkeypatch.chdir(project)
    assert main(["init", "churn", "--dir", "specs/team_a"]) == 0
    header = (project / "specs/team_a/churn.yaml").read_text().splitlines()[0]
    assert header.endswith("$schema=../../schema/mlops-spec.schema.json")
    assert main(["validate", "specs/team_a/churn.yaml"]) == 0


def test_init_spec_without_a_policy_file_still_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "churn"]) == 0
    assert "policy:" not in (tmp_path / "specs/churn.yaml").read_text()
    assert main(["validate", "specs/churn.yaml"]) == 0


def test_refuses_a_non_empty_folder_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["init", "--project", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not an empty folder" in err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_an_empty_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert (scaffold.create_project(tmp_path / "empty") / "prefect.yaml").is_file()


def test_a_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = scaffold.project_files

    def broken(name: str) -> dict[str, str]:
        files = real(name)
        files["feature_repo/bad\0name.py"] = "x"  # the OS refuses this path half-way
        return files

    monkeypatch.setattr(scaffold, "project_files", broken)
    with pytest.raises(ValueError):
        scaffold.create_project(tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def test_init_needs_a_name_or_a_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 1
    assert main(["init", "x", "--project", "y"]) == 1
    assert "not both" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("folder", "project"),
    [("credit", "credit"), ("Credit Risk-2", "credit_risk_2"), ("2024 models", "p_2024_models")],
)
def test_feast_project_names(folder: str, project: str) -> None:
    assert scaffold.feast_project_name(folder) == project
    assert scaffold.feast_project_name("---") == "mlops_project"
