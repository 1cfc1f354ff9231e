"""The MLflow adapter against real MLflow 3.17 on a temporary SQLite database (no mocks).

One database per module: the first use of a fresh SQLite file runs MLflow's migrations
(3-5 s), so tests share it and use distinct registered-model names instead.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from mlops_spec.adapters import mlflow_audit as audit
from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters import plots
from mlops_spec.errors import RegistryError
from mlops_spec.settings import DEFAULT_ALLOWED_ESTIMATORS

pytestmark = pytest.mark.integration

REQUIREMENTS = reg.pinned_requirements()


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlflow")
    reg.configure(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts")
    return root


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    """Breast cancer features plus a string column (with a missing value) and an ordinal one."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    rng = np.random.default_rng(0)
    X = X.copy()
    X["site"] = rng.choice(["north", "south", "east"], size=len(X))
    X.loc[X.index[::17], "site"] = None
    X["grade"] = rng.choice(["low", "mid", "high"], size=len(X))
    X.loc[X.index[::23], "mean radius"] = np.nan
    return X, y


def _pipeline(estimator: Any, numeric: list[str]) -> Pipeline:
    pre = ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                numeric,
            ),
            (
                "onehot",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                ["site"],
            ),
            (
                "ordinal",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ["grade"],
            ),
        ]
    )
    return Pipeline([("preprocess", pre), ("model", estimator)])


def _register(
    model: Any, X: pd.DataFrame, name: str, tags: dict[str, str] | None = None
) -> reg.ModelVersionInfo:
    with reg.tracked_run("registry-tests", f"train-{name}", {"spec": f"{name}.yaml"}) as run_id:
        reg.log_metrics(run_id, {"roc_auc": 0.97, "rows": float(len(X))})
        return reg.log_and_register_model(
            model,
            run_id=run_id,
            registered_name=name,
            input_example=X,
            pip_requirements=REQUIREMENTS,
            tags=tags or {"spec.sha": "abc123"},
        )


def test_hist_gradient_boosting_round_trips_through_an_alias(
    backend: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = data
    numeric = [c for c in X.columns if c not in ("site", "grade")]
    model = _pipeline(HistGradientBoostingClassifier(max_iter=30, random_state=0), numeric)
    model.fit(X, y)

    started = time.perf_counter()
    info = _register(model, X, "cancer-hgb", {"spec.sha": "abc123", "data.rows": str(len(X))})
    elapsed = time.perf_counter() - started
    print(f"log_and_register_model (incl. run start/end): {elapsed:.2f} s")

    assert info.version == 1
    assert info.model_uri == "models:/cancer-hgb/1"
    assert any("TreePredictor" in t for t in info.trusted_types)
    reg.set_alias("cancer-hgb", "challenger", info.version)

    loaded = reg.load_model("models:/cancer-hgb@challenger")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # The pyfunc flavour (what `mlflow models serve` uses) serves probabilities, matching the
    # signature, and accepts the raw frame with its missing values.
    served = mlflow.pyfunc.load_model("models:/cancer-hgb@challenger").predict(X)
    np.testing.assert_allclose(np.asarray(served), model.predict_proba(X))

    record = audit.describe_version("cancer-hgb", "challenger")
    assert record.version_tags["spec.sha"] == "abc123"
    assert record.version_tags["data.rows"] == str(len(X))
    # Artifacts live under the configured root, not in ./mlruns of the working directory.
    model_dirs = list((backend / "artifacts").rglob(f"{info.model_id}/artifacts/model.skops"))
    assert len(model_dirs) == 1
    assert not (Path.cwd() / "mlruns").exists()


ESTIMATORS: list[Callable[[], Any]] = [
    lambda: HistGradientBoostingClassifier(max_iter=5, random_state=0),
    lambda: HistGradientBoostingRegressor(max_iter=5, random_state=0),
    lambda: RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
    lambda: RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0),
    lambda: ExtraTreesClassifier(n_estimators=3, max_depth=3, random_state=0),
    lambda: ExtraTreesRegressor(n_estimators=3, max_depth=3, random_state=0),
    lambda: GradientBoostingClassifier(n_estimators=5, random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=5, random_state=0),
    lambda: LogisticRegression(max_iter=200),
    lambda: Ridge(),
    lambda: LinearRegression(),
    lambda: Lasso(alpha=0.01),
    lambda: ElasticNet(alpha=0.01),
    lambda: SGDClassifier(random_state=0),
    lambda: LinearDiscriminantAnalysis(),
    lambda: KNeighborsClassifier(n_neighbors=5),
    lambda: KNeighborsRegressor(n_neighbors=5),
    lambda: LGBMClassifier(n_estimators=5, verbose=-1, random_state=0),
    lambda: LGBMRegressor(n_estimators=5, verbose=-1, random_state=0),
    lambda: XGBClassifier(n_estimators=5, random_state=0),
    lambda: XGBRegressor(n_estimators=5, random_state=0),
]


