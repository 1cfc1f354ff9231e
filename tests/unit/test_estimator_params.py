"""The committed estimator table is what the installed scikit-learn says, and validate uses it.

Run this file with Python (``.venv/bin/python tests/unit/test_estimator_params.py``) to rewrite
the generated block of ``mlops_spec/spec/estimator_params.py`` after a scikit-learn upgrade or
an allow-list change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_spec.loader.estimators import describe_estimator, lookup_estimator
from mlops_spec.settings import DEFAULT_ALLOWED_ESTIMATORS
from mlops_spec.spec.estimator_params import ESTIMATOR_PARAMS

ROOT = Path(__file__).resolve().parents[2]
TABLE_FILE = ROOT / "mlops_spec" / "spec" / "estimator_params.py"
BEGIN = "# --- generated: do not edit by hand (see the module docstring) ---\n"
END = "# --- end of generated table ---\n"


def generated_block() -> str:
    """The table as the installed scikit-learn describes each allow-listed estimator."""
    lines = [BEGIN, "ESTIMATOR_PARAMS: dict[str, tuple[EstimatorKind, tuple[str, ...]]] = {\n"]
    for dotted in sorted(DEFAULT_ALLOWED_ESTIMATORS):
        info = describe_estimator(dotted)
        lines.append(f'    "{dotted}": (\n        "{info.kind}",\n        (\n')
        lines += [f'            "{name}",\n' for name in sorted(info.params)]
        lines.append("        ),\n    ),\n")
    lines += ["}\n", END]
    return "".join(lines)


def committed_block() -> str:
    text = TABLE_FILE.read_text()
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def test_table_matches_scikit_learn() -> None:
    assert committed_block() == generated_block(), (
        "stale: run `.venv/bin/python tests/unit/test_estimator_params.py`"
    )


def test_table_covers_the_allow_list_only() -> None:
    assert set(ESTIMATOR_PARAMS) == set(DEFAULT_ALLOWED_ESTIMATORS)


def test_extra_estimator_is_inspected_lazily() -> None:
    info = lookup_estimator(
        "sklearn.tree.DecisionTreeRegressor", frozenset({"sklearn.tree.DecisionTreeRegressor"})
    )
    assert not isinstance(info, str) and info is not None
    assert info.kind == "regressor" and "max_depth" in info.params


@pytest.mark.parametrize("dotted", ["sklearn.tree.NoSuchTree", "nonexistent_pkg.Model"])
def test_extra_estimator_that_cannot_load_says_why(dotted: str) -> None:
    found = lookup_estimator(dotted, frozenset({dotted}))
    assert isinstance(found, str) and "cannot load allowed estimator" in found


def test_validate_does_not_import_scikit_learn() -> None:
    """The table is the point: a spec naming an allow-listed estimator loads without sklearn."""
    code = (
        "import sys; from mlops_spec.loader import load_spec;"
        "load_spec('specs/penguins.yaml');"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


if __name__ == "__main__":
    text = TABLE_FILE.read_text()
    TABLE_FILE.write_text(text.replace(committed_block(), generated_block()))
    print(f"rewrote {TABLE_FILE.relative_to(ROOT)}")
