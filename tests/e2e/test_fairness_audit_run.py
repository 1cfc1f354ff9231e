"""`mlops-spec run` of a FairnessAudit spec end to end, through Prefect and MLflow, on the
real COMPAS table: nothing is trained or registered, the broken blocking rule stops the run
with exit 2 and a per-group table in the terminal, the warn-only rule is reported as such,
and the decision record in MLflow holds the groups that pandas computes from the raw CSV."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.e2e.conftest import RunCli

pytestmark = pytest.mark.e2e

SPEC = "specs/audits/compas_risk_score.yaml"


def test_audit_of_an_existing_score(cli: RunCli, state_dir: Path, tmp_path: Path) -> None:
    result = cli("run", "--no-progress", SPEC)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert "compas-risk-audit: rules broken (7214 rows)" in out
    assert re.search(r"equalized_odds_difference on race: 0\.\d+ \(<= 0\.1\) FAIL", out), out
    assert re.search(r"disparate_impact on race: 0\.\d+ \(>= 0\.8\) warn", out), out
    assert re.search(r"race\s+African-American\s+3696\s", out), out
    assert "Traceback" not in out + result.stderr

    run_id = re.search(r"mlflow run ([0-9a-f]{32})", out)
    assert run_id, out
    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(run_id.group(1))
    assert run.data.tags["fairness.verdict"] == "blocked"
    assert run.data.tags["audit.score_column"] == "decile_score"
    assert client.search_registered_models() == []  # an audit registers nothing
    local = client.download_artifacts(
        run.info.run_id, "tables/reports_fairness_groups.json", str(tmp_path)
    )
    table = json.loads(Path(local).read_text())
    groups = pd.DataFrame(table["data"], columns=table["columns"])
    black = groups[(groups["sensitive"] == "race") & (groups["group"] == "African-American")]
    rows = pd.read_parquet(
        Path(__file__).resolve().parents[2] / ".mlops" / "data" / "compas" / "entities.parquet"
    )
    part = rows[rows["race"] == "African-American"]
    negatives = part[part["two_year_recid"] == 0]
    assert black["fpr"].iloc[0] == pytest.approx((negatives["decile_score"] >= 5).mean())
