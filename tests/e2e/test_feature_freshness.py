"""A rewritten feature source is never served from the retrieval cache.

The cached point-in-time join used to be keyed by the spec, the entity rows and the repo's
definition files only: rewriting a feature source's parquet file changed none of them, so the
next run trained on the old frame (and recorded the old frame's hash as lineage) and `score`
scored old features. Here a private project (a copy of the penguins spec, the demo feature repo
and its data) runs, scores, has one feature source rewritten, scores and runs again, and finally
gets its original bytes back.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.prefect_server import PrefectServer
from tests.support.private_project import penguins_project, run_cli

pytestmark = pytest.mark.e2e

SOURCE = Path(".mlops/data/penguins/features.parquet")


def _cli(root: Path, server: PrefectServer, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(root, server, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _frame_hash(root: Path, version: int) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / '.mlops' / 'mlflow.db'}"
    # Both URIs: a registry URI another test set process-wide would win over the tracking one.
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tags = client.get_model_version("penguin-species", str(version)).tags
    return tags["data.training_frame_sha256"]


def _score(root: Path, server: PrefectServer, name: str) -> pd.DataFrame:
    entities = pd.read_parquet(root / ".mlops/data/penguins/entities.parquet")
    rows = root / f"{name}_in.parquet"
    entities[["penguin_id", "event_timestamp"]].to_parquet(rows, index=False)
    out = root / f"{name}_out.parquet"
    _cli(root, server, "score", "specs/penguins.yaml", "--input", str(rows), "--output", str(out))
    return pd.read_parquet(out)


def test_rewritten_source_changes_features_scores_and_lineage(
    tmp_path: Path, prefect_server: PrefectServer
) -> None:
    root = penguins_project(tmp_path)
    source = root / SOURCE
    original = source.read_bytes()

    _cli(root, prefect_server, "run", "--no-progress", "specs/penguins.yaml")
    first_hash = _frame_hash(root, 1)
    before = _score(root, prefect_server, "before")

    measurements = pd.read_parquet(source)
    measurements["bill_length_mm"] = (
        measurements["bill_length_mm"].sample(frac=1.0, random_state=0).to_numpy()
    )  # same values, other penguins: within every constraint, other features
    measurements.to_parquet(source, index=False)

    after = _score(root, prefect_server, "after")
    proba = [c for c in before.columns if c.startswith("proba_")]
    assert not np.allclose(before[proba].to_numpy(), after[proba].to_numpy())

    _cli(root, prefect_server, "run", "--no-progress", "specs/penguins.yaml")
    assert _frame_hash(root, 2) != first_hash

    source.write_bytes(original)  # new mtime, the first run's bytes: the first run's frame
    _cli(root, prefect_server, "run", "--no-progress", "specs/penguins.yaml")
    assert _frame_hash(root, 3) == first_hash
