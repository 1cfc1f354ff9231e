"""One prediction function answers for scoring, serving and evaluation, and each of them still
gives what it gave when it asked the model itself: scoring's columns, serving's JSON answers,
evaluation's (y_pred, y_score)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier

from mlops_spec.adapters import prediction
from mlops_spec.adapters.evaluation import predict_for_evaluation
from mlops_spec.runtime.serving import LoadedModel, predict_entities
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.sections import Serving

RNG = np.random.default_rng(7)
X = pd.DataFrame({"a": RNG.normal(size=60), "b": RNG.normal(size=60)}, index=range(100, 160))
BINARY = np.where(X["a"] + X["b"] > 0, "yes", "no")
CLASSES = np.digitize(X["a"], [-0.5, 0.5])  # 0, 1, 2


def _fit(model: Any, y: Any) -> Any:
    return model.fit(X, y)


MODELS = {
    "binary": (_fit(LogisticRegression(), BINARY), Task.binary_classification),
    "multiclass": (_fit(LogisticRegression(), CLASSES), Task.multiclass_classification),
    "regression": (_fit(Ridge(), X["a"] * 2.0), Task.regression),
    "hinge": (_fit(SGDClassifier(random_state=0), BINARY), Task.binary_classification),
}


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_classifiers_answer_with_the_columns_scoring_writes(kind: str) -> None:
    model, task = MODELS[kind]
    answers = prediction.predict(model, X, task)
    assert list(answers.columns) == ["prediction", *(f"proba_{c}" for c in model.classes_)]
    assert answers.index.equals(X.index)
    assert answers["prediction"].tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(answers.filter(like="proba_").to_numpy(), model.predict_proba(X))
    np.testing.assert_allclose(prediction.class_probabilities(answers), model.predict_proba(X))


def test_regressors_and_classifiers_without_probabilities_give_the_prediction_only() -> None:
    for kind in ("regression", "hinge"):
        model, task = MODELS[kind]
        answers = prediction.predict(model, X, task)
        assert list(answers.columns) == ["prediction"]
        assert answers["prediction"].tolist() == model.predict(X).tolist()
        assert prediction.class_probabilities(answers) is None


def _old_predict_for_evaluation(model: Any, task: Task) -> tuple[Any, Any]:
    """What evaluation computed before it used the shared function."""
    y_pred = np.asarray(model.predict(X))
    if task is Task.regression:
        return y_pred, None
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        return y_pred, proba[:, 1] if task is Task.binary_classification else proba
    return y_pred, np.asarray(model.decision_function(X), dtype=float)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_evaluation_scores_what_it_scored_before(kind: str) -> None:
    model, task = MODELS[kind]
    y_pred, y_score = predict_for_evaluation(model, X, task)
    old_pred, old_score = _old_predict_for_evaluation(model, task)
    assert y_pred.tolist() == old_pred.tolist()
    if old_score is None:
        assert y_score is None
    else:
        np.testing.assert_allclose(y_score, old_score)


class _Slots:
    def __init__(self, champion: LoadedModel) -> None:
        self.champion = champion

    def current(self) -> tuple[LoadedModel, None]:
        return self.champion, None


class _Features:
    columns = ("a", "b")

    def get(self, entities: list[dict[str, Any]], keys_checked: bool = False) -> pd.DataFrame:
        return X.iloc[[e["id"] for e in entities]].reset_index(drop=True)


def _old_answer(model: Any, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """What the service answered before it used the shared function."""
    plain = [v.item() if isinstance(v, np.generic) else v for v in model.predict(rows)]
    out: list[dict[str, Any]] = [{"prediction": v} for v in plain]
    if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        classes = [str(c.item() if isinstance(c, np.generic) else c) for c in model.classes_]
        for row, p in zip(out, model.predict_proba(rows), strict=True):
            row["probabilities"] = {c: float(v) for c, v in zip(classes, p, strict=True)}
    return out


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_the_service_answers_what_it_answered_before(kind: str) -> None:
    model, task = MODELS[kind]
    entities = [{"id": i} for i in (0, 5, 17)]
    rows = predict_entities(
        name="m",
        entities=entities,
        slots=_Slots(LoadedModel(3, model, ("a", "b"))),  # type: ignore[arg-type]
        features=_Features(),  # type: ignore[arg-type]
        serving=Serving(),
        task=task,
    )
    expected = _old_answer(model, X.iloc[[0, 5, 17]].reset_index(drop=True))
    answers = [
        {k: v for k, v in row.items() if k in ("prediction", "probabilities")} for row in rows
    ]
    assert answers == expected
    pairs = zip(answers, expected, strict=True)
    assert all(type(a["prediction"]) is type(e["prediction"]) for a, e in pairs)
    assert [row["version"] for row in rows] == [3, 3, 3]
