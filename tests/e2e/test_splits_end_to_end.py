"""The new splits through the whole pipeline (Feast, whylogs, Optuna, MLflow, Prefect) on the
real Palmer penguins: a test period given as a date, birds of one nest (``individual_id``) on
one side only, and the field seasons as a predefined split column. Each run's test rows are
read back from the test-set predictions it logged to MLflow and checked against plain pandas
on the entity file."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import ROOT, RunCli, variant

pytestmark = pytest.mark.e2e

ENTITIES = ROOT / ".mlops" / "data" / "penguins" / "entities.parquet"
DEMO_SPLIT = "split: {method: stratified, test_size: 0.3, seed: 7}"


def _run(cli: RunCli, tmp_path: Path, name: str, split: str, cv: int = 0) -> tuple[str, str]:
    trials = "n_trials: 2" + (f"\n  cv: {cv}" if cv else "")
    spec = variant(
        tmp_path,
        "penguins.yaml",
        f"penguins_{name}.yaml",
        {DEMO_SPLIT: f"split: {split}", "n_trials: 15": trials},
    )
    result = cli("run", "--no-progress", str(spec))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "penguin-species v" in result.stdout
    found = re.search(r"mlflow run ([0-9a-f]{32})", result.stdout)
    assert found, result.stdout
    return found.group(1), result.stdout + result.stderr


def _test_rows(state_dir: Path, run_id: str, tmp_path: Path) -> pd.DataFrame:
    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    local = client.download_artifacts(run_id, "predictions/test_predictions.parquet", str(tmp_path))
    return pd.read_parquet(local)


def _warned_by_pandas(train: pd.DataFrame, test: pd.DataFrame) -> bool:
    before = train["species"].value_counts(normalize=True)
    after = test["species"].value_counts(normalize=True)
    both = pd.concat([before, after], axis=1).fillna(0.0)
    high, low = both.max(axis=1), both.min(axis=1)
    return bool(((high - low > 0.2) | ((high >= 0.02) & (high > 2 * low))).any())


def test_cutoff_group_and_column_splits(cli: RunCli, state_dir: Path, tmp_path: Path) -> None:
    entities = pd.read_parquet(ENTITIES)

    run_id, out = _run(
        cli, tmp_path, "cutoff", "{method: time, cutoff: 2009-01-01, validation_cutoff: 2008-06-01}"
    )
    tested = _test_rows(state_dir, run_id, tmp_path / "cutoff")
    later = entities["event_timestamp"] >= pd.Timestamp("2009-01-01", tz="UTC")
    assert sorted(tested["penguin_id"]) == sorted(entities.loc[later, "penguin_id"])
    assert set(tested.columns) >= {"penguin_id", "species", "prediction", "probability_Gentoo"}
    train, test = entities[~later], entities[later]
    assert ("warning: label species=" in out) == _warned_by_pandas(train, test)

    run_id, out = _run(cli, tmp_path, "group", "{method: group, by: individual_id, seed: 5}", cv=3)
    assert "tuning on 3 grouped cross-validation folds" in out
    assert "best trial's 3-fold f1_macro: mean" in out
    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    assert (
        "validation_f1_macro_cv_std" in MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics
    )
    tested = _test_rows(state_dir, run_id, tmp_path / "group")
    in_test = entities["penguin_id"].isin(tested["penguin_id"])
    assert in_test.sum() == len(tested) > 0
    test_nests = set(entities.loc[in_test, "individual_id"])
    assert test_nests.isdisjoint(set(entities.loc[~in_test, "individual_id"]))

    run_id, _ = _run(
        cli,
        tmp_path,
        "column",
        "{method: column, column: study_name, "
        "values: {train: [PAL0708], validation: [PAL0809], test: [PAL0910]}}",
    )
    tested = _test_rows(state_dir, run_id, tmp_path / "column")
    season = entities["study_name"] == "PAL0910"
    assert sorted(tested["penguin_id"]) == sorted(entities.loc[season, "penguin_id"])
    # the logged predictions are the model's: their accuracy is the run's test accuracy
    accuracy = (tested["prediction"] == tested["species"]).mean()
    logged = MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics["test_accuracy"]
    assert accuracy == pytest.approx(logged)
