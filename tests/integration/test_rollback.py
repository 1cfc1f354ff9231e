"""`mlops-spec rollback` against a real MLflow registry (SQLite in a temporary state folder).

Three champions in turn; each rollback goes one champion further back and is itself an event
of the promotion history that `mlops-spec audit` prints; impossible rollbacks fail cleanly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.cli import main
from mlops_spec.runtime.rollback import champion_chain
from mlops_spec.settings import Settings

pytestmark = pytest.mark.integration


def test_champion_chain_pops_rollbacks() -> None:
    history = [
        {"to_version": 1},
        {"to_version": 2},
        {"to_version": 3},
        {"to_version": 2, "kind": "rollback"},
        {"to_version": 4, "kind": "promotion"},
    ]
    assert champion_chain(history) == [1, 2, 4]
    assert champion_chain([]) == []


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MLOPS_SPEC_STATE_DIR", str(tmp_path))
    settings = Settings()
    reg.configure(settings.tracking_uri, settings.artifact_root)
    return settings


def test_rollback_walks_back_through_champions(
    state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :5]
    model = LogisticRegression(max_iter=500).fit(X, y)
    with reg.tracked_run("rollback-tests", "train") as run_id:
        for _ in range(3):
            info = reg.log_and_register_model(
                model,
                run_id=run_id,
                registered_name="credit",
                input_example=X,
                pip_requirements=reg.pinned_requirements(),
                tags={"governance.verdict": "promote"},
            )
            reg.promote("credit", "champion", info.version, actor="flow", reason="gates passed")
    assert reg.get_alias_version("credit", "champion") == 3

    assert main(["rollback", "credit", "--reason", "bad batch", "--actor", "ops"]) == 0
    assert "credit@champion: v3 -> v2 (rollback by ops: bad batch)" in capsys.readouterr().out
    assert reg.get_alias_version("credit", "champion") == 2
    assert main(["rollback", "credit", "--actor", "ops"]) == 0
    assert reg.get_alias_version("credit", "champion") == 1
    assert main(["rollback", "credit"]) == 1
    assert "has no previous champion to roll back to" in capsys.readouterr().err
    assert reg.get_alias_version("credit", "champion") == 1

    history = reg.promotion_history("credit", "champion")
    assert [(e["from_version"], e["to_version"], e["kind"]) for e in history] == [
        (None, 1, "promotion"),
        (1, 2, "promotion"),
        (2, 3, "promotion"),
        (3, 2, "rollback"),
        (2, 1, "rollback"),
    ]
    assert main(["audit", "credit", "3"]) == 0
    audit = capsys.readouterr().out
    assert "governance.status: rolled-back (by ops: bad batch)" in audit
    assert "kind=rollback, reason=rollback from v3: bad batch, to_version=2" in audit

    # an alias moved behind mlops-spec's back is not silently rolled back
    reg.set_alias("credit", "champion", 3)
    assert main(["rollback", "credit"]) == 1
    assert "the alias was moved outside mlops-spec" in capsys.readouterr().err
    assert main(["rollback", "no-such-model"]) == 1
    assert "has no 'champion' alias" in capsys.readouterr().err


def test_rollback_refuses_a_previous_champion_whose_verdict_forbids_it(
    state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """An alias moved by hand onto a version that failed its gates is never returned to."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X.iloc[:, :3], y)
    with reg.tracked_run("rollback-tests", "train") as run_id:
        for verdict in ("keep-challenger", "promote"):
            info = reg.log_and_register_model(
                model,
                run_id=run_id,
                registered_name="refused",
                input_example=X.iloc[:, :3],
                pip_requirements=reg.pinned_requirements(),
                tags={"governance.verdict": verdict},
            )
            reg.promote("refused", "champion", info.version, actor="test", reason="by hand")
    assert main(["rollback", "refused"]) == 1
    assert "v1 may not become champion again: it failed its gates" in capsys.readouterr().err
    assert reg.get_alias_version("refused", "champion") == 2
