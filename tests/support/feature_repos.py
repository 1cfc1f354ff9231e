"""Private copies of the project's Feast repo, so tests never touch `.mlops/feast`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def file_feature_repo(
    root: Path, project: str, offline_store: dict[str, Any], objects: Sequence[Any] = ()
) -> Path:
    """``root/repo``: a Feast repo with a file registry and SQLite online store (in
    ``root/state``), the given offline store and ``objects`` applied, for tests whose feature
    data is their own. Feast is imported here, so modules that only copy the project repo do
    not pay for it."""
    import yaml
    from feast import FeatureStore

    repo, state = root / "repo", root / "state"
    repo.mkdir(parents=True)
    state.mkdir(parents=True, exist_ok=True)
    config = {
        "project": project,
        "provider": "local",
        "registry": {"registry_type": "file", "path": str(state / "registry.db")},
        "online_store": {"type": "sqlite", "path": str(state / "online.db")},
        "offline_store": offline_store,
        "entity_key_serialization_version": 3,
        "auth": {"type": "no_auth"},
    }
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(config))
    if objects:
        FeatureStore(repo_path=str(repo)).apply(list(objects))
    return repo
