"""Fuzz the spec loader and `mlops-spec validate`: bad input is a located SpecError, not a crash.

Two families of input:

* the real demo specs with a few random edits at random places (a value replaced by a
  wrong-typed, out-of-range or hostile one, a key deleted, an unknown key added, a node copied
  over another, a Python object tag spliced in);
* random YAML: random nested data dumped in random styles, token soup built from YAML syntax
  (anchors, aliases, tags, directives, tabs, merge keys), raw text, raw bytes (invalid UTF-8
  included), and the real spec text with lines deleted, duplicated, re-indented or spliced.

Properties, through both `load_spec` and `mlops_spec.cli.main(["validate", path])`:

* nothing but SpecError leaves the loader; the CLI exits 0 (valid) or 1 (invalid), prints no
  traceback and no "internal error", and agrees with the loader;
* every issue names an existing file (the spec or a policy it pulls in) and a line inside it,
  and renders as one line `file:line:col: key: message`;
* no YAML tag ever runs code: payloads that would create a marker file (checked to do so under
  `yaml.unsafe_load`) never create it.

Example counts: 20 per test by default, so the five fuzzers together take a few seconds and
stay inside the fast loop (`make check`); the known bad inputs below are replayed on every run
whatever the count. The nightly size is `MLOPS_FUZZ_EXAMPLES=10000` (any count works), where the
search has room to find new crashes.
Failing examples are not saved (database=None) and Hypothesis' cache lives under the system temp
folder, so the checkout stays clean; hypothesis prints the minimal input and a reproduce blob.
"""

# Found by this file and fixed in the loader (test_known_bad_inputs replays each on every run):
#  1. schedule.timezone: "0" * 256 -> OSError (file name too long) from ZoneInfo().
#  2. governance.policy: "0" * 256 -> OSError from Path.is_file().
#  3. governance.policy: "a\0b" -> ValueError (embedded null byte) from Path.resolve().
#  4. a plain scalar `${UNSET:-2001-13-45}` -> ValueError from typing the interpolated text.
#  5. a plain scalar `${UNSET:-[[[...}` (1000 "[") -> RecursionError from the same.
#  6. a control character such as "\x07" -> a two-line message, always located at 1:1.
#  7. a key written as "\n" -> printed raw, breaking the CLI's one-line-per-issue output.
#  8. a key with a tag its text does not fit (`!!int x: 1`) -> ValueError constructing the key.
#  9. tuning.timeout: a 400-digit integer -> OverflowError converting it to seconds (float).

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir

from mlops_spec.cli import main
from mlops_spec.errors import SpecError, SpecIssue
from mlops_spec.loader import load_spec
from mlops_spec.settings import Settings
from tests.support.fuzz_documents import (
    RAW_INPUTS,
    Case,
    DocPath,
    mutated_specs,
    random_documents,
    set_at,
    shown,
    spliced_specs,
    tagged_specs,
)
from tests.support.fuzz_values import (
    EXEC_PAYLOADS,
    MARKER,
    ROOT,
    SPEC_NAMES,
    SPECS,
    UNSET,
)

SUMMARY = re.compile(r"^1 of 1 specs invalid \((\d+) issues\)$")
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")

