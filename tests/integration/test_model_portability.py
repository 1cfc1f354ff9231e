"""A registered model loads, predicts and is served where only its logged requirements are.

The model is logged the way ``register`` logs it (skops, the computed trust list, the
``mlops_spec_preprocessing`` code path), then a fresh virtual environment is built from the
``requirements.txt`` MLflow wrote next to it, with no mlops-spec in it. In that environment
``mlflow.pyfunc.load_model`` must give the same probabilities as the fitted pipeline here, and
``mlflow models serve`` must answer a request with them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters.estimators import build_pipeline, split_columns
from mlops_spec.spec.metrics import Task
from tests.support.prefect_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"
HGB = "sklearn.ensemble.HistGradientBoostingClassifier"
LOGISTIC = "sklearn.linear_model.LogisticRegression"


def _frame() -> tuple[pd.DataFrame, pd.Series]:
    """Breast-cancer numbers plus the dtypes the column conversions exist for: a nullable
    integer with gaps, a string column with pd.NA, and booleans."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6].copy()
    rng = np.random.default_rng(0)
    X["grade"] = pd.array([None if i % 7 == 0 else i % 3 for i in range(len(X))], dtype="Int64")
    X["site"] = pd.array(rng.choice(["north", "south", "east"], size=len(X)), dtype="string")
    X.loc[X.index[::11], "site"] = pd.NA
    X["flag"] = rng.random(len(X)) > 0.5
    return X, y


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, pd.DataFrame]]:
    """Two registered models (a tree and a linear pipeline), downloaded as plain directories,
    with the rows they are asked about and, beside them, the answers given here."""
    root = tmp_path_factory.mktemp("portable")
    reg.configure(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts")
    X, y = _frame()
    numeric, categorical = split_columns(X, list(X.columns))
    experiment = reg.get_or_create_experiment("portable")
    found: dict[str, tuple[Path, pd.DataFrame]] = {}
    for dotted in (HGB, LOGISTIC):
        pipeline = build_pipeline(
            dotted, {}, numeric=numeric, categorical=categorical, task=Task.binary_classification
        )
        pipeline.fit(X, y)
        short = dotted.rsplit(".", 1)[1].lower()
        with reg.tracked_run(experiment, f"portable-{short}") as run_id:
            info = reg.log_and_register_model(
                pipeline,
                run_id=run_id,
                registered_name=f"portable-{short}",
                input_example=X,
                pip_requirements=reg.pinned_requirements(),
                tags={"lineage.test": "portable"},
            )
        target = root / short
        mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(target))
        rows = X.head(25)
        rows.assign(**{"_expected": pipeline.predict_proba(rows)[:, 1]}).to_json(
            target / "rows.json", orient="split", index=False, double_precision=15
        )
        found[short] = (target, rows)
    return found


@pytest.fixture(scope="module")
def clean_python(
    model_dirs: dict[str, tuple[Path, pd.DataFrame]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A virtual environment with only the first model's requirements (both models were logged
    with the same pinned list), built by the project's pinned uv from its local cache."""
    model_dir = next(iter(model_dirs.values()))[0]
    requirements = (model_dir / "requirements.txt").read_text()
    assert "mlops" not in requirements, requirements
    venv = tmp_path_factory.mktemp("clean-venv") / "venv"
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(model_dir / "requirements.txt"),
        ],
        check=True,
    )
    return venv / "bin" / "python"


def _expected(model_dir: Path) -> pd.Series:
    """The answers given here; read back exactly, since a tree's split can fall between a
    value and its nearest 15-digit neighbour."""
    rows = pd.read_json(model_dir / "rows.json", orient="split", precise_float=True)
    return rows["_expected"]


def _clean_env() -> dict[str, str]:
    """No trace of this checkout: no PYTHONPATH, and the child runs from a temporary folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env


LOAD_AND_PREDICT = textwrap.dedent(
    """
    import json, sys
    import mlflow.pyfunc, pandas as pd
    try:
        import mlops_spec
    except ImportError:
        pass
    else:
        raise SystemExit("mlops_spec is importable: the environment is not clean")
    model = mlflow.pyfunc.load_model(sys.argv[1])
    rows = pd.read_json(sys.argv[2], orient="split", precise_float=True)
    answers = model.predict(rows.drop(columns="_expected"))
    print(json.dumps(pd.DataFrame(answers).iloc[:, -1].tolist()))
    """
)


@pytest.mark.parametrize("short", ["histgradientboostingclassifier", "logisticregression"])
def test_a_model_loads_and_predicts_with_only_its_requirements(
    model_dirs: dict[str, tuple[Path, pd.DataFrame]], clean_python: Path, short: str, tmp_path: Path
) -> None:
    model_dir, _ = model_dirs[short]
    done = subprocess.run(
        [str(clean_python), "-c", LOAD_AND_PREDICT, str(model_dir), str(model_dir / "rows.json")],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = _expected(model_dir)
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), expected)


def _wait_for_ping(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"mlflow models serve did not answer /ping: {log.read_text()[-3000:]}")


def test_mlflow_models_serve_answers_for_the_model(
    model_dirs: dict[str, tuple[Path, pd.DataFrame]], clean_python: Path, tmp_path: Path
) -> None:
    model_dir, rows = model_dirs["histgradientboostingclassifier"]
    port = free_port()
    log = tmp_path / "serve.log"
    mlflow_cli = clean_python.parent / "mlflow"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [
                str(mlflow_cli),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=tmp_path,
            # as an activated environment would: the scoring server execs its venv's uvicorn
            env={**_clean_env(), "PATH": f"{clean_python.parent}:{os.environ['PATH']}"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ping(port, server, log)
        split = rows.to_json(orient="split", index=False, double_precision=15)
        body = {"dataframe_split": json.loads(split)}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answered = json.loads(response.read())["predictions"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = _expected(model_dir)
    np.testing.assert_allclose([row[-1] for row in answered], expected)
