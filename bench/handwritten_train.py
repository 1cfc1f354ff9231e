"""The baseline of bench/overhead.py: the Adult spec's training steps written by hand.

Same libraries, data, trials and seed as `mlops-spec run specs/adult_income.yaml`, called
directly with no Prefect, no reports and no lineage: Feast point-in-time retrieval through the
feature service, a whylogs profile and the spec's range/missing checks with whylogs
constraints, a time split, an Optuna study (TPE seed 42 with the constant liar, median pruner
after 5 trials and not at step 0, 2 parallel trials, a journal file), the final fit, test
metrics, disparate impact with a pandas groupby, and MLflow (SQLite) logging, model
registration and an alias.

The model-building code is the project's own (``build_pipeline`` and ``make_objective``), so
both sides fit exactly the same models; what differs is everything around the fits.

    .venv/bin/python bench/handwritten_train.py STATE_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import mlflow.sklearn
import optuna
import pandas as pd
import whylogs as why
from feast import FeatureStore
from mlflow.models import infer_signature
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from sklearn.metrics import accuracy_score, roc_auc_score
from whylogs.core.constraints import ConstraintsBuilder
from whylogs.core.constraints.factories import is_in_range, no_missing_values

from mlops_spec.adapters.estimators import build_pipeline, split_columns
from mlops_spec.adapters.mlflow_registry import pinned_requirements, trusted_types_for
from mlops_spec.adapters.tuning import make_objective
from mlops_spec.spec.metrics import Task

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".mlops" / "data" / "adult"
LABEL, TS = "income_gt_50k", "event_timestamp"
ESTIMATOR = "sklearn.ensemble.HistGradientBoostingClassifier"
BASE = {"max_iter": 200, "early_stopping": False}


def time_split(frame: pd.DataFrame, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    ordered = frame.sort_values(TS, kind="stable")
    cut = len(ordered) - round(len(ordered) * test_size)
    return ordered.iloc[:cut], ordered.iloc[cut:]


def main(state: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    entities = pd.read_parquet(DATA / "entities.parquet")
    store = FeatureStore(repo_path=str(ROOT / "feature_repo"))
    frame = store.get_historical_features(
        entity_df=entities, features=store.get_feature_service("adult_features_v1")
    ).to_df()
    features = [c for c in frame.columns if c not in entities.columns]

    view = why.log(frame[[*features, LABEL]]).view()
    builder = ConstraintsBuilder(dataset_profile_view=view)
    for column, lo, hi in [("age", 17, 100), ("hours_per_week", 1, 99), ("education_num", 1, 16)]:
        builder.add_constraint(is_in_range(column_name=column, lower=lo, upper=hi))
    for column in ("age", LABEL):
        builder.add_constraint(no_missing_values(column_name=column))
    assert builder.build().validate()

    train, test = time_split(frame, 0.33334)
    fit_rows, validation = time_split(train, 0.2)
    objective = make_objective(
        estimator=ESTIMATOR,
        base_params=BASE,
        train=fit_rows,
        validation=validation,
        features=features,
        label=LABEL,
        task=Task.binary_classification,
        metric="roc_auc",
        seed=42,
        search_space=["learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization"],
        parallelism=2,
    )

    def trial_fn(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 64, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 10, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 1.0, log=True),
        }

        class Reporter:
            def report(self, value: float, step: int) -> None:
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        return objective(params, Reporter())  # type: ignore[arg-type]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="adult",
        storage=JournalStorage(JournalFileBackend(str(state / "optuna.journal"))),
        # The spec's sampler and pruner, with the settings mlops-spec gives them (constant liar
        # for parallel trials; no pruning at step 0, five trials before the median is used),
        # so both sides fit the same amount.
        sampler=optuna.samplers.TPESampler(seed=42, constant_liar=True),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        direction="maximize",
    )
    study.optimize(trial_fn, n_trials=20, n_jobs=2, timeout=600)

    numeric, categorical = split_columns(train, features)
    model = build_pipeline(
        ESTIMATOR,
        {**BASE, **study.best_params},
        numeric=numeric,
        categorical=categorical,
        task=Task.binary_classification,
        seed=42,
    )
    model.fit(train[features], train[LABEL])
    scores = model.predict_proba(test[features])[:, 1]
    predicted = (scores >= 0.5).astype(int)
    metrics = {
        "roc_auc": roc_auc_score(test[LABEL], scores),
        "accuracy": accuracy_score(test[LABEL], predicted),
    }
    for column in ("sex", "race"):
        rates = pd.Series(predicted, index=test.index).groupby(test[column]).mean()
        metrics[f"disparate_impact_{column}"] = float(rates.min() / rates.max())

    mlflow.set_tracking_uri(f"sqlite:///{state / 'mlflow.db'}")
    experiment = mlflow.create_experiment("adult", artifact_location=str(state / "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_params({**BASE, **study.best_params})
        mlflow.log_metrics(metrics)
        example = train[features].head(5)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict_proba(example)),
            input_example=example,
            pip_requirements=pinned_requirements(),
            serialization_format="skops",
            skops_trusted_types=trusted_types_for(model),
            registered_model_name="adult-income",
        )
    mlflow.MlflowClient().set_registered_model_alias(
        "adult-income", "challenger", str(info.registered_model_version)
    )
    print({k: round(v, 4) for k, v in metrics.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