# Hypothesis keeps a cache (.hypothesis/) in the working directory; keep it out of the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mlops-spec-hypothesis")
DEFAULT_EXAMPLES = 20
settings.register_profile(
    "mlops-fuzz",
    max_examples=int(os.environ.get("MLOPS_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    print_blob=True,
    # the explain phase re-runs every failing example under a tracer: minutes for no news here
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
FUZZ = settings.get_profile("mlops-fuzz")

# ---------------------------------------------------------------------------------------------
# the properties

# statistics events quote strategy reprs, which are long here; the warning is noise
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@pytest.fixture(scope="module", autouse=True)
def at_project_root() -> Iterator[None]:
    """The CLI reads Settings() from the working directory, as users run it from the project."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        patch.delenv(UNSET, raising=False)
        patch.delenv("MLOPS_SPEC_DEBUG", raising=False)
        yield


def lines_in(file: Path) -> int:
    return len(file.read_bytes().decode("utf-8", errors="replace").splitlines())


def check_issue(issue: SpecIssue, spec_file: Path) -> None:
    """An issue names the spec (or an existing file it pulled in) and a line inside that file."""
    named = Path(issue.file)
    named = named if named.is_absolute() else ROOT / named
    if issue.file != str(spec_file):
        assert named.is_file(), f"{issue.render()!r} names no file"
    assert issue.line >= 1 and issue.col >= 1, issue
    if named.is_file():
        assert issue.line <= lines_in(named) + 1, f"{issue.render()!r} is past the end of the file"
    rendered = issue.render()
    assert rendered.startswith(f"{issue.file}:{issue.line}:{issue.col}: "), rendered
    assert "\n" not in rendered and "\r" not in rendered, f"not one line: {rendered!r}"


def check(case: Case) -> None:
    """Load through the loader and the CLI; both agree, both are clean, nothing runs."""
    with tempfile.TemporaryDirectory(prefix="mlops-fuzz-") as tmp:
        folder = Path(tmp).resolve()
        marker = folder / "marker"
        spec_file = folder / "spec.yaml"
        if isinstance(case.text, bytes):
            spec_file.write_bytes(case.text)
        else:
            spec_file.write_bytes(case.text.replace(MARKER, str(marker)).encode("utf-8"))

        issues: list[SpecIssue] = []
        try:
            loaded = load_spec(spec_file, Settings(project_root=ROOT))
        except SpecError as exc:
            issues = exc.issues
        else:
            assert loaded.display_path == str(spec_file)
        assert not marker.exists(), "a YAML tag ran code through load_spec"

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(spec_file)])
        stdout, stderr = out.getvalue(), err.getvalue()
        assert not marker.exists(), "a YAML tag ran code through the CLI"

    assert "Traceback" not in stdout + stderr
    assert "internal error" not in stderr, stderr
    if not issues:
        assert not case.must_reject_tag, "a spec with a non-plain YAML tag was accepted"
        assert code == 0, stderr
        assert stdout.startswith(f"{spec_file}: ok ("), stdout
        assert stderr == ""
        return
    assert code == 1, (code, stderr)
    for issue in issues:
        check_issue(issue, spec_file)
    *issue_lines, summary = stderr.rstrip("\n").split("\n")
    found = SUMMARY.match(summary)
    assert found is not None and int(found.group(1)) == len(issues), summary
    assert issue_lines == [issue.render() for issue in issues]
    for line in issue_lines:
        assert LOCATED.match(line), line


@FUZZ
@given(mutated_specs())
def test_wrong_values_in_real_specs(case: Case) -> None:
    check(case)


@FUZZ
@given(tagged_specs())
def test_python_tags_never_run(case: Case) -> None:
    check(case)


@FUZZ
@given(random_documents())
def test_random_documents(case: Case) -> None:
    check(case)


@FUZZ
@given(spliced_specs())
def test_spliced_spec_text(case: Case) -> None:
    check(case)


@FUZZ
@given(RAW_INPUTS)
def test_raw_text_and_bytes(case: Case) -> None:
    check(case)


# ---------------------------------------------------------------------------------------------
# the harness can fail


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_untouched_specs_pass_the_harness(name: str) -> None:
    """The real specs, dumped the way the fuzzer dumps them, load and validate cleanly."""
    check(Case(yaml.safe_dump(SPECS[name], sort_keys=False), ["untouched"]))


@pytest.mark.parametrize("payload", EXEC_PAYLOADS)
def test_payloads_would_run_under_an_unsafe_loader(payload: str, tmp_path: Path) -> None:
    """So the marker checks above mean something: the same payload creates the marker."""
    marker = tmp_path / "marker"
    script = (
        "import sys, yaml\n"
        "yaml.unsafe_load(sys.argv[1])\n"  # in a child: the payload may touch global state
    )
    document = "key: " + payload.replace(MARKER, str(marker))
    subprocess.run([sys.executable, "-c", script, document], check=True, capture_output=True)
    assert marker.exists()


# ---------------------------------------------------------------------------------------------
# known bad inputs (see the top of this file), fixed in the loader: replayed on every run


def edited(name: str, path: DocPath, value: Any) -> Case:
    doc = set_at(copy.deepcopy(SPECS[name]), path, value)
    return Case(yaml.safe_dump(doc, sort_keys=False), [f"{name}: {list(path)} = {shown(value)}"])


FOUND = {
    "timezone-name-too-long": edited("penguins", ("schedule", "timezone"), "0" * 256),
    "policy-name-too-long": edited("penguins", ("governance", "policy"), "0" * 256),
    "policy-with-nul": edited("penguins", ("governance", "policy"), "a\x00b"),
    "env-default-bad-date": edited("penguins", ("tuning", "n_trials"), f"${{{UNSET}:-2001-13-45}}"),
    "env-default-deep": edited("penguins", ("tuning", "n_trials"), f"${{{UNSET}:-{'[' * 1000}}}"),
    "control-character": Case("\x07", ["a control character"]),
    "newline-in-key": edited("penguins", ("\n",), None),
    "tagged-key": Case("apiVersion: mlops-spec/v1\n!!int x: 1\n", ["a key tagged !!int"]),
    "duration-int-too-big": edited("penguins", ("tuning", "timeout"), 10**400),
}


@pytest.mark.parametrize("case", FOUND.values(), ids=FOUND.keys())
def test_known_bad_inputs(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "- " * 5000 + "x", "{a: " * 5000])
def test_deep_nesting(text: str) -> None:
    """Too deep for the parser's recursion: a clean issue (kept out of the fuzzers: ~1 s each)."""
    check(Case(text, [f"{text[:8]}... ({len(text)} chars)"]))
