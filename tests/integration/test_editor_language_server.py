"""The spec language as an editor shows it: yaml-language-server (the server behind the YAML
extensions of VS Code, Neovim, Emacs...) over LSP stdio, with the committed schemas that the
files' ``# yaml-language-server: $schema=`` headers name. Shipped specs and policies show no
diagnostic; a spec with a typo'd key, a wrong type and an unknown estimator shows those three,
on their lines."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.language_server import LanguageServer, install

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[LanguageServer]:
    language_server = LanguageServer(install(), ROOT)
    try:
        yield language_server
    finally:
        language_server.close()


@pytest.mark.parametrize(
    "document",
    [*sorted((ROOT / "specs").rglob("*.yaml")), *sorted((ROOT / "policies").glob("*.yaml"))],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_shipped_documents_show_no_diagnostic(server: LanguageServer, document: Path) -> None:
    assert server.diagnostics(document) == []


def test_a_typo_a_wrong_type_and_an_unknown_estimator(
    server: LanguageServer, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "schema", tmp_path / "schema")
    text = (ROOT / "specs" / "penguins.yaml").read_text()
    for right, wrong in (
        ("  timeout: 5m\n", "  timout: 5m\n"),
        ("  n_trials: 15\n", "  n_trials: fifteen\n"),
        (
            "  estimator: sklearn.linear_model.LogisticRegression\n",
            "  estimator: sklearn.linear_model.LogisticRegresion\n",
        ),
    ):
        assert right in text, right
        text = text.replace(right, wrong)
    lines = text.splitlines()
    spec = tmp_path / "specs" / "bad.yaml"
    spec.parent.mkdir()
    spec.write_text(text)

    found = {(d["range"]["start"]["line"], d["message"]) for d in server.diagnostics(spec)}
    by_line = {lines[line].strip().split(":")[0]: message for line, message in found}
    assert set(by_line) == {"timout", "n_trials", "estimator"}, found
    assert by_line["timout"] == "Property timout is not allowed."
    assert by_line["n_trials"] == 'Incorrect type. Expected "integer".'
    assert by_line["estimator"].startswith("Value is not accepted. Valid values:")
    assert '"sklearn.linear_model.LogisticRegression"' in by_line["estimator"]
