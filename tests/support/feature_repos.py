"""Private copies of the project's Feast repo, so tests never touch `.mlops/feast`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlops_spec.demo_data import prepare_all

PROJECT_REPO = Path(__file__).resolve().parents[2] / "feature_repo"


def copy_project_repo(root: Path) -> Path:
    """``root/feature_repo``: the definitions only; registry and online store are made anew."""
    target = root / "feature_repo"
    shutil.copytree(PROJECT_REPO, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@contextmanager
def demo_feature_repo(root: Path) -> Iterator[Path]:
    """A repo copy beside freshly prepared demo data in ``root/.mlops/data`` (where the repo's
    sources look when ``MLOPS_SPEC_DATA_DIR`` is unset, as it is inside the block)."""
    prepare_all(root / ".mlops" / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLOPS_SPEC_DATA_DIR", raising=False)
        yield copy_project_repo(root)
