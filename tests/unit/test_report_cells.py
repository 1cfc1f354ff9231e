"""Report cells as the Prefect UI shows them: its table artifact renders every string cell as
markdown, so each cell must render (through a CommonMark renderer) as exactly its own text;
floats keep their significant digits; a long cell is cut in the table and kept in full in a
markdown artifact."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from mlops_spec.runtime import reports

RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def rendered_text(markdown: str) -> str:
    """What a reader sees: the rendered HTML without its tags, one paragraph expected."""
    rendered = RENDERER.render(markdown).strip()
    assert rendered.startswith("<p>") and rendered.endswith("</p>"), rendered
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize(
    "text",
    [
        ">= 0.85",
        ">= 0.8 and <= 0.95",
        "regression <= 0.02",
        "# not a heading",
        "- not a list",
        "+ not a list",
        "1. not a list",
        "2) not a list",
        "---",
        "***",
        "a | b",
        "*not bold* _not italic_",
        "`not code`",
        "[not](a-link)",
        "&amp; stays as typed",
        "<b>not html</b>",
        "~~not struck~~",
        "back\\slash",
        "= 0.85",
    ],
)
def test_escaped_cell_renders_as_its_own_text(text: str) -> None:
    assert rendered_text(reports.escape(text)) == text


def test_escape_keeps_a_cell_on_one_line() -> None:
    assert reports.escape("two\nlines") == "two lines"


def test_markdown_table_cells_render_as_their_text() -> None:
    table = reports.markdown_table([{"gate": "roc_auc", "bound": ">= 0.85 | x"}])
    rendered = RENDERER.render(table)
    assert "<td>&gt;= 0.85 | x</td>" in rendered


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.2198765e-07, 3.21988e-07),  # a log-scale learning rate is not rounded to 0
        (0.123456789, 0.123457),
        (1234567.8, 1234568.0),  # whole digits are never rounded away
        (0.0, 0.0),
        (-0.000123456789, -0.000123457),
    ],
)
def test_floats_keep_six_significant_digits(value: float, expected: float) -> None:
    assert reports.table_cell(value) == expected


def test_long_cells_are_cut_and_published_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    published: dict[str, Any] = {}
    monkeypatch.setattr(reports, "create_table_artifact", lambda **kw: published.update(table=kw))
    monkeypatch.setattr(
        reports, "create_markdown_artifact", lambda **kw: published.update(markdown=kw)
    )
    detail = "challenger 0.9123 vs champion v3 0.9000 on the same test rows (regression -0.0123)"
    reports.table("Credit Model", "governance", [{"bound": ">= 0.85", "detail": detail}], "gates")
    [row] = published["table"]["table"]
    assert row["bound"] == "\\>= 0.85"
    assert len(row["detail"]) == reports.CELL_CHARS and row["detail"].endswith("…")
    assert published["markdown"]["key"] == "credit-model-governance-full"
    assert "credit-model-governance-full" in published["table"]["description"]
    assert detail in RENDERER.render(published["markdown"]["markdown"])


def test_short_tables_have_no_markdown_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[str] = []
    monkeypatch.setattr(reports, "create_table_artifact", lambda **kw: published.append("table"))
    monkeypatch.setattr(
        reports, "create_markdown_artifact", lambda **kw: published.append("markdown")
    )
    reports.table("m", "evaluation", [{"metric": "roc_auc", "value": 0.91}], "metrics")
    assert published == ["table"]
