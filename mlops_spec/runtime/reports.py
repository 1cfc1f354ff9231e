"""Prefect artifacts for the reports people read in the UI: markdown summaries and tables.

The Prefect UI renders every string cell of a table artifact as markdown, so a gate bound
``>= 0.85`` would show as a blockquote reading "= 0.85", and its table cells do not wrap (a
long cell is cut with an ellipsis). So string cells are escaped (:func:`escape`) and cut at
``CELL_CHARS``; a table with a cut cell is also published whole as a markdown artifact (key
``<key>-full``), whose tables wrap. Floats keep six significant digits, so a log-scale tuning
value such as ``3.2e-07`` is not rounded to 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

CELL_CHARS = 60
SIGNIFICANT_DIGITS = 6

# Characters that start or end markdown syntax anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#&!])")
# Block syntax at the start of a cell (quotes and headings are escaped as inline characters):
# a list item or rule (``-``, ``+``, ``=``) and an ordered list item (``1.``, ``2)``).
_BLOCK_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def key(spec_name: str, report: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{spec_name}-{report}".lower()).strip("-")[:100]


def markdown(spec_name: str, report: str, text: str, description: str) -> None:
    create_markdown_artifact(key=key(spec_name, report), markdown=text, description=description)


def table(spec_name: str, report: str, rows: Sequence[dict[str, Any]], description: str) -> None:
    """A table artifact of ``rows``; when a cell is too long for the UI's table, the whole
    table also goes into a markdown artifact (``<key>-full``) and the description says so."""
    cells = [{k: table_cell(v) for k, v in row.items()} for row in rows]
    cut = any(isinstance(v, str) and len(v) > CELL_CHARS for row in cells for v in row.values())
    if cut:
        full = f"{report}-full"
        markdown(spec_name, full, markdown_table(rows), f"{description} (cells in full)")
        description = f"{description}; long cells are cut here, in full in {key(spec_name, full)}"
        cells = [{k: _shortened(v) for k, v in row.items()} for row in cells]
    table_rows = [{k: escape(v) if isinstance(v, str) else v for k, v in r.items()} for r in cells]
    create_table_artifact(key=key(spec_name, report), table=table_rows, description=description)


def significant(value: float) -> float:
    """``value`` to six significant digits (0.1234567 -> 0.123457, 3.2198765e-07 ->
    3.21988e-07), its whole part never rounded (1234567.8 stays 1234568)."""
    if not math.isfinite(value) or value == 0:
        return value
    whole_digits = max(0, math.floor(math.log10(abs(value))) + 1)  # never round those
    return float(f"{value:.{max(SIGNIFICANT_DIGITS, whole_digits)}g}")


def table_cell(value: Any) -> Any:
    """A JSON value for a table cell: numbers, booleans and None as they are, the rest as text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return significant(value)
    if isinstance(value, str | int):
        return value
    return str(value)


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CELL_CHARS:
        return value[: CELL_CHARS - 1].rstrip() + "…"
    return value


def escape(text: str) -> str:
    """``text`` as markdown that renders as exactly this text, on one line."""
    escaped = _INLINE.sub(r"\\\1", " ".join(text.split()))
    start = _BLOCK_START.match(escaped)
    if start is None:
        return escaped
    if start.group(1).isdigit():  # escape the dot or parenthesis after the number
        end = start.end()
        return f"{escaped[:end]}\\{escaped[end:]}"
    return f"\\{escaped}"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` as a GitHub-flavoured markdown table, every cell escaped."""
    if not rows:
        return "_(none)_\n"
    columns = list(rows[0])
    lines = [
        "| " + " | ".join(escape(str(c)) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = (_markdown_cell(row.get(c)) for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(value: Any) -> str:
    return escape(str(table_cell(value)))
