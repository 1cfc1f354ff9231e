"""`prefect-secret:<block>` settings resolve through a loader the runtime injects, so
`mlops_spec.secrets` (below the settings, the loader and the adapters) never imports Prefect,
and a block's value is masked the moment it is loaded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from mlops_spec import secrets
from mlops_spec.errors import StepError
from mlops_spec.settings import Settings


@pytest.fixture
def no_loader() -> Iterator[None]:
    previous = secrets._block_loader
    secrets.use_block_loader(None)
    yield
    secrets.use_block_loader(previous)


def test_a_block_is_loaded_by_the_injected_loader_and_masked(no_loader: None) -> None:
    asked: list[str] = []

    def load(block: str) -> str:
        asked.append(block)
        return "postgresql://ml:block-password-1@db/optuna"

    secrets.use_block_loader(load)
    value = secrets.resolve("prefect-secret:optuna-storage")
    assert value == "postgresql://ml:block-password-1@db/optuna"
    assert asked == ["optuna-storage"]
    assert secrets.redact(f"connecting to {value}") == "connecting to ***"


def test_settings_resolve_a_block_through_the_same_loader(
    no_loader: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_SPEC_MLFLOW_TRACKING_URI", "prefect-secret:tracking")
    secrets.use_block_loader(lambda block: f"http://u:{block}-secret-value@mlflow:5000")
    assert Settings().tracking_uri == "http://u:tracking-secret-value@mlflow:5000"


def test_without_a_loader_a_block_is_refused_in_one_line(no_loader: None) -> None:
    with pytest.raises(StepError, match=r"prefect-secret:tracking: .*use_secret_blocks\(\)"):
        secrets.resolve("prefect-secret:tracking")


def test_a_plain_value_needs_no_loader(no_loader: None) -> None:
    assert secrets.resolve("sqlite:///x.db") == "sqlite:///x.db"
    assert secrets.resolve(None) is None


def test_the_runtime_installs_the_prefect_loader(no_loader: None) -> None:
    from mlops_spec.runtime import secret_blocks

    secret_blocks.use_secret_blocks()
    assert secrets._block_loader is secret_blocks.load_secret_block


def test_importing_secrets_and_settings_loads_no_prefect() -> None:
    code = (
        "import sys, mlops_spec.secrets, mlops_spec.settings; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
