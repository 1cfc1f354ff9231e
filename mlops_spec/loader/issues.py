"""Turn pydantic's validation errors into located SpecIssues with hints.

pydantic reports locations as tuples that may include union tags ("champion", "float"); we walk
the actual data along the location, skipping anything that is not a real key, so the issue points
at the line the user wrote. Unknown keys get a "did you mean" drawn from the model's own fields.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_spec.errors import SpecIssue
from mlops_spec.loader.yaml_tree import Path_, Position
from mlops_spec.spec.names import closest, did_you_mean, odd_character, skeleton


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
    items = error.errors(include_url=False)
    lookalikes = _lookalike_keys(items, data)
    issues: list[SpecIssue] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        loc = tuple(item["loc"])
        path = data_path(data, loc)
        if item["type"] == "missing" and (path, str(loc[-1])) in lookalikes:
            continue  # reported as the look-alike key the user did write
        pos = position_of(path, positions, fallback)
        key, message, hint = _describe(item, loc, path, root)
        if item["type"] == "string_pattern_mismatch":
            hint = _PATTERN_HINTS.get(key.rsplit(".", 1)[-1])
        marker = (key, message)
        if marker in seen:
            continue
        seen.add(marker)
        issues.append(SpecIssue(pos.file, pos.line, pos.col, key, message, hint))
    return sorted(issues, key=lambda issue: (issue.file, issue.line, issue.col))


def _lookalike_keys(items: list[Any], data: Any) -> set[tuple[Path_, str]]:
    """(parent path, real key) for each unknown key that only looks like a real one.

    A key written ``m\u043edel`` is both unknown and, as far as pydantic knows, leaves
    ``model`` missing; the second report would send the user looking for a key that is there.
    """
    written: set[tuple[Path_, str]] = set()
    for item in items:
        if item["type"] == "extra_forbidden":
            name = str(item["loc"][-1])
            path = data_path(data, tuple(item["loc"]))
            parent = path[:-1] if path and path[-1] == name else path
            if odd_character(name) is not None:
                written.add((parent, skeleton(name)))
    return written


def _describe(
    item: Any, loc: tuple[Any, ...], path: Path_, root: type[BaseModel]
) -> tuple[str, str, str | None]:
    """Key path, message and hint of one pydantic error, in the spec's own words."""
    kind = item["type"]
    hint: str | None
    if kind == "missing":
        missing = str(loc[-1])
        hint = f"add `{missing}:` under {render_path(path) or 'the top level'}"
        return render_path((*path, missing)), f"required key '{missing}' is missing", hint
    if kind == "extra_forbidden":
        key_name = str(loc[-1])
        parent = path[:-1] if path and path[-1] == key_name else path
        choices = allowed_keys(root, parent)
        hint = did_you_mean(key_name, choices, what="key") or (
            "allowed keys: " + ", ".join(choices) if choices else None
        )
        return render_path(path), f"unknown key '{key_name}'", hint
    message = str(item["msg"]).removeprefix("Value error, ")
    hint = None
    if kind == "finite_number":
        hint = "a bound of .nan compares false with everything, and one of .inf always passes"
    if kind == "literal_error" and "expected" in item.get("ctx", {}):
        options = [s.strip("'") for s in str(item["ctx"]["expected"]).split(" or ")]
        close = closest(str(item.get("input")), options)
        hint = f"did you mean {close}?" if close else None
    elif kind == "enum" and "expected" in item.get("ctx", {}):
        options = [
            s.strip().strip("'")
            for s in str(item["ctx"]["expected"]).replace(" or ", ", ").split(",")
        ]
        close = closest(str(item.get("input")), options)
        hint = f"did you mean '{close}'?" if close else None
    return render_path(path), message, hint
