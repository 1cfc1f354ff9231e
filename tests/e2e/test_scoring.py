"""Batch scoring end to end: the champion on entity rows with point-in-time Feast features.

Rows in == rows out, in order, and every score equals the champion's own prediction on the
same features, retrieved independently through Feast here; bad input leaves no output file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import ROOT, RunCli, variant

pytestmark = pytest.mark.e2e


def test_scores_match_the_champion_on_the_same_features(
    cli: RunCli, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = variant(
        tmp_path, "penguins.yaml", "penguins_score.yaml", {"n_trials: 15": "n_trials: 3"}
    )
    trained = cli("run", "--no-progress", str(spec))
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "penguin-species v1: promoted" in trained.stdout

    entities = pd.read_parquet(ROOT / ".mlops/data/penguins/entities.parquet")
    batch = entities.sample(n=120, random_state=3)[["penguin_id", "event_timestamp"]]
    source, target = tmp_path / "to_score.parquet", tmp_path / "scored.parquet"
    batch.to_parquet(source, index=False)
    scored_run = cli("score", str(spec), "--input", str(source), "--output", str(target))
    assert scored_run.returncode == 0, scored_run.stderr[-3000:]
    assert "penguin-species v1: scored 120 rows" in scored_run.stdout
    scored = pd.read_parquet(target)
    assert len(scored) == len(batch)
    assert scored["penguin_id"].tolist() == batch["penguin_id"].tolist()
    assert set(scored["model_version"]) == {1}
    assert scored["model_run_id"].notna().all() and scored["scoring_flow_run_id"].ne("").all()

    # the champion's own answer on features retrieved independently
    monkeypatch.setenv("MLOPS_SPEC_STATE_DIR", str(state_dir))
    from mlops_spec.adapters import feast_store, mlflow_registry
    from mlops_spec.settings import Settings

    settings = Settings()
    mlflow_registry.configure(settings.tracking_uri, settings.artifact_root)
    model = mlflow_registry.load_model("models:/penguin-species@champion")
    frame = feast_store.retrieve_features(
        ROOT / "feature_repo", batch, service="penguin_features_v1"
    ).frame
    X = frame[list(model.feature_names_in_)]
    assert scored["prediction"].tolist() == model.predict(X).tolist()
    expected = model.predict_proba(X)
    for i, label in enumerate(model.classes_):
        assert np.allclose(scored[f"proba_{label}"], expected[:, i])

    # any version, by number or alias: the same model, the same answers
    for ref in ("1", "@champion"):
        again = tmp_path / f"scored_{ref.strip('@')}.parquet"
        by_ref = cli(
            "score", str(spec), "--input", str(source), "--output", str(again), "--version", ref
        )
        assert by_ref.returncode == 0, by_ref.stderr[-3000:]
        assert pd.read_parquet(again)["prediction"].tolist() == scored["prediction"].tolist()
    nowhere = cli(
        "score", str(spec), "--input", str(source), "--output", str(target), "--version", "@canary"
    )
    assert nowhere.returncode == 1 and "no 'canary' version to score with" in nowhere.stderr

    # bad input: a clear error, exit 1, no output written
    missing = tmp_path / "no_keys.parquet"
    batch.drop(columns=["penguin_id"]).to_parquet(missing, index=False)
    failed = cli(
        "score", str(spec), "--input", str(missing), "--output", str(tmp_path / "x.parquet")
    )
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "input lacks entity column(s) ['penguin_id']" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "x.parquet").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".x.parquet")]
