"""Prefect artifacts for the reports people read in the UI: markdown summaries and tables."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact


def _key(name: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:100]


def markdown(spec_name: str, report: str, text: str, description: str) -> None:
    create_markdown_artifact(
        key=_key(f"{spec_name}-{report}"), markdown=text, description=description
    )


def table(spec_name: str, report: str, rows: Sequence[dict[str, Any]], description: str) -> None:
    clean = [{k: _cell(v) for k, v in row.items()} for row in rows]
    create_table_artifact(key=_key(f"{spec_name}-{report}"), table=clean, description=description)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "_(none)_\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(_cell(row.get(c))) for c in columns) + " |")
    return "\n".join(lines) + "\n"
