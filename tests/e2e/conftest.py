"""End-to-end runs: the real CLI in a real process, against Prefect, Feast, whylogs, Optuna and
MLflow, with every piece of state in a temporary folder (the demo data and Feast registry are
prepared once, as `make demo` does)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def demo_data() -> Path:
    from mlops_spec.adapters.feast_store import apply_repo
    from mlops_spec.demo_data import prepare_all

    data_dir = ROOT / ".mlops" / "data"
    prepare_all(data_dir)
    apply_repo(ROOT / "feature_repo")
    return data_dir


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def cli(state_dir: Path, demo_data: Path) -> RunCli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "MLOPS_SPEC_STATE_DIR": str(state_dir),
            "PREFECT_HOME": str(state_dir / "prefect"),
            **(env or {}),
        }
        return subprocess.run(
            [str(BIN / "mlops-spec"), *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    return run


def variant(tmp_path: Path, source: str, name: str, edits: dict[str, str]) -> Path:
    """A copy of a demo spec with text edits, for a scenario (the demo specs stay untouched)."""
    text = (ROOT / "specs" / source).read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def metric(summary: str, name: str) -> float:
    """A test metric from the run summary line `test metrics: a=0.1, b=0.2`."""
    match = re.search(rf"\b{name}=([0-9.]+)", summary)
    assert match, f"{name} not in {summary}"
    return float(match.group(1))
