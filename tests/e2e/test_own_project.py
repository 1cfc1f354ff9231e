"""A team's own project, the README's "Your own data" path command by command: `init --project`
in a temporary folder, a parquet table of real data, `features add`, `feast apply`, `validate`,
`plan`, `run`, `score` and `audit`, each run FROM the project folder with the installed CLI and
none of this repository's settings. Done when MLflow, in the project's own `.mlops/`, holds a
registered, promoted version whose reported numbers agree with an independent computation.

The data is scikit-learn's bundled Wisconsin breast cancer table (569 tumours, 30 real
measurements, diagnosis malignant or benign), not one of the demo datasets. It has no ids or
dates: `patient_id` is the row number and `event_timestamp` a synthetic, monotone hourly clock
from 2024-01-01 (so the time split is a split by row order). The label is written as text,
which makes `features add` name the positive class.
"""

from __future__ import annotations

import os
import subprocess
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_spec.runtime.environment import QUIET
from tests.e2e.conftest import BIN, ROOT

pytestmark = pytest.mark.e2e

N_TRIALS = 4


def user_environment() -> dict[str, str]:
    """A user's shell: none of the test run's MLOPS_SPEC_*, PREFECT_* or MLFLOW_* settings (they
    could point the project at another state folder or server), the venv's bin on PATH."""
    prefixes = ("MLOPS_SPEC_", "PREFECT_", "MLFLOW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **QUIET}


def write_breast_cancer(path: Path) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.rename(columns=lambda c: c.replace(" ", "_"))
    n = len(frame)
    frame.insert(0, "patient_id", np.arange(1, n + 1, dtype="int64"))
    clock = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="h")
    frame.insert(1, "event_timestamp", clock)
    frame["diagnosis"] = np.where(bunch.target == 0, "malignant", "benign")
    frame.to_parquet(path, index=False)
    return frame


class Steps:
    """Runs each command from the project folder, timing it; a failure shows its output."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = user_environment()
        self.timings: list[tuple[str, float]] = []

    def __call__(self, *command: str) -> str:
        started = time.perf_counter()
        result = subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        shown = " ".join(command).replace(f"{self.cwd}{os.sep}", "")
        self.timings.append((shown, time.perf_counter() - started))
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def report(self) -> str:
        width = max(len(name) for name, _ in self.timings)
        lines = [f"  {name:<{width}}  {seconds:6.1f} s" for name, seconds in self.timings]
        total = sum(seconds for _, seconds in self.timings)
        return "\n".join(["README path, command by command:", *lines, f"  total {total:.1f} s"])


def stop_project_server(state: Path) -> None:
    """Commands may start the project's own Prefect server in its state folder and leave it up
    for the next command; the test stops the one it caused (by its recorded pid)."""
    from mlops_spec.runtime.local_server import stop_server

    if state.is_dir():
        stop_server(state)


def test_own_project_from_parquet_to_an_audited_model(tmp_path: Path) -> None:
    project = tmp_path / "cancer-clinic"
    try:
        walk_the_readme(tmp_path, project)
    finally:
        stop_project_server(project / ".mlops")


def walk_the_readme(tmp_path: Path, project: Path) -> None:
    steps = Steps(tmp_path)
    steps("mlops-spec", "init", "--project", str(project))
    steps.cwd = project
    table = write_breast_cancer(project / "data" / "breast_cancer.parquet")
    n = len(table)

    added = steps(
        "mlops-spec", "features", "add", "data/breast_cancer.parquet",
        "--entity", "patient_id", "--timestamp", "event_timestamp", "--label", "diagnosis",
    )  # fmt: skip
    assert "30 features, service breast_cancer_v1" in added and f"{n} entity rows" in added
    spec = project / "specs" / "breast_cancer.yaml"
    text = spec.read_text()
    assert "n_trials: 20" in text
    spec.write_text(text.replace("n_trials: 20", f"n_trials: {N_TRIALS}"))  # a short test

    steps("feast", "-c", "feature_repo", "apply")
    assert "1 specs valid" in steps("mlops-spec", "validate", "specs/")
    assert "breast_cancer_v1" in steps("mlops-spec", "plan", "specs/breast_cancer.yaml")
    summary = steps("mlops-spec", "run", "specs/breast_cancer.yaml", "--no-progress")
    assert "breast_cancer v1: promoted" in summary, summary
    scored = steps(
        "mlops-spec", "score", "specs/breast_cancer.yaml",
        "--input", "data/breast_cancer/entities.parquet", "--output", "scores/breast_cancer.parquet",
    )  # fmt: skip
    assert f"scored {n} rows" in scored
    audit = steps("mlops-spec", "audit", "breast_cancer", "1")
    print("\n" + steps.report())

    assert "feast.service: breast_cancer_v1" in audit and "governance.verdict: promote" in audit
    check_registry(project, table)
    assert not (ROOT / "specs" / "breast_cancer.yaml").exists()  # nothing leaked into the repo


def check_registry(project: Path, table: pd.DataFrame) -> None:
    """The version is in the project's own MLflow, and its numbers are right: the test set is
    n x 0.2 rounded half up, the label is no feature, and the reported ROC AUC is the one
    scikit-learn computes from the scored probabilities of the latest 20 % of rows."""
    from mlflow import MlflowClient
    from sklearn.metrics import roc_auc_score

    state = project / ".mlops"
    uri = f"sqlite:///{state / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # not a global registry URI
    model = client.get_registered_model("breast_cancer")
    assert str(model.aliases.get("champion")) == "1"
    version = client.get_model_version("breast_cancer", "1")
    run = client.get_run(version.run_id)
    n = len(table)
    n_test = int((Decimal(n) * Decimal("0.2")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert run.data.params["test_rows"] == str(n_test) == "114"
    assert run.data.params["train_rows"] == str(n - n_test)
    assert version.tags["data.rows"] == str(n)
    features = run.data.params["features"].split(",")
    assert len(features) == 30 and "diagnosis" not in features and "patient_id" not in features
    assert version.tags["optuna.storage"].startswith(f"journal:{state}")
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.artifact_location.startswith(state.as_uri()), experiment.artifact_location

    scores = pd.read_parquet(project / "scores" / "breast_cancer.parquet")
    assert scores["patient_id"].tolist() == table["patient_id"].tolist()  # rows in == rows out
    latest = scores.sort_values("event_timestamp", kind="stable").tail(n_test)
    truth = table.set_index("patient_id").loc[latest["patient_id"], "diagnosis"] == "malignant"
    expected = roc_auc_score(truth.to_numpy(), latest["proba_malignant"].to_numpy())
    assert run.data.metrics["test_roc_auc"] == pytest.approx(expected, abs=1e-9)
