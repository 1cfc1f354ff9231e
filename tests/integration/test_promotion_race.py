"""Three runs of one spec promote at the same instant: exactly one becomes champion.

Each contender is its own process running the real `promote` task in a Prefect flow against
the shared MLflow registry (SQLite) and a real Prefect server, released together by a start
file. The Prefect concurrency limit serialises them and the compare-and-set refuses the moves
whose gates compared against a champion that is no longer there; every refusal is recorded.
Without the lock and the check, all three would "promote" and the last writer would win.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.settings import Settings
from tests.support.prefect_server import ROOT, PrefectServer

pytestmark = pytest.mark.integration

MODEL = "adult-income"  # the name in specs/adult_income.yaml (no approval required)
CONTENDERS = 3


def test_one_champion_when_runs_promote_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_server: PrefectServer
) -> None:
    monkeypatch.setenv("MLOPS_SPEC_STATE_DIR", str(tmp_path))
    settings = Settings()
    reg.configure(settings.tracking_uri, settings.artifact_root)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=200).fit(X.iloc[:, :3], y)
    with reg.tracked_run("race", "train") as run_id:
        versions = [
            reg.log_and_register_model(
                model,
                run_id=run_id,
                registered_name=MODEL,
                input_example=X.iloc[:5, :3],
                pip_requirements=reg.pinned_requirements(),
                tags={},
            ).version
            for _ in range(CONTENDERS)
        ]

    start = tmp_path / "start"
    env = {**os.environ, **prefect_server.env, "MLOPS_SPEC_STATE_DIR": str(tmp_path)}
    contenders = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "support" / "promote_race.py"),
                str(ROOT / "specs" / "adult_income.yaml"),
                str(version),
                str(start),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in versions
    ]
    deadline = time.monotonic() + 240
    while not all(Path(f"{start}.ready.{v}").exists() for v in versions):
        assert time.monotonic() < deadline, "contenders never reached the promotion"
        assert all(p.poll() is None for p in contenders), [p.communicate() for p in contenders]
        time.sleep(0.2)
    start.touch()
    results = []
    for process in contenders:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    winners = [r for r in results if r["promoted"]]
    assert len(winners) == 1, results
    winner = winners[0]["version"]
    assert reg.get_alias_version(MODEL, "champion") == winner
    assert sorted(r["status"] for r in results) == ["conflict", "conflict", "promoted"]

    history = reg.promotion_history(MODEL, "champion")
    assert [
        (e["kind"], e["from_version"], e["to_version"]) for e in history if e["kind"] == "promotion"
    ] == [("promotion", None, winner)]
    refused = sorted(e["to_version"] for e in history if e["kind"] == "conflict")
    assert refused == sorted(v for v in versions if v != winner)
    assert all(f"is now v{winner}" in e["reason"] for e in history if e["kind"] == "conflict")
