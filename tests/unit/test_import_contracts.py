"""The layers of DESIGN.md are import contracts (pyproject.toml, `[tool.importlinter]`): they
hold on this checkout, and a deliberate breach in a copy of it breaks the contract it should."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package, the flows and the contracts, where a breach can be planted."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "mlops_spec", tmp_path / "mlops_spec", ignore=ignore)
    shutil.copytree(ROOT / "flows", tmp_path / "flows", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(copy: Path, module: str, line: str) -> None:
    path = copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


BREACHES = [
    # (module, planted import, contract it breaks, the import named in the report)
    (
        "mlops_spec/spec/metrics.py",
        "import prefect",
        "The spec models and their JSON Schema import no heavy library, directly or not",
        "mlops_spec.spec.metrics -> prefect",
    ),
    (
        "mlops_spec/spec/metrics.py",
        "import prefect",
        "Prefect is imported only by the runtime and the entry points above it",
        "mlops_spec.spec.metrics -> prefect",
    ),
    (
        "mlops_spec/spec/sections.py",
        "from mlops_spec.settings import Settings",
        "One direction of dependency",
        "mlops_spec.spec.sections -> mlops_spec.settings",
    ),
    (
        "mlops_spec/plan/render.py",
        "import pandas",
        "The plan imports no heavy library itself",
        "mlops_spec.plan.render -> pandas",
    ),
    (
        "mlops_spec/adapters/feast_online.py",
        "from mlops_spec.adapters import mlflow_tracking",
        "Each adapter owns its library",
        "mlops_spec.adapters.feast_online -> mlops_spec.adapters.mlflow_tracking",
    ),
    (
        "mlops_spec/cli/__init__.py",
        "from mlops_spec.demo_data import _io",
        "A private module (_name) is imported only inside its own package",
        "mlops_spec.cli -> mlops_spec.demo_data._io",
    ),
]


@pytest.mark.parametrize(("module", "line", "contract", "named"), BREACHES)
def test_a_deliberate_breach_breaks_its_contract(
    copy: Path, module: str, line: str, contract: str, named: str
) -> None:
    _plant(copy, module, line)
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
    assert named in broken, result.stdout
