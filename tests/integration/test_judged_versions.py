"""A version is created with its verdict, and what has none (or the wrong one) is refused.

Against real MLflow 3.17 on a temporary SQLite database:

* the lineage and gate tags travel in MLflow's ``create_model_version`` call itself: with
  every later per-tag write broken, the new version still has all of them;
* the serving loader and batch scoring refuse, in one line, a version whose verdict does not
  allow its role (unjudged, or a champion that failed its gates) and accept a judged one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.errors import RegistryError, StepError
from mlops_spec.runtime.gates import KEEP_CHALLENGER, PROMOTE, VERDICT_TAG
from mlops_spec.runtime.scoring import scoring_version
from mlops_spec.runtime.serving import ModelSlots, load_version

pytestmark = pytest.mark.integration

LINEAGE = {"mlops_spec.spec_name": "judged", "data.rows": "569"}


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame]:
    root = tmp_path_factory.mktemp("mlflow")
    reg.configure(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :4]
    return LogisticRegression(max_iter=300).fit(X, y), X


def _register(name: str, model: Any, X: pd.DataFrame, tags: dict[str, str]) -> int:
    with reg.tracked_run("judged-tests", f"train-{name}") as run_id:
        return reg.log_and_register_model(
            model,
            run_id=run_id,
            registered_name=name,
            input_example=X,
            pip_requirements=reg.pinned_requirements(),
            tags=tags,
        ).version


def test_tags_are_written_by_the_create_call_itself(
    model_and_rows: tuple[Any, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X = model_and_rows
    created: list[dict[str, str]] = []
    # mlflow.register_model (which also links the LoggedModel to its version) creates the
    # version through the client's private _create_model_version
    create = MlflowClient._create_model_version

    def spy(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        created.append(dict(kwargs.get("tags") or {}))
        return create(self, *args, **kwargs)

    def broken(*_: Any, **__: Any) -> None:
        raise AssertionError("a version tag was written after the version was created")

    monkeypatch.setattr(MlflowClient, "_create_model_version", spy)
    monkeypatch.setattr(MlflowClient, "set_model_version_tag", broken)
    tags = {**LINEAGE, "gate.0.accuracy": "pass: accuracy = 0.95", VERDICT_TAG: PROMOTE}
    version = _register("atomic", model, X, tags)
    assert created == [tags]
    monkeypatch.undo()
    assert reg.get_version_tags("atomic", version) == tags


def test_serving_refuses_what_its_verdict_does_not_allow(
    model_and_rows: tuple[Any, pd.DataFrame],
) -> None:
    model, X = model_and_rows
    name = "served"
    unjudged = _register(name, model, X, LINEAGE)
    failed = _register(name, model, X, {**LINEAGE, VERDICT_TAG: KEEP_CHALLENGER})
    passed = _register(name, model, X, {**LINEAGE, VERDICT_TAG: PROMOTE})

    with pytest.raises(RegistryError, match=f"{name} v{unjudged} may not be served as champion: "):
        load_version(name, unjudged)
    with pytest.raises(RegistryError, match="unjudged"):
        load_version(name, unjudged, "challenger")
    with pytest.raises(RegistryError, match="failed its gates"):
        load_version(name, failed)
    assert load_version(name, failed, "challenger").version == failed  # compared, never answers
    assert load_version(name, passed).version == passed

    slots = ModelSlots(name, "champion", "challenger")
    reg.set_alias(name, "champion", passed)
    reg.set_alias(name, "challenger", unjudged)
    with pytest.raises(RegistryError, match="unjudged") as refused:
        slots.refresh()
    assert "\n" not in str(refused.value)
    reg.set_alias(name, "challenger", failed)
    assert slots.refresh()
    champion, candidate = slots.current()
    assert (champion.version, candidate and candidate.version) == (passed, failed)


def test_scoring_refuses_an_unjudged_or_failed_version(
    model_and_rows: tuple[Any, pd.DataFrame],
) -> None:
    model, X = model_and_rows
    name = "scored"
    unjudged = _register(name, model, X, LINEAGE)
    failed = _register(name, model, X, {**LINEAGE, VERDICT_TAG: KEEP_CHALLENGER})
    passed = _register(name, model, X, {**LINEAGE, VERDICT_TAG: PROMOTE})

    reg.set_alias(name, "champion", unjudged)
    with pytest.raises(StepError, match=rf"{name}@champion \(v{unjudged}\) may not score: unj"):
        scoring_version(name, "champion", None)
    reg.set_alias(name, "champion", failed)
    with pytest.raises(StepError, match="failed its gates"):
        scoring_version(name, "champion", None)
    with pytest.raises(StepError, match=f"{name} v{unjudged} may not score: unjudged"):
        scoring_version(name, "champion", unjudged)
    assert scoring_version(name, "champion", failed).version == failed  # named: judged is enough
    reg.set_alias(name, "champion", passed)
    assert scoring_version(name, "champion", None).version == passed
