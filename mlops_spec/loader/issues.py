"""Turn pydantic's validation errors into located SpecIssues with hints.

pydantic reports locations as tuples that may include union tags ("champion", "float"); we walk
the actual data along the location, skipping anything that is not a real key, so the issue points
at the line the user wrote. Unknown keys get a "did you mean" drawn from the model's own fields.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_spec.errors import SpecIssue
from mlops_spec.loader.yaml_tree import Path_, Position


def data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """The part of a pydantic location that names real keys and indexes in ``data``."""
    path: list[str | int] = []
    current = data
    for part in loc:
        is_key = isinstance(current, dict) and isinstance(part, str) and part in current
        is_index = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if is_key or is_index:
            path.append(part)
            current = current[part]
    return tuple(path)


def position_of(path: Path_, positions: dict[Path_, Position], fallback: Position) -> Position:
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return fallback


def render_path(path: Path_) -> str:
    return ".".join(str(part) for part in path)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every BaseModel class reachable through Optional/Union/Annotated/list/dict/tuple."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, dict):
        args = get_args(annotation)
        if origin is dict:
            args = args[1:]
        found: list[type[BaseModel]] = []
        for arg in args:
            found.extend(_models_in(arg))
        return found
    return []


def allowed_keys(root: type[BaseModel], path: Path_) -> list[str]:
    """Field names (by alias) of the models that can sit at ``path``.

    A path part that is no field name is a user-chosen key of a ``dict[str, Model]`` (such as a
    search-space parameter), so the models stay those of the dict's values.
    """
    models: list[type[BaseModel]] = [root]
    for part in path:
        if isinstance(part, int):
            continue
        next_models = [
            found
            for model in models
            for name, info in model.model_fields.items()
            if part in (name, info.alias)
            for found in _models_in(info.annotation)
        ]
        if next_models:
            models = next_models
    keys = {info.alias or name for model in models for name, info in model.model_fields.items()}
    return sorted(keys)


_PATTERN_HINTS = {
    "name": "use lower-case letters, digits, '-' and '_', like credit-default",
    "owner": "an email address, like risk-ml@example.com",
    "estimator": "a dotted class path, like sklearn.ensemble.HistGradientBoostingClassifier",
    "alias": "lower-case letters, digits, '-' and '_'",
}


def issues_from_validation(
    error: ValidationError,
    *,
    root: type[BaseModel],
    data: Any,
    positions: dict[Path_, Position],
    file: str,
) -> list[SpecIssue]:
    fallback = Position(file, 1, 1)
    issues: list[SpecIssue] = []
    seen: set[tuple[str, str]] = set()
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        path = data_path(data, loc)
        hint: str | None = None
        if kind == "missing":
            missing = str(loc[-1])
            pos = position_of(path, positions, fallback)
            key = render_path((*path, missing))
            message = f"required key '{missing}' is missing"
            hint = f"add `{missing}:` under {render_path(path) or 'the top level'}"
        elif kind == "extra_forbidden":
            key_name = str(loc[-1])
            pos = position_of(path, positions, fallback)
            key = render_path(path)
            message = f"unknown key '{key_name}'"
            parent = path[:-1] if path and path[-1] == key_name else path
            choices = allowed_keys(root, parent)
            close = difflib.get_close_matches(key_name, choices, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else ("allowed keys: " + ", ".join(choices) if choices else None)
            )
        else:
            pos = position_of(path, positions, fallback)
            key = render_path(path)
            message = str(item["msg"]).removeprefix("Value error, ")
            if kind == "literal_error" and "expected" in item.get("ctx", {}):
                close = difflib.get_close_matches(
                    str(item.get("input")),
                    [s.strip("'") for s in str(item["ctx"]["expected"]).split(" or ")],
                    n=1,
                )
                hint = f"did you mean {close[0]}?" if close else None
            elif kind == "enum" and "expected" in item.get("ctx", {}):
                options = [
                    s.strip().strip("'")
                    for s in str(item["ctx"]["expected"]).replace(" or ", ", ").split(",")
                ]
                close = difflib.get_close_matches(str(item.get("input")), options, n=1)
                hint = f"did you mean '{close[0]}'?" if close else None
        if kind == "string_pattern_mismatch":
            hint = _PATTERN_HINTS.get(key.rsplit(".", 1)[-1])
        marker = (key, message)
        if marker in seen:
            continue
        seen.add(marker)
        issues.append(SpecIssue(pos.file, pos.line, pos.col, key, message, hint))
    return sorted(issues, key=lambda issue: (issue.file, issue.line, issue.col))
