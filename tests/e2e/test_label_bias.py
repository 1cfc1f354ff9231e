"""Pre-training bias on real data: the Adult census label (income over 50K) judged per sex
before anything is trained. A blocking `label_rules` bound stops the run after the data
checks, with exit 2 and no tuning, and the disparate impact it logged is the one pandas
computes from the entity rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import ROOT, RunCli, variant

pytestmark = pytest.mark.e2e


def test_a_biased_label_stops_the_run_before_training(
    cli: RunCli, state_dir: Path, tmp_path: Path
) -> None:
    rules = (
        "    rules:\n      - {metric: disparate_impact, min: 0.8}\n"
        "      - {metric: equal_opportunity_difference, max: 0.1}\n"
    )
    spec = variant(
        tmp_path,
        "adult_income.yaml",
        "adult_label_bias.yaml",
        {
            rules: rules + "    label_rules:\n"
            "      - {metric: disparate_impact, min: 0.8, on: [sex]}\n"
            "      - {metric: demographic_parity_difference, max: 0.05, on: [race], "
            "severity: warn}\n"
        },
    )
    result = cli("run", "--no-progress", str(spec))
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert "label bias rules failed, training not started" in result.stderr
    assert re.search(r"disparate_impact on sex = 0\.\d+ \(needs >= 0\.8\)", result.stderr)
    assert "Task run 'tune" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr

    entities = pd.read_parquet(ROOT / ".mlops" / "data" / "adult" / "entities.parquet")
    rates = entities.groupby("sex")["income_gt_50k"].mean()
    expected = rates.min() / rates.max()
    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs(
        [client.get_experiment_by_name("adult-income").experiment_id],
        "tags.`mlops_spec.outcome` = 'stopped:label_bias'",
    )
    local = client.download_artifacts(run.info.run_id, "reports/label_bias.json", str(tmp_path))
    logged = json.loads(Path(local).read_text())
    by_rule = {(r["metric"], r["sensitive"]): r for r in logged["rules"]}
    assert by_rule[("disparate_impact", "sex")]["value"] == pytest.approx(expected, abs=1e-12)
    race = entities.groupby("race")["income_gt_50k"].agg(["mean", "size"])
    judged = race[race["size"] >= 30]["mean"]
    gap = by_rule[("demographic_parity_difference", "race")]
    assert gap["value"] == pytest.approx(judged.max() - judged.min(), abs=1e-12)
    assert gap["severity"] == "warn" and not gap["passed"]
