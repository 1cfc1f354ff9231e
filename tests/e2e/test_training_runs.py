"""Penguins (multiclass) and flights + weather (point-in-time) end to end, a constraint that
stops a run before training, and a bad spec that never reaches Prefect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, metric, variant

pytestmark = pytest.mark.e2e


def test_penguins_multiclass(cli: RunCli, tmp_path: Path) -> None:
    result = cli("run", "--no-progress", "specs/penguins.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "penguin-species v1: promoted" in result.stdout
    accuracy = metric(result.stdout, "accuracy")
    assert accuracy > 0.95


def test_flights_point_in_time(cli: RunCli, tmp_path: Path, state_dir: Path) -> None:
    # with a decision threshold chosen for the best F1 on the validation rows
    spec = variant(
        tmp_path,
        "flight_delays.yaml",
        "flights_small.yaml",
        {
            "n_trials: 12": "n_trials: 3",
            "early_stopping: false}\n": "early_stopping: false}\n  threshold: {optimize: f1}\n",
        },
    )
    result = cli(
        "run",
        "--no-progress",
        str(spec),
        env={"FLIGHTS_ENTITIES": ".mlops/data/flights/entities_20k.parquet"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "flight-delays v1:" in result.stdout
    auc = metric(result.stdout, "roc_auc")
    assert auc > 0.6
    chosen = re.search(r"decision threshold ([0-9.]+) for \S+ = .*validation rows \(best f1\)",
                       result.stdout + result.stderr)  # fmt: skip
    assert chosen, result.stderr[-3000:]
    # the run logged the threshold it chose (the registered model decides with it)
    run_id = re.search(r"mlflow run ([0-9a-f]{32})", result.stdout)
    assert run_id
    from mlflow import MlflowClient

    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    logged = MlflowClient(tracking_uri=uri).get_run(run_id.group(1)).data
    assert float(logged.params["decision_threshold"]) == pytest.approx(
        float(chosen.group(1)), rel=1e-5
    )


def test_constraint_violation_stops_before_training(cli: RunCli, tmp_path: Path) -> None:
    # a real column of the real data, held to a range it does not meet
    spec = variant(
        tmp_path,
        "penguins.yaml",
        "penguins_strict.yaml",
        {
            "{column: body_mass_g, in_range: [2000, 7000]}": "{column: body_mass_g, in_range: [2000, 4000]}",
        },
    )
    result = cli("run", "--no-progress", str(spec))
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "data constraints failed, training not started" in result.stderr
    assert "body_mass_g in_range" in result.stderr
    assert "Task run 'tune" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_bad_spec_never_starts_a_run(cli: RunCli, tmp_path: Path) -> None:
    spec = variant(tmp_path, "penguins.yaml", "penguins_bad.yaml", {"n_trials: 15": "n_trails: 15"})
    result = cli("run", str(spec))
    assert result.returncode == 1
    assert "tuning.n_trails: unknown key 'n_trails' (did you mean 'n_trials'?)" in result.stderr
    assert "prefect" not in result.stdout.lower()
