"""Policy files: shared sections a spec builds on, merged under it (the spec wins).

A policy may extend other policies; the chain is followed depth-first and a file met twice on
the way is a cycle, reported as the path that closes it (``a.yaml --> b.yaml --> a.yaml``).
Mappings merge key by key; a list or scalar in the spec replaces the policy's whole value.
"""

from __future__ import annotations

from typing import Any

from mlops_spec.spec.pipeline import POLICY_KEYS

__all__ = ["POLICY_KEYS", "deep_merge", "policy_schema_errors"]


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` wins; mappings merge recursively, everything else is replaced whole."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def policy_schema_errors(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Where a policy's merged sections break the policy JSON Schema, and how.

    A policy is checked with the JSON Schema an editor uses rather than the pydantic models:
    its sections are partial until merged under a spec, and the schema (with nothing
    required) is what says which partial sections are well formed. ``kind`` and
    ``apiVersion`` were checked and taken out by the loader, so they are put back first.
    """
    from jsonschema import Draft202012Validator

    from mlops_spec.schema import policy_schema

    document = {"apiVersion": "mlops-spec/v1", "kind": "Policy", **data}
    found = []
    for error in Draft202012Validator(policy_schema()).iter_errors(document):
        # "not valid under any of the given schemas" (a section that may also be null) says
        # nothing; the branch that came closest says what is wrong inside it
        while error.context:
            error = max(error.context, key=lambda e: len(e.absolute_path))
        found.append((tuple(error.absolute_path), error.message))
    return sorted(found, key=lambda item: [str(part) for part in item[0]])
