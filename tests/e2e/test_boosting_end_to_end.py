"""LightGBM and XGBoost through the whole pipeline (Feast, whylogs, Optuna with the median
pruner on the validation log loss, MLflow, Prefect) on real data: LightGBM on the Palmer penguins (the species names as
labels), XGBoost on the New York flights with their point-in-time weather. Each run's tuning
must have pruned trials, each registered version must carry its library's pin, and the test
predictions the run logged must give the metric it reported when scikit-learn recomputes it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from tests.e2e.conftest import ROOT, RunCli, metric, variant

pytestmark = pytest.mark.e2e

PRUNED_TUNING = """tuning:
  n_trials: 10
  timeout: 10m
  metric: {metric}
  sampler: random
  pruner: median
  parallelism: 1
  seed: 3
  search_space:
    learning_rate: {{float: [0.0001, 0.5], log: true}}
"""


def _tuning_block(text: str) -> str:
    start = text.index("tuning:\n")
    end = text.index("constraints:\n")
    return text[start:end]


def _spec(tmp_path: Path, source: str, model: str, metric_name: str) -> Path:
    """``source`` with its model block replaced by ``model`` and ten median-pruned trials."""
    text = (ROOT / "specs" / source).read_text()
    replaced = {
        _tuning_block(text): PRUNED_TUNING.format(metric=metric_name),
        text[text.index("model:\n") : text.index("tuning:\n")]: model,
    }
    return variant(tmp_path, source, f"boosting_{source}", replaced)


def _run(cli: RunCli, spec: Path, env: dict[str, str] | None = None) -> tuple[str, str]:
    result = cli("run", "--no-progress", str(spec), env=env)
    assert result.returncode in (0, 2), result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    found = re.search(r"mlflow run ([0-9a-f]{32})", result.stdout)
    assert found, result.stdout
    return found.group(1), result.stdout + result.stderr


def _check_pruned_and_logged(
    state_dir: Path, run_id: str, output: str, library: str, tmp_path: Path
) -> pd.DataFrame:
    pruned = re.search(r"tuning \S+: 10 trials run \((\d+) complete, (\d+) pruned", output)
    assert pruned, output[-3000:]
    assert int(pruned.group(2)) >= 1
    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(run_id)
    assert run.data.metrics["tuning_trials_pruned"] == int(pruned.group(2))
    versions = client.search_model_versions(f"run_id = '{run_id}'")
    assert len(versions) == 1
    model_uri = f"models:/{versions[0].name}/{versions[0].version}"
    folder = client.download_artifacts(run_id, "predictions", str(tmp_path))
    logged = pd.read_parquet(Path(folder) / "test_predictions.parquet")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # a models:/ URI is resolved through the registry
    requirements = Path(
        mlflow.artifacts.download_artifacts(f"{model_uri}/requirements.txt", dst_path=str(tmp_path))
    ).read_text()
    assert f"{library}=={metadata.version(library)}" in requirements.splitlines()
    return logged


def test_lightgbm_on_penguins_with_pruning(cli: RunCli, state_dir: Path, tmp_path: Path) -> None:
    model = (
        "model:\n  task: multiclass_classification\n  estimator: lightgbm.LGBMClassifier\n"
        "  params: {n_estimators: 60, num_leaves: 8, min_child_samples: 5}\n"
    )
    spec = _spec(tmp_path, "penguins.yaml", model, "log_loss")
    run_id, output = _run(cli, spec)
    assert metric(output, "accuracy") > 0.95
    logged = _check_pruned_and_logged(state_dir, run_id, output, "lightgbm", tmp_path)
    assert set(logged["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (logged["prediction"] == logged["species"]).mean() == pytest.approx(
        metric(output, "accuracy"), abs=1e-4
    )


def test_xgboost_on_flights_with_pruning(cli: RunCli, state_dir: Path, tmp_path: Path) -> None:
    model = (
        "model:\n  task: binary_classification\n  estimator: xgboost.XGBClassifier\n"
        "  params: {n_estimators: 100, max_depth: 5}\n"
    )
    spec = _spec(tmp_path, "flight_delays.yaml", model, "log_loss")
    run_id, output = _run(
        cli, spec, env={"FLIGHTS_ENTITIES": ".mlops/data/flights/entities_20k.parquet"}
    )
    assert metric(output, "roc_auc") > 0.65
    logged = _check_pruned_and_logged(state_dir, run_id, output, "xgboost-cpu", tmp_path)
    positive = [c for c in logged.columns if c.startswith("probability_")][-1]
    recomputed = roc_auc_score(logged["arr_delayed_15"], logged[positive])
    assert recomputed == pytest.approx(metric(output, "roc_auc"), abs=1e-4)
