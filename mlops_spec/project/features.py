"""``mlops-spec features add TABLE.parquet``: from a team's own table to features and a spec.

One table becomes three files, written all together or not at all:

* ``feature_repo/<name>.py``: the Feast definitions (entity, parquet source, typed feature view,
  ``<name>_v1`` service), plain Python the team owns;
* ``data/<name>/entities.parquet``: the entity rows a spec trains on (key, event time in UTC,
  label, and the columns kept for fairness), taken from the same table;
* ``specs/<name>.yaml``: a spec that validates and runs once ``feast apply`` registered the
  definitions.

The label and the kept columns are not features: a model must not see its own label, and
sensitive attributes stay with the entity rows, where fairness checks read them.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mlops_spec.project import ProjectError
from mlops_spec.project.feature_module import render_module, source_path_expression
from mlops_spec.project.files import refuse_existing, write_all
from mlops_spec.project.spec_text import render_spec
from mlops_spec.project.table import TableLayout, entity_rows, infer_task, layout
from mlops_spec.settings import Settings

NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
POLICY = "policies/default.yaml"


@dataclass(frozen=True)
class FeatureRequest:
    table: Path
    key: str
    timestamp: str
    label: str | None = None
    keep: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ttl_seconds: float | None = None
    name: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class AddedFeatures:
    """What was written, for the CLI's summary."""

    name: str
    layout: TableLayout
    module: Path
    entities: Path | None = None
    spec: Path | None = None
    entity_rows: int = 0
    dropped_unlabelled: int = 0
    task: str | None = None
    positive_label: Any = None


def default_name(table: Path) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", table.stem.lower()).strip("_")
    return name if name[:1].isalpha() else f"t_{name}"


def check_name(name: str) -> None:
    """The name is a Python module (Feast imports the repo's files by plain name), and the Feast
    objects' prefix; a module that shadows an importable one would break ``feast apply``."""
    if not NAME.fullmatch(name):
        raise ProjectError(
            f"'{name}' is not a usable name: lower-case letters, digits and _, starting with a "
            "letter; pass --name"
        )
    if importlib.util.find_spec(name) is not None:
        raise ProjectError(
            f"'{name}' would shadow the Python module {name!r} in the Feast repo; pass --name"
        )


def _project_paths(settings: Settings) -> tuple[Path, Path]:
    root, repo = settings.root, settings.feast_repo_path.resolve()
    if not (repo / "feature_store.yaml").is_file():
        raise ProjectError(
            f"no Feast repo at {repo}: run from a project's root (`mlops-spec init --project "
            "DIR` makes one) or set MLOPS_SPEC_FEAST_REPO"
        )
    if not repo.is_relative_to(root):
        raise ProjectError(f"the Feast repo {repo} is outside the project root {root}")
    return root, repo


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def add_features(request: FeatureRequest, settings: Settings | None = None) -> AddedFeatures:
    """Check everything, render the files, then write them all (or nothing)."""
    root, repo = _project_paths(settings or Settings())
    table = request.table.expanduser().absolute()
    name = request.name or default_name(table)
    check_name(name)
    module = repo / f"{name}.py"
    targets = [module]
    if request.label:
        targets += [root / "data" / name / "entities.parquet", root / "specs" / f"{name}.yaml"]
    refuse_existing(targets, root)
    found = layout(
        table,
        key=request.key,
        timestamp=request.timestamp,
        label=request.label,
        keep=request.keep,
        exclude=request.exclude,
    )
    shown = _shown(table.resolve(), root)
    text = render_module(
        name,
        found,
        path_expression=source_path_expression(table, repo, root),
        shown=shown,
        ttl=request.ttl_seconds,
    )
    compile(text, str(module), "exec")  # a rendering bug must not reach feast apply
    files: dict[Path, bytes] = {module: text.encode()}
    if not request.label:
        write_all(files, root)
        return AddedFeatures(name, found, module)
    return _with_spec(request, name, found, files, (root, repo, shown))


def _with_spec(
    request: FeatureRequest,
    name: str,
    found: TableLayout,
    files: dict[Path, bytes],
    where: tuple[Path, Path, str],
) -> AddedFeatures:
    """Add the entity rows and the spec to the files, and write them all."""
    root, repo, shown = where
    rows, dropped = entity_rows(found)
    assert found.label is not None
    task, positive = infer_task(rows.column(found.label), found.label, request.task)
    entities = root / "data" / name / "entities.parquet"
    spec = root / "specs" / f"{name}.yaml"
    files[entities] = _parquet_bytes(rows)
    files[spec] = render_spec(
        name,
        found,
        task=task,
        positive_label=positive,
        entities=_shown(entities, root),
        repo=_shown(repo, root),
        shown=shown,
        policy=POLICY if (root / POLICY).is_file() else None,
    ).encode()
    write_all(files, root)
    return AddedFeatures(
        name, found, repo / f"{name}.py", entities, spec, rows.num_rows, dropped, task, positive
    )


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