def _allow_listed_name(estimator: Any) -> str:
    """``sklearn.ensemble._forest.X`` is allow-listed as ``sklearn.ensemble.X``, and
    ``lightgbm.sklearn.X`` as ``lightgbm.X``."""
    module = type(estimator).__module__
    public = module.rsplit("._", 1)[0] if module.startswith("sklearn.") else module.split(".")[0]
    return f"{public}.{type(estimator).__name__}"


def test_every_allow_listed_estimator_is_covered_here() -> None:
    made = {_allow_listed_name(make()) for make in ESTIMATORS}
    assert made == set(DEFAULT_ALLOWED_ESTIMATORS)


@pytest.mark.parametrize("make", ESTIMATORS, ids=lambda m: type(m()).__name__)
def test_every_allowed_estimator_logs_and_loads(
    backend: Path, data: tuple[pd.DataFrame, pd.Series], make: Callable[[], Any]
) -> None:
    X, y = data
    X = X.iloc[:120]
    estimator = make()
    target = y.iloc[:120] if is_classifier(estimator) else X["mean texture"]
    numeric = [c for c in X.columns[:5] if c != "mean texture"]
    model = _pipeline(estimator, numeric).fit(X, target)
    name = f"tiny-{type(estimator).__name__}"

    info = _register(model, X, name)
    loaded = reg.load_model(info.model_uri)

    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_project_pipeline_builder_is_trusted(
    backend: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """The project's own FunctionTransformer helpers must pass the skops allow-list."""
    estimators = pytest.importorskip("mlops_spec.adapters.estimators")
    from mlops_spec.spec.metrics import Task

    X, y = data
    X = X[["mean radius", "mean texture", "site", "grade"]].iloc[:150]
    model = estimators.build_pipeline(
        "sklearn.ensemble.HistGradientBoostingClassifier",
        {"max_iter": 5},
        numeric=["mean radius", "mean texture"],
        categorical=["site", "grade"],
        task=Task.binary_classification,
        seed=0,
    ).fit(X, y.iloc[:150])
    info = _register(model, X, "project-builder")
    loaded = reg.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_untrusted_types_are_refused(backend: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    model = Pipeline(
        [
            ("f", FunctionTransformer(lambda frame: frame[["mean texture"]])),
            ("m", LogisticRegression()),
        ]
    ).fit(X, y)
    with pytest.raises(RegistryError, match="not under an allow-listed module"):
        reg.trusted_types_for(model)


def _tiny_model(data: tuple[pd.DataFrame, pd.Series]) -> tuple[Any, pd.DataFrame]:
    X, y = data
    X = X[["mean radius", "mean area", "site", "grade"]].iloc[:80]
    model = _pipeline(LogisticRegression(max_iter=200), ["mean radius", "mean area"])
    return model.fit(X, y.iloc[:80]), X


def test_aliases_move_and_promotions_are_recorded(
    backend: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model, X = _tiny_model(data)
    first = _register(model, X, "promoted")
    second = _register(model, X, "promoted")
    assert (first.version, second.version) == (1, 2)

    assert reg.get_alias_version("promoted", "champion") is None
    reg.promote("promoted", "champion", 1, actor="alice", reason="first model")
    reg.promote("promoted", "champion", 2, actor="flow", reason="gates passed")
    reg.promote("promoted", "challenger", 2, actor="flow", reason="trained")
    assert reg.get_alias_version("promoted", "champion") == 2

    history = reg.promotion_history("promoted", "champion")
    assert [(e["from_version"], e["to_version"], e["actor"]) for e in history] == [
        (None, 1, "alice"),
        (1, 2, "flow"),
    ]
    assert len(reg.promotion_history("promoted")) == 3
    rollback_to = history[-1]["from_version"]
    reg.promote("promoted", "champion", rollback_to, actor="bob", reason="rollback")
    assert reg.get_alias_version("promoted", "champion") == 1
    assert audit.describe_version("promoted", "champion").aliases == ("champion",)
    assert audit.describe_version("promoted", "2").aliases == ("challenger",)

    reg.delete_alias("promoted", "challenger")
    reg.delete_alias("promoted", "challenger")  # idempotent
    assert reg.get_alias_version("promoted", "challenger") is None


def test_missing_models_and_aliases(backend: Path) -> None:
    assert reg.get_alias_version("no-such-model", "champion") is None
    assert reg.promotion_history("no-such-model") == []
    with pytest.raises(RegistryError, match="no version or alias"):
        audit.describe_version("no-such-model", "champion")
    with pytest.raises(RegistryError, match="no version or alias"):
        audit.describe_version("no-such-model", "3")
    with pytest.raises(RegistryError, match="could not load model"):
        reg.load_model("models:/no-such-model@champion")


def test_describe_version_and_run_records(
    backend: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model, X = _tiny_model(data)
    y = data[1].iloc[:80]
    with reg.tracked_run("registry-tests", "audited", {"spec": "audited.yaml"}) as run_id:
        reg.log_params(
            run_id,
            {"model": {"C": 1.0, "classes": [0, 1], "notes": "x" * 2000}, "seed": 7},
        )
        reg.log_metrics(run_id, {"roc_auc": 0.91, "f1": 0.8})
        reg.set_tags(run_id, {"git.sha": "deadbeef"})
        reg.log_dict(run_id, {"gates": {"roc_auc": "pass"}}, "gates.json")
        reg.log_text(run_id, "# report\n", "report.md")
        reg.log_table(run_id, X.head(3), "sample")
        reg.log_table(run_id, X.head(3), "sample")  # replaced, not appended
        proba = model.predict_proba(X)
        reg.log_figure(run_id, plots.roc_pr_figure(y, proba), "plots/roc_pr.png")
        reg.log_figure(
            run_id,
            plots.multiclass_confusion_figure(y, model.predict(X), labels=[0, 1]),
            "plots/confusion.png",
        )
        reg.log_figure(
            run_id,
            plots.residual_figure(X["mean area"], X["mean area"] * 1.1),
            "plots/residuals.png",
        )
        extra = backend / "extra.txt"
        extra.write_text("lineage")
        reg.log_artifact_file(run_id, extra, "lineage")
        info = reg.log_and_register_model(
            model,
            run_id=run_id,
            registered_name="audited",
            input_example=X,
            pip_requirements=REQUIREMENTS,
            tags={"spec.sha": "feed"},
        )
    reg.set_version_tags("audited", info.version, {"gate.roc_auc": "pass"})

    record = audit.describe_version("audited", str(info.version))
    assert record.run_id == run_id
    assert record.version_tags == {"spec.sha": "feed", "gate.roc_auc": "pass"}
    assert record.run_metrics == {"roc_auc": 0.91, "f1": 0.8}
    assert record.run_params["model.C"] == "1.0"
    assert record.run_params["model.classes"] == "[0, 1]"
    assert len(record.run_params["model.notes"]) == reg.PARAM_VALUE_LIMIT
    assert record.run_params["model.notes"].endswith("[truncated]")
    assert record.run_tags["git.sha"] == "deadbeef"
    assert record.run_tags["spec"] == "audited.yaml"
    assert set(record.run_artifacts) >= {
        "gates.json",
        "report.md",
        "tables/sample.json",
        "plots/roc_pr.png",
        "plots/confusion.png",
        "plots/residuals.png",
        "lineage/extra.txt",
    }
    assert {"MLmodel", "model.skops", "requirements.txt"} <= set(record.model_artifacts)
    assert record.to_dict()["version"] == info.version

    table_files = list((backend / "artifacts").rglob(f"{run_id}/artifacts/tables/sample.json"))
    assert len(pd.read_json(table_files[0], orient="split")) == 3


def test_failed_block_marks_the_run_failed(backend: Path) -> None:
    with pytest.raises(ZeroDivisionError), reg.tracked_run("registry-tests", "boom") as run_id:
        1 / 0  # noqa: B018
    with reg.backend_call("read the failed run"):
        assert reg.client().get_run(run_id).info.status == "FAILED"


def test_unusable_tracking_uris_raise_registry_error(backend: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("I am a file")
    with pytest.raises(RegistryError, match="cannot be created"):
        reg.configure(f"sqlite:///{not_a_folder / 'mlflow.db'}", tmp_path / "art")

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(RegistryError, match="is corrupt: restore it from a backup"):
        reg.configure(f"sqlite:///{corrupt}", tmp_path / "art")

    with pytest.raises(RegistryError, match="in-memory"):
        reg.configure("sqlite:///:memory:", tmp_path / "art")

    # A failed configure leaves the working configuration in place.
    assert reg.get_alias_version("no-such-model", "champion") is None


def test_a_briefly_locked_database_delays_but_does_not_fail(backend: Path) -> None:
    """Another writer holding SQLite's lock for 6 s: experiment set-up and logging wait."""
    run_id = reg.start_run("registry-tests", "locked")
    locked = threading.Event()

    def hold_lock(seconds: float) -> None:
        con = sqlite3.connect(backend / "mlflow.db", isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold_lock, args=(6.0,))
    holder.start()
    locked.wait()
    try:
        assert reg.get_or_create_experiment("created-under-lock")
        reg.log_params(run_id, {"a": 1})
    finally:
        holder.join()
    reg.end_run(run_id)


def _configure_in_child(uri: str, root: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        reg.configure(uri, Path(root))
        reg.get_or_create_experiment("shared")
        results.put("ok")
    except Exception as exc:  # report, do not hang the parent
        results.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_first_use_of_a_fresh_database(backend: Path, tmp_path: Path) -> None:
    """Two processes racing on a fresh SQLite file both succeed (plain MLflow: one fails)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    children = [
        context.Process(
            target=_configure_in_child, args=(uri, str(tmp_path / "art"), barrier, results)
        )
        for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=10)
    assert outcomes == ["ok", "ok"]
