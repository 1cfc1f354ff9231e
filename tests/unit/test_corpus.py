"""The bad-input corpus: every malformed spec gives its expected located error, never a traceback.

Each case runs through the loader (structured fields) and through the CLI entry point (exit code
and output), as users meet it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_spec.cli import main
from mlops_spec.errors import SpecError
from mlops_spec.loader import load_spec
from mlops_spec.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED: dict[str, dict[str, str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text())


@pytest.fixture
def in_corpus(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(CORPUS)
    monkeypatch.delenv("CORPUS_UNSET_VARIABLE", raising=False)
    return Settings(project_root=CORPUS)


def test_base_is_valid_against_the_corpus_data(in_corpus: Settings) -> None:
    """The data-aware cases differ from a valid spec by their one edit only."""
    assert (CORPUS / "data" / "rows.parquet").is_file()
    assert (CORPUS / "feature_repo" / "feature_store.yaml").is_file()
    load_spec(CORPUS / "base.yaml", in_corpus)


def test_corpus_is_complete() -> None:
    cases = {p.stem for p in (CORPUS / "cases").glob("*.yaml")}
    assert cases == set(EXPECTED)
    assert len(cases) >= 40


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_gives_expected_issue(case: str, in_corpus: Settings) -> None:
    expected = EXPECTED[case]
    with pytest.raises(SpecError) as caught:
        load_spec(Path("cases") / f"{case}.yaml", in_corpus)
    first = caught.value.issues[0]
    assert f"{first.file}:{first.line}" == expected["at"]
    assert first.key_path == expected["key"]
    assert expected["says"] in first.message
    if "hint" in expected:
        assert expected["hint"] in (first.hint or "")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_through_cli(
    case: str, in_corpus: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", f"cases/{case}.yaml"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert err.startswith(EXPECTED[case]["at"] + ":")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ten_megabyte_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.yaml", b"description: " + b"x" * (10 * 1024 * 1024) + b"\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, Settings(project_root=tmp_path))
    assert "10.5 MB" in caught.value.issues[0].message
    assert caught.value.issues[0].line == 1


@pytest.mark.parametrize(
    "text",
    ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 200))],
    ids=["deep-flow-lists", "deep-block-maps"],
)
def test_deeply_nested_input(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "deep.yaml", text.encode())
    with pytest.raises(SpecError) as caught:
        load_spec(path, Settings(project_root=tmp_path))
    assert "nested" in caught.value.issues[0].message


def test_binary_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "binary.yaml", bytes(range(256)))
    with pytest.raises(SpecError) as caught:
        load_spec(path, Settings(project_root=tmp_path))
    assert "UTF-8" in caught.value.issues[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "nope.yaml", Settings(project_root=tmp_path))
    assert "not found" in caught.value.issues[0].message


def test_whole_corpus_in_a_real_process() -> None:
    """One cold CLI process over every case: all reported, exit 1, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "mlops_spec.cli", "validate", "cases"],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(CORPUS)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    for case, expected in EXPECTED.items():
        assert expected["at"] in result.stderr, case
    assert f"{len(EXPECTED)} of {len(EXPECTED)} specs invalid" in result.stderr
