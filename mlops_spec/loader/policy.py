"""Policy files: shared sections a spec builds on, merged under it (the spec wins).

A policy may extend other policies; the chain is followed depth-first and a file met twice on
the way is a cycle, reported as the path that closes it (``a.yaml --> b.yaml --> a.yaml``).
Mappings merge key by key; a list or scalar in the spec replaces the policy's whole value.
"""

from __future__ import annotations

from typing import Any

POLICY_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "extends",
        "split",
        "tuning",
        "constraints",
        "governance",
        "monitoring",
        "schedule",
        "serving",
        "model",
    }
)


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` wins; mappings merge recursively, everything else is replaced whole."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override
