"""The Feast definitions module ``features add`` writes: plain, readable Python a team owns.

It is ordinary Feast code (Entity, FileSource, FeatureView with a typed schema, a versioned
FeatureService) with no import from mlops-spec, so ``feast apply`` and anyone reading the repo
see exactly what is registered. Rendering is pure text; nothing here imports Feast.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from mlops_spec.project.table import TableLayout

NEVER_EXPIRES_DAYS = 365 * 100


def _q(text: str) -> str:
    """A Python string literal (JSON's double-quoted form is valid Python)."""
    return json.dumps(text)


def _docstring_safe(text: str) -> str:
    """Column and file names go into a docstring: no backslash escapes, no early end."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def ttl_expression(seconds: float | None) -> str:
    if seconds is None:
        return f"timedelta(days={NEVER_EXPIRES_DAYS})"
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return f"timedelta({unit}={int(seconds // size)})"
    return f"timedelta(seconds={seconds:g})"


def source_path_expression(table: Path, repo: Path, root: Path) -> str:
    """Inside the project: relative to this module's folder, made absolute when Feast imports
    it, so the repo works from any working directory and after the project moves. Outside:
    the absolute path."""
    table, repo, root = table.resolve(), repo.resolve(), root.resolve()
    if not table.is_relative_to(root):
        return _q(str(table))
    relative = os.path.relpath(table, repo).replace(os.sep, "/")
    return f"str((HERE / {_q(relative)}).resolve())"


def _header(name: str, layout: TableLayout, shown: str, ttl: float | None) -> str:
    """The module docstring: where the definitions came from and how to change them."""
    kept = ", ".join(c for c in (layout.label, *layout.keep) if c) or "-"
    expiry = (
        "Feature values never expire (a 100-year TTL, since `feast materialize-incremental` "
        "starts at now - ttl on its first run)."
        if ttl is None
        else f"A feature value is joined to entity rows up to {ttl_expression(ttl)} after it."
    )
    left_out = [f.name for f in layout.features if f.name not in layout.served]
    note = (
        f" Timestamp columns ({', '.join(left_out)}) are in the view but not in the service: "
        "models need numbers derived from them (age, day of week) instead."
        if left_out
        else ""
    )
    about = (
        f"Written by `mlops-spec features add`; edit freely, it is plain Feast. Entity key "
        f"{layout.key}, event time {layout.timestamp}. Not features: {kept} (they stay on the "
        f"entity rows; a model must not see its own label). {expiry}{note}"
    )
    change = (
        "After an edit, register it with `feast -c feature_repo apply` from the project root. "
        f"To change a model's inputs, add a `{name}_v2` service rather than editing "
        f"`{name}_v1`: runs that used v1 stay reproducible."
    )
    body = "\n\n".join(textwrap.fill(p, width=96, break_on_hyphens=False) for p in (about, change))
    title = f"Feast definitions for {name}, from {shown}."
    title, body = (_docstring_safe(t) for t in (title, body))
    return f'"""{title}\n\n{body}\n"""\n'


def _fields(layout: TableLayout) -> str:
    """The view's schema lines, each feature described (a team refines the text)."""
    return "".join(
        f"        Field(name={_q(f.name)}, dtype={f.dtype}, "
        f"description={_q(f'Column {f.name} of {layout.path.name}.')}),\n"
        for f in layout.features
    )


def render_module(
    name: str, layout: TableLayout, *, path_expression: str, shown: str, ttl: float | None
) -> str:
    """The whole module text for table ``layout`` named ``name``."""
    types = sorted({f.dtype for f in layout.features})
    fields = _fields(layout)
    view_about = f"Features of {layout.path.name}, keyed by {layout.key} at {layout.timestamp}."
    tags = f'{{"source": {_q(layout.path.name)}, "written_by": "mlops-spec features add"}}'
    served = list(layout.served)
    selected = (
        f"{name}_features"
        if len(served) == len(layout.features)
        else f"{name}_features[[{', '.join(_q(s) for s in served)}]]"
    )
    here = (
        "\n# Feast's DuckDB offline store opens FileSource.path relative to the working "
        "directory,\n# so the path is made absolute from this file's folder.\n"
        "HERE = Path(__file__).resolve().parent\n"
        if "HERE" in path_expression
        else ""
    )
    return f"""{_header(name, layout, shown, ttl)}
from datetime import timedelta
{"from pathlib import Path" + chr(10) if here else ""}
from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import {", ".join(types)}
{here}
{name} = Entity(
    name={_q(name)},
    join_keys=[{_q(layout.key)}],
    value_type=ValueType.{layout.key_type},
    description={_q(f"One row of {layout.path.name}, keyed by {layout.key}.")},
)

{name}_source = FileSource(
    name={_q(f"{name}_source")},
    path={path_expression},
    timestamp_field={_q(layout.timestamp)},
)

{name}_features = FeatureView(
    name={_q(f"{name}_features")},
    entities=[{name}],
    ttl={ttl_expression(ttl)},
    schema=[
{fields}    ],
    source={name}_source,
    online=True,
    description={_q(view_about)},
    tags={tags},
)

{name}_v1 = FeatureService(
    name={_q(f"{name}_v1")},
    features=[{selected}],
    description={_q(f"{len(served)} features of {layout.path.name}.")},
)
"""
