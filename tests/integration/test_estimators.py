"""The scikit-learn adapters (estimators, splitting, evaluation) against real data.

The frames are sklearn's own data sets plus the awkward columns real entity files have: a
string column with missing values, a boolean, NaNs in a numeric column, and a timestamp.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from mlops_spec.adapters.estimators import (
    DEFAULT_ALLOWED,
    build_pipeline,
    fit_in_steps,
    is_iterative,
    resolve_estimator,
    split_columns,
)
from mlops_spec.adapters.evaluation import evaluate, predict_for_evaluation
from mlops_spec.adapters.splitting import held_out_rows, holdout_split, split_frame
from mlops_spec.errors import StepError
from mlops_spec.settings import DEFAULT_ALLOWED_ESTIMATORS
from mlops_spec.spec.estimator_params import ESTIMATOR_PARAMS
from mlops_spec.spec.metrics import TASK_METRICS, Task
from mlops_spec.spec.sections import Split, SplitMethod

pytestmark = pytest.mark.integration

HGB = "sklearn.ensemble.HistGradientBoostingClassifier"
LABEL = "target"
TS = "event_time"


def _frame(loader: Callable[..., Any], **kwargs: Any) -> pd.DataFrame:
    df: pd.DataFrame = loader(as_frame=True, **kwargs).frame.copy()
    rng = np.random.default_rng(0)
    df["color"] = rng.choice(["red", "green", "blue"], len(df)).astype(object)
    df.loc[df.index[::7], "color"] = None
    df["flag"] = rng.random(len(df)) > 0.5
    first = df.columns[0]
    df.loc[df.index[::5], first] = np.nan
    df[TS] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.permutation(len(df)), unit="h")
    return df


@pytest.fixture(scope="module")
def frames() -> dict[Task, pd.DataFrame]:
    return {
        Task.binary_classification: _frame(load_breast_cancer),
        Task.multiclass_classification: _frame(load_wine),
        Task.regression: _frame(load_diabetes, scaled=False),
    }


def _features(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in (LABEL, TS)]


def _task_of(dotted: str) -> list[Task]:
    if ESTIMATOR_PARAMS[dotted][0] == "regressor":
        return [Task.regression]
    return [Task.binary_classification, Task.multiclass_classification]


CASES = [(dotted, task) for dotted in DEFAULT_ALLOWED_ESTIMATORS for task in _task_of(dotted)]


@pytest.mark.parametrize(
    ("dotted", "task"), CASES, ids=[f"{d.split('.')[-1]}-{t}" for d, t in CASES]
)
def test_every_allowed_estimator_fits_mixed_dtypes(
    frames: dict[Task, pd.DataFrame], dotted: str, task: Task
) -> None:
    df = frames[task]
    train, test = split_frame(
        df, Split(method=SplitMethod.random), label=LABEL, timestamp=TS, task=task
    )
    features = _features(df)
    numeric, categorical = split_columns(train, features)
    assert categorical == ["color", "flag"]
    pipeline = build_pipeline(
        dotted, {}, numeric=numeric, categorical=categorical, task=task, seed=0
    )
    pipeline.fit(train[features], train[LABEL])
    unseen = test[features].copy()
    unseen["color"] = "purple"  # a category never seen in training must not break predict
    y_pred, y_score = predict_for_evaluation(pipeline, unseen, task)
    metrics = evaluate(task, test[LABEL], y_pred, y_score, getattr(pipeline, "classes_", None))
    assert tuple(metrics) == TASK_METRICS[task]
    if task is Task.regression:
        assert metrics["r2"] > 0.2
    else:
        assert metrics["accuracy"] > 0.8


def test_pandas_nullable_and_category_dtypes(frames: dict[Task, pd.DataFrame]) -> None:
    df = frames[Task.binary_classification].copy()
    df["color"] = df["color"].astype("string")  # pd.NA, not None
    df["size"] = pd.array([None if i % 9 == 0 else i % 4 for i in range(len(df))], dtype="Int64")
    df["shape"] = pd.Categorical(["round" if i % 2 == 0 else None for i in range(len(df))])
    df["mixed"] = pd.Series(["x" if i % 3 == 0 else 1 for i in range(len(df))], index=df.index)
    features = _features(df)
    numeric, categorical = split_columns(df, features)
    assert "size" in numeric
    assert set(categorical) == {"color", "flag", "shape", "mixed"}
    for dotted in (HGB, "sklearn.linear_model.LogisticRegression"):
        pipeline = build_pipeline(
            dotted,
            {},
            numeric=numeric,
            categorical=categorical,
            task=Task.binary_classification,
            seed=0,
        )
        pipeline.fit(df[features], df[LABEL])
        assert pipeline.score(df[features], df[LABEL]) > 0.9


def test_hist_gradient_boosting_treats_encoded_columns_as_categorical() -> None:
    pipeline = build_pipeline(
        HGB, {}, numeric=["a", "b"], categorical=["c"], task=Task.binary_classification
    )
    assert pipeline.named_steps["model"].categorical_features == [0]


def test_datetime_feature_is_refused(frames: dict[Task, pd.DataFrame]) -> None:
    with pytest.raises(StepError, match=f"'{TS}' has dtype datetime64"):
        split_columns(frames[Task.regression], [TS])


def test_allow_list_refuses_before_importing() -> None:
    # Were the module imported, the error would be ModuleNotFoundError, not the allow-list.
    with pytest.raises(StepError, match="not in the allow-list"):
        resolve_estimator("no_such_package_xyz.Evil", DEFAULT_ALLOWED)
    with pytest.raises(
        StepError, match=r"did you mean 'sklearn\.ensemble\.RandomForestClassifier'"
    ):
        resolve_estimator("sklearn.ensemble.RandomForestClasifier", DEFAULT_ALLOWED)
    extra = DEFAULT_ALLOWED | {"sklearn.tree.DecisionTreeClassifier"}
    assert resolve_estimator("sklearn.tree.DecisionTreeClassifier", extra).__name__ == (
        "DecisionTreeClassifier"
    )


def test_unknown_param_names_param_estimator_and_hint() -> None:
    with pytest.raises(StepError) as info:
        build_pipeline(
            HGB, {"max_depht": 3}, numeric=["a"], categorical=[], task=Task.binary_classification
        )
    message = str(info.value)
    assert "'max_depht'" in message
    assert HGB in message
    assert "did you mean 'max_depth'?" in message


def test_estimator_must_suit_the_task() -> None:
    with pytest.raises(StepError, match="not a classifier"):
        build_pipeline(
            "sklearn.linear_model.Ridge",
            {},
            numeric=["a"],
            categorical=[],
            task=Task.binary_classification,
        )


@pytest.mark.parametrize(
    ("dotted", "growth", "steps"),
    [
        (HGB, "max_iter", 5),
        ("sklearn.ensemble.RandomForestClassifier", "n_estimators", 5),
        ("sklearn.linear_model.SGDClassifier", None, 5),
        ("sklearn.linear_model.LogisticRegression", None, 1),
    ],
)
def test_fit_in_steps_grows_iterative_models(
    frames: dict[Task, pd.DataFrame], dotted: str, growth: str | None, steps: int
) -> None:
    df = frames[Task.binary_classification]
    features = _features(df)
    numeric, categorical = split_columns(df, features)
    pipeline = build_pipeline(
        dotted,
        {"max_iter": 50} if dotted == HGB else {},
        numeric=numeric,
        categorical=categorical,
        task=Task.binary_classification,
        seed=0,
    )
    assert is_iterative(pipeline) is (steps > 1)
    sizes: list[int] = []
    model = pipeline.named_steps["model"]
    for _ in fit_in_steps(pipeline, df[features], df[LABEL], n_steps=5):
        if growth == "n_estimators":
            sizes.append(len(model.estimators_))
        elif growth == "max_iter":
            sizes.append(model.n_iter_)
        pipeline.predict(df[features])  # usable between steps
    assert len(sizes or [0] * steps) == steps
    if growth:
        assert sizes == sorted(sizes)
        assert sizes[-1] == model.get_params()[growth]
        assert model.warm_start is False  # restored


# --- splitting -------------------------------------------------------------------------------


def test_time_split_takes_the_latest_rows(frames: dict[Task, pd.DataFrame]) -> None:
    df = frames[Task.binary_classification]
    train, test = split_frame(
        df, Split(test_size=0.25), label=LABEL, timestamp=TS, task=Task.binary_classification
    )
    assert len(test) == (len(df) * 25 * 2 + 100) // 200  # n * 0.25 rounded half up
    assert len(train) + len(test) == len(df)
    assert train[TS].max() < test[TS].min()
    assert set(test.index) == set(df.nlargest(len(test), TS).index)


@pytest.mark.parametrize("method", [SplitMethod.time, SplitMethod.random, SplitMethod.stratified])
def test_split_sizes_are_n_times_the_fraction_rounded_half_up(method: SplitMethod) -> None:
    """Every (n, k/100) pair up to n=120, against integer arithmetic rather than floats: ceil of
    the float product gave 8 test rows for 25 rows at 0.28."""
    for n in range(2, 121):
        df = pd.DataFrame({TS: range(n), LABEL: [i % 2 for i in range(n)], "x": range(n)})
        for k in range(1, 100):
            expected = (n * k * 2 + 100) // 200
            assert held_out_rows(n, k / 100) == expected, (n, k)
            if method is not SplitMethod.time and n not in (2, 25, 120):
                continue  # the frame split itself is checked on a few sizes
            if not 1 <= expected < n or (
                method is SplitMethod.stratified and not 2 <= expected <= n - 2
            ):
                continue
            split = Split(method=method, test_size=k / 100, seed=1)
            train, test = split_frame(
                df, split, label=LABEL, timestamp=TS, task=Task.binary_classification
            )
            assert (len(train), len(test)) == (n - expected, expected), (n, k)


def test_a_fraction_that_rounds_to_no_rows_is_refused() -> None:
    df = pd.DataFrame({TS: range(4), LABEL: [0, 1, 0, 1]})
    with pytest.raises(StepError, match="both sides need at least one row"):
        split_frame(df, Split(test_size=0.1), label=LABEL, timestamp=TS, task=Task.regression)


def test_time_split_never_cuts_inside_a_timestamp() -> None:
    """0.4 of 5 rows would cut between the rows of time 1: the cut moves to the boundary."""
    df = pd.DataFrame({TS: [1, 1, 1, 1, 2], LABEL: [0, 1, 0, 1, 0], "x": range(5)})
    train, test = split_frame(
        df, Split(test_size=0.4), label=LABEL, timestamp=TS, task=Task.regression
    )
    assert list(train.index) == [0, 1, 2, 3]
    assert list(test.index) == [4]
    with pytest.raises(StepError, match="every row has the event time 1"):
        split_frame(
            df.iloc[:4], Split(test_size=0.5), label=LABEL, timestamp=TS, task=Task.regression
        )


@pytest.mark.parametrize("method", [SplitMethod.random, SplitMethod.stratified])
def test_random_splits_are_deterministic(
    frames: dict[Task, pd.DataFrame], method: SplitMethod
) -> None:
    df = frames[Task.multiclass_classification]
    task = Task.multiclass_classification

    def run(seed: int) -> tuple[list[int], list[int]]:
        split = Split(method=method, test_size=0.3, seed=seed)
        train, test = split_frame(df, split, label=LABEL, timestamp=TS, task=task)
        return list(train.index), list(test.index)

    assert run(7) == run(7)
    assert run(7) != run(8)
    if method is SplitMethod.stratified:
        _, test_index = run(7)
        shares = df.loc[test_index, LABEL].value_counts(normalize=True).sort_index()
        overall = df[LABEL].value_counts(normalize=True).sort_index()
        assert np.allclose(shares, overall, atol=0.03)


def test_stratified_split_needs_classification(frames: dict[Task, pd.DataFrame]) -> None:
    with pytest.raises(StepError, match="stratified split needs a classification task"):
        split_frame(
            frames[Task.regression],
            Split(method=SplitMethod.stratified),
            label=LABEL,
            timestamp=TS,
            task=Task.regression,
        )


def test_holdout_split_uses_validation_size() -> None:
    split = Split(method=SplitMethod.stratified, test_size=0.2, validation_size=0.1, seed=3)
    holdout = holdout_split(split)
    assert (holdout.method, holdout.test_size, holdout.seed) == (SplitMethod.stratified, 0.1, 3)


# --- evaluation ------------------------------------------------------------------------------


def _fitted(
    frames: dict[Task, pd.DataFrame], task: Task, dotted: str, labels: Any = None
) -> tuple[Any, pd.DataFrame, pd.DataFrame, list[str]]:
    df = frames[task].copy()
    if labels is not None:
        df[LABEL] = df[LABEL].map(labels)
    split = Split(method=SplitMethod.stratified if task is not Task.regression else "random")
    train, test = split_frame(df, split, label=LABEL, timestamp=TS, task=task)
    features = _features(df)
    numeric, categorical = split_columns(train, features)
    pipeline = build_pipeline(
        dotted, {}, numeric=numeric, categorical=categorical, task=task, seed=0
    )
    pipeline.fit(train[features], train[LABEL])
    return pipeline, train, test, features


def test_binary_metrics_match_sklearn(frames: dict[Task, pd.DataFrame]) -> None:
    task = Task.binary_classification
    # String labels: the positive class is classes_[1] ("malignant" sorts after "benign").
    model, _, test, features = _fitted(
        frames, task, "sklearn.linear_model.LogisticRegression", {0: "malignant", 1: "benign"}
    )
    y_pred, y_score = predict_for_evaluation(model, test[features], task)
    metrics = evaluate(task, test[LABEL], y_pred, y_score, model.classes_)
    assert tuple(metrics) == TASK_METRICS[task]
    truth = (test[LABEL] == "malignant").astype(int)
    proba = model.predict_proba(test[features])[:, 1]
    pos = "malignant"
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, proba))
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, proba))
    assert metrics["average_precision"] == pytest.approx(average_precision_score(truth, proba))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(test[LABEL], y_pred))
    assert metrics["f1"] == pytest.approx(f1_score(test[LABEL], y_pred, pos_label=pos))
    assert metrics["precision"] == pytest.approx(
        precision_score(test[LABEL], y_pred, pos_label=pos)
    )
    assert metrics["recall"] == pytest.approx(recall_score(test[LABEL], y_pred, pos_label=pos))
    assert 0.95 < metrics["roc_auc"] <= 1.0


def test_multiclass_metrics_match_sklearn(frames: dict[Task, pd.DataFrame]) -> None:
    task = Task.multiclass_classification
    model, _, test, features = _fitted(frames, task, "sklearn.ensemble.RandomForestClassifier")
    y_pred, y_score = predict_for_evaluation(model, test[features], task)
    assert y_score is not None and y_score.shape == (len(test), 3)
    metrics = evaluate(task, test[LABEL], y_pred, y_score, model.classes_)
    assert tuple(metrics) == TASK_METRICS[task]
    y = test[LABEL]
    for average in ("macro", "weighted"):
        assert metrics[f"roc_auc_ovr_{average}"] == pytest.approx(
            roc_auc_score(y, y_score, multi_class="ovr", average=average)
        )
        assert metrics[f"f1_{average}"] == pytest.approx(f1_score(y, y_pred, average=average))
        assert metrics[f"precision_{average}"] == pytest.approx(
            precision_score(y, y_pred, average=average)
        )
        assert metrics[f"recall_{average}"] == pytest.approx(
            recall_score(y, y_pred, average=average)
        )
    assert metrics["log_loss"] == pytest.approx(log_loss(y, y_score, labels=model.classes_))
    assert metrics["accuracy"] > 0.85


def test_regression_metrics_match_sklearn(frames: dict[Task, pd.DataFrame]) -> None:
    task = Task.regression
    model, _, test, features = _fitted(frames, task, "sklearn.linear_model.Ridge")
    y_pred, y_score = predict_for_evaluation(model, test[features], task)
    assert y_score is None
    metrics = evaluate(task, test[LABEL], y_pred, None, None)
    assert tuple(metrics) == TASK_METRICS[task]
    assert metrics["rmse"] == pytest.approx(math.sqrt(mean_squared_error(test[LABEL], y_pred)))
    assert metrics["mae"] == pytest.approx(mean_absolute_error(test[LABEL], y_pred))
    assert metrics["r2"] == pytest.approx(r2_score(test[LABEL], y_pred))


@pytest.mark.parametrize("task", [Task.binary_classification, Task.multiclass_classification])
def test_decision_function_fallback_keeps_every_name(
    frames: dict[Task, pd.DataFrame], task: Task
) -> None:
    # SGD's default hinge loss has no predict_proba: ranking metrics stay, log_loss is nan.
    model, _, test, features = _fitted(frames, task, "sklearn.linear_model.SGDClassifier")
    y_pred, y_score = predict_for_evaluation(model, test[features], task)
    metrics = evaluate(task, test[LABEL], y_pred, y_score, model.classes_)
    assert tuple(metrics) == TASK_METRICS[task]
    assert math.isnan(metrics["log_loss"])
    auc = "roc_auc" if task is Task.binary_classification else "roc_auc_ovr_macro"
    assert 0.9 < metrics[auc] <= 1.0


def test_single_class_rows_give_nan_not_crash() -> None:
    metrics = evaluate(Task.binary_classification, [1, 1, 1], [1, 0, 1], [0.9, 0.4, 0.8], [0, 1])
    assert tuple(metrics) == TASK_METRICS[Task.binary_classification]
    assert math.isnan(metrics["roc_auc"])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
