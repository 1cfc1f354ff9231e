"""Project settings: the embedded defaults, and the only switch to bigger engines.

Everything a run touches on disk lives under ``state_dir`` (git-ignored), so a laptop needs no
server. Pointing the same specs at PostgreSQL, an MLflow server or a Prefect server is a matter of
``MLOPS_SPEC_*`` environment variables (or a ``.env`` file), never code.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_spec.secrets import resolve

DEFAULT_ALLOWED_ESTIMATORS: tuple[str, ...] = (
    "lightgbm.LGBMClassifier",
    "lightgbm.LGBMRegressor",
    "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.ensemble.ExtraTreesRegressor",
    "sklearn.ensemble.GradientBoostingClassifier",
    "sklearn.ensemble.GradientBoostingRegressor",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestRegressor",
    "sklearn.linear_model.ElasticNet",
    "sklearn.linear_model.Lasso",
    "sklearn.linear_model.LinearRegression",
    "sklearn.linear_model.LogisticRegression",
    "sklearn.linear_model.Ridge",
    "sklearn.linear_model.SGDClassifier",
    "sklearn.neighbors.KNeighborsClassifier",
    "sklearn.neighbors.KNeighborsRegressor",
    "xgboost.XGBClassifier",
    "xgboost.XGBRegressor",
)


class Settings(BaseSettings):
    """Where state lives and which services a run talks to."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_SPEC_", env_file=".env", extra="ignore")

    project_root: Path = Field(default_factory=Path.cwd)
    state_dir: Path = Path(".mlops")
    mlflow_tracking_uri: str | None = None
    prefect_api_url: str | None = None
    prefect_server: Literal["local", "ephemeral"] = Field(
        default="local",
        description="With no Prefect API URL set: local = start the project's own Prefect "
        "server once (state folder) and reuse it; ephemeral = Prefect's temporary server per "
        "command, gone when the command ends (CI-like use).",
    )
    feast_repo: Path = Path("feature_repo")
    optuna_storage: str | None = None
    extra_estimators: list[str] = Field(default_factory=list)
    allow_paths_outside_root: bool = False
    feast_online_store: str | None = Field(
        default=None, description="redis://host:port: online features in Redis (read by Feast)."
    )
    data_dir: Path | None = Field(
        default=None,
        description="Where `demo-data` writes and the demo specs read "
        "(`${MLOPS_SPEC_DATA_DIR:-.mlops/data}`); default <state>/data.",
    )
    debug: bool = Field(
        default=False, description="Show the traceback of an internal error instead of one line."
    )
    task_runner: Literal["default", "dask"] = "default"
    dask_address: str | None = Field(
        default=None, description="A standing Dask scheduler; unset = a LocalCluster per run."
    )

    @cached_property
    def root(self) -> Path:
        return self.project_root.resolve()

    @cached_property
    def state(self) -> Path:
        path = self.state_dir if self.state_dir.is_absolute() else self.root / self.state_dir
        return path.resolve()

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI; SQLite under the state folder unless set. A
        ``prefect-secret:<block>`` value is loaded from Prefect (see ``mlops_spec.secrets``)."""
        return resolve(self.mlflow_tracking_uri) or f"sqlite:///{self.state / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.state / "mlartifacts"

    @property
    def optuna_storage_url(self) -> str:
        """Optuna storage: a journal file under the state folder unless an RDB URL is set."""
        return resolve(self.optuna_storage) or f"journal:{self.state / 'optuna.journal'}"

    @property
    def feast_repo_path(self) -> Path:
        return self.feast_repo if self.feast_repo.is_absolute() else self.root / self.feast_repo

    @property
    def data_path(self) -> Path:
        if self.data_dir is None:
            return self.state / "data"
        return self.data_dir if self.data_dir.is_absolute() else self.root / self.data_dir

    def as_environment(self) -> dict[str, str]:
        """Every setting given explicitly (environment or ``.env``) as its ``MLOPS_SPEC_*``
        variable, for what reads the environment rather than Settings: spec interpolation,
        Feast's online-store override, worker subprocesses."""
        exported = {}
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, list | tuple):
                text = json.dumps(list(value))
            else:
                text = str(value)
            exported[f"MLOPS_SPEC_{name.upper()}"] = text
        return exported

    @property
    def allowed_estimators(self) -> frozenset[str]:
        return frozenset(DEFAULT_ALLOWED_ESTIMATORS) | frozenset(self.extra_estimators)
