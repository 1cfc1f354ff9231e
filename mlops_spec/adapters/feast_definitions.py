"""A Feast repo's Python definitions, read as ``feast apply`` reads them, without its CLI
helper (which changes the working directory and calls ``sys.exit`` on bad input)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlops_spec.errors import StepError

CONFIG_NAME = "feature_store.yaml"


@contextmanager
def _repo_on_path(repo: Path, module_names: list[str]) -> Iterator[None]:
    """Make the repo's files importable by their plain names, then forget them again.

    Definition files import each other by plain name (``from demo_entities import person``), as
    ``feast apply`` allows. Forgetting the modules afterwards means a second repo (a test's copy)
    with the same file names is imported afresh instead of served from ``sys.modules``.
    """
    for name in module_names:
        if name in sys.modules and not _is_repo_module(sys.modules[name]):
            raise StepError(f"Feast repo file {name}.py shadows the imported module {name!r}")
    saved_bytecode_flag = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # keep __pycache__ out of the repo, as feast apply does
    sys.path.insert(0, str(repo))
    for name in module_names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in module_names:
            sys.modules.pop(name, None)
        if str(repo) in sys.path:
            sys.path.remove(str(repo))
        sys.dont_write_bytecode = saved_bytecode_flag


def _is_repo_module(module: Any) -> bool:
    """Whether a loaded module came from some Feast repo (ours or a copy), so may be replaced."""
    origin = getattr(module, "__file__", None)
    return origin is not None and (Path(origin).parent / CONFIG_NAME).is_file()


def load_repo_contents(repo: Path, project: str) -> Any:
    """The Feast objects defined in the repo's ``.py`` files, as ``feast apply`` would see them."""
    from feast import Project
    from feast.feature_view import DUMMY_ENTITY
    from feast.repo_operations import get_repo_files

    files = get_repo_files(repo)  # honours .feastignore
    names = [".".join(path.relative_to(repo).with_suffix("").parts) for path in files]
    with _repo_on_path(repo, names):
        try:
            modules = [importlib.import_module(name) for name in names]
        except Exception as exc:
            raise StepError(f"cannot import Feast definitions in {repo}: {exc}") from exc
        contents = _collect(modules)
    if not contents.projects:
        contents.projects.append(Project(name=project, description=""))
    elif [p.name for p in contents.projects] != [project]:
        raise StepError(f"the repo's Project objects must be exactly one named {project!r}")
    contents.entities.append(DUMMY_ENTITY)
    return contents


def _collect(modules: list[Any]) -> Any:
    """Sort module attributes into Feast's RepoContents, each object once (by identity)."""
    from feast import (
        BatchFeatureView,
        Entity,
        FeatureService,
        FeatureView,
        OnDemandFeatureView,
        Project,
        StreamFeatureView,
    )
    from feast.data_source import DataSource
    from feast.permissions.permission import Permission
    from feast.repo_contents import RepoContents

    contents = RepoContents(
        projects=[],
        data_sources=[],
        feature_views=[],
        on_demand_feature_views=[],
        stream_feature_views=[],
        label_views=[],
        entities=[],
        feature_services=[],
        permissions=[],
    )
    buckets: list[tuple[type, list[Any]]] = [
        (StreamFeatureView, contents.stream_feature_views),
        (BatchFeatureView, contents.feature_views),
        (FeatureView, contents.feature_views),
        (OnDemandFeatureView, contents.on_demand_feature_views),
        (Entity, contents.entities),
        (FeatureService, contents.feature_services),
        (DataSource, contents.data_sources),
        (Permission, contents.permissions),
        (Project, contents.projects),
    ]

    def add(obj: Any, bucket: list[Any]) -> None:
        if not any(obj is seen for seen in bucket):
            bucket.append(obj)

    for module in modules:
        for attr in dir(module):
            obj = getattr(module, attr)
            for kind, bucket in buckets:
                if isinstance(obj, kind):
                    add(obj, bucket)
                    for source in (getattr(obj, "batch_source", None), _stream(obj)):
                        if source is not None:
                            add(source, contents.data_sources)
                    break
    return contents


def _stream(obj: Any) -> Any:
    return getattr(obj, "stream_source", None)
