"""Benchmark: each command's wall time, cold and warm, against the same work by hand.

Every figure is a fresh process (what a user pays per command), on the project-local Prefect
server that commands start on demand (``MLOPS_SPEC_PREFECT_SERVER=local``, the default):

* cold: no Prefect server running for the state folder (a command that needs one starts it);
  for `run`, also a fresh state folder (new MLflow database, no feature cache);
* warm: the state's server and MLflow database already up (the second command of a session).

By hand: the same work with the same libraries in a plain script (MLflow client calls, Feast
retrieval + the model's predict_proba, ``bench/handwritten_train.py`` for the Adult run).
Penguins and Adult are the demo specs (2-trial penguins for the setup runs).

    .venv/bin/python bench/commands.py [--skip-adult]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from overhead import timed  # noqa: E402  (bench/ is on the path when run as a script)

from mlops_spec.runtime.environment import QUIET  # noqa: E402

PENGUINS = "penguin-species"

AUDIT_BY_HAND = """
import sys
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
version = client.get_model_version("penguin-species", "1")
for key, value in sorted(version.tags.items()):
    print(key, value)
print(client.get_registered_model("penguin-species").aliases)
"""

ROLLBACK_BY_HAND = """
import sys
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
client.set_registered_model_alias("penguin-species", "champion", "1")
client.set_model_version_tag("penguin-species", "2", "governance.status", "rolled-back")
"""

SCORE_BY_HAND = """
import sys
import mlflow, pandas as pd
from feast import FeatureStore
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.sklearn.load_model("models:/penguin-species@champion")
rows = pd.read_parquet(sys.argv[2])
store = FeatureStore(repo_path=sys.argv[4])
frame = store.get_historical_features(
    entity_df=rows, features=store.get_feature_service("penguin_features_v1")
).to_df()
X = frame[list(model.feature_names_in_)]
out = rows.copy()
out["prediction"] = model.predict(X)
for i, label in enumerate(model.classes_):
    out[f"proba_{label}"] = model.predict_proba(X)[:, i]
out.to_parquet(sys.argv[3], index=False)
"""


def env_for(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    return {
        **env,
        **QUIET,
        "MLOPS_SPEC_STATE_DIR": str(state),
        "MLOPS_SPEC_PREFECT_SERVER": "local",
    }


def ours(state: Path, *args: str) -> float:
    ok = (0, 2) if args[0] == "run" else (0,)
    return timed([str(BIN / "mlops-spec"), *args], env_for(state), ok)


def by_hand(script: str, *args: str) -> float:
    return timed([sys.executable, "-c", script, *args], {**os.environ, **QUIET})


def server(state: Path, action: str) -> None:
    subprocess.run(
        [str(BIN / "mlops-spec"), "server", action],
        cwd=ROOT,
        env=env_for(state),
        capture_output=True,
        check=True,
    )


def penguins_spec(scratch: Path) -> Path:
    text = (ROOT / "specs" / "penguins.yaml").read_text().replace("n_trials: 15", "n_trials: 2")
    path = scratch / "penguins.yaml"
    path.write_text(text)
    return path


def score_rows(scratch: Path) -> Path:
    import pandas as pd

    entities = pd.read_parquet(ROOT / ".mlops/data/penguins/entities.parquet")
    rows = pd.concat([entities] * 3, ignore_index=True).head(1000)
    path = scratch / "rows_1000.parquet"
    rows[["penguin_id", "event_timestamp"]].to_parquet(path, index=False)
    return path


def measure_penguins(scratch: Path, spec: Path) -> list[tuple[str, float, float, float | None]]:
    """(command, cold s, warm s, by hand s) for run, audit, score and rollback."""
    state = scratch / "penguins"
    uri = f"sqlite:///{state / 'mlflow.db'}"
    run_cold = ours(state, "run", "--no-progress", str(spec))  # fresh state, starts the server
    run_warm = ours(state, "run", "--no-progress", str(spec))  # v2, champion
    rows, out = score_rows(scratch), scratch / "scored.parquet"
    score_args = ("score", str(spec), "--input", str(rows), "--output", str(out))
    score_warm = ours(state, *score_args)
    audit_warm = ours(state, "audit", PENGUINS, "1")
    hand_score = by_hand(SCORE_BY_HAND, uri, str(rows), str(out), str(ROOT / "feature_repo"))
    hand_audit = by_hand(AUDIT_BY_HAND, uri)
    server(state, "stop")
    snapshot = scratch / "penguins.snapshot"
    shutil.copytree(state, snapshot)
    audit_cold = ours(state, "audit", PENGUINS, "1")
    rollback_cold = ours(state, "rollback", PENGUINS, "--reason", "bench")  # file lock
    score_cold = ours(state, *score_args)  # starts the server again
    (state / "mlflow.db").write_bytes((snapshot / "mlflow.db").read_bytes())
    rollback_warm = ours(state, "rollback", PENGUINS, "--reason", "bench")  # server's limit
    (state / "mlflow.db").write_bytes((snapshot / "mlflow.db").read_bytes())
    hand_rollback = by_hand(ROLLBACK_BY_HAND, uri)
    server(state, "stop")
    return [
        ("run penguins (2 trials)", run_cold, run_warm, None),
        ("score 1,000 rows", score_cold, score_warm, hand_score),
        ("audit", audit_cold, audit_warm, hand_audit),
        ("rollback", rollback_cold, rollback_warm, hand_rollback),
    ]


def measure_adult(scratch: Path, runs: int) -> tuple[str, float, float, float]:
    """Medians of ``runs`` rounds, alternating: by hand, cold (fresh state, starts the server),
    warm (the same state's second run, server and MLflow database up). Before the warm run its
    feature cache and Optuna journal are removed, so it redoes the Feast retrieval and the 20
    trials the hand-written script does (otherwise it resumes the finished study)."""
    colds, warms, hands = [], [], []
    for round_ in range(runs):
        state = scratch / f"adult-{round_}"
        script = str(ROOT / "bench" / "handwritten_train.py")
        hands.append(timed([sys.executable, script, f"{state}-hand"], {**os.environ, **QUIET}))
        colds.append(ours(state, "run", "--no-progress", "specs/adult_income.yaml"))
        shutil.rmtree(state / "prefect" / "storage", ignore_errors=True)
        (state / "optuna.journal").unlink()
        warms.append(ours(state, "run", "--no-progress", "specs/adult_income.yaml"))
        server(state, "stop")
        figures = f"hand {hands[-1]:.1f} cold {colds[-1]:.1f} warm {warms[-1]:.1f}"
        print(f"adult round {round_}: {figures}", flush=True)
    median = statistics.median
    return ("run adult (20 trials)", median(colds), median(warms), median(hands))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-adult", action="store_true")
    parser.add_argument("--adult-runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    spec = penguins_spec(scratch)
    try:
        rows = measure_penguins(scratch, spec)
        if not args.skip_adult:
            rows.append(measure_adult(scratch, args.adult_runs))
    finally:
        for state in [scratch / "penguins", *scratch.glob("adult-*")]:
            if (state / "prefect-server.json").exists():
                server(state, "stop")
    print("| command | cold s | warm s | by hand s | cold / by hand | warm / by hand |")
    print("|---|---|---|---|---|---|")
    for name, cold, warm, hand in rows:
        ratios = f"{cold / hand:.2f}x | {warm / hand:.2f}x" if hand else "- | -"
        shown = f"{hand:.1f}" if hand else "-"
        print(f"| {name} | {cold:.1f} | {warm:.1f} | {shown} | {ratios} |")


if __name__ == "__main__":
    main()
