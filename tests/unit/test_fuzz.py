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

Example counts: 150 per test by default (the file runs in well under a minute on two cores);
`MLOPS_FUZZ_EXAMPLES=10000` selects the nightly profile with that many examples per test.
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

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from mlops_spec.cli import main
from mlops_spec.errors import SpecError, SpecIssue
from mlops_spec.loader import load_spec
from mlops_spec.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SPEC_NAMES = ("penguins", "adult_income", "flight_delays")
SPEC_TEXTS = {name: (ROOT / "specs" / f"{name}.yaml").read_text() for name in SPEC_NAMES}
SPECS: dict[str, Any] = {name: yaml.safe_load(text) for name, text in SPEC_TEXTS.items()}
UNSET = "MLOPS_FUZZ_NEVER_SET"
MARKER = "@MARKER@"
SUMMARY = re.compile(r"^1 of 1 specs invalid \((\d+) issues\)$")
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")

# Hypothesis keeps a cache (.hypothesis/) in the working directory; keep it out of the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mlops-spec-hypothesis")
settings.register_profile(
    "mlops-fuzz",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    print_blob=True,
    # the explain phase re-runs every failing example under a tracer: minutes for no news here
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "mlops-fuzz-nightly",
    parent=settings.get_profile("mlops-fuzz"),
    max_examples=int(os.environ.get("MLOPS_FUZZ_EXAMPLES") or 150),
)
FUZZ = settings.get_profile(
    "mlops-fuzz-nightly" if os.environ.get("MLOPS_FUZZ_EXAMPLES") else "mlops-fuzz"
)

# Tags that would run code (or name Python objects) under an unsafe loader; MARKER becomes the
# path of a file the payload would create.
EXEC_PAYLOADS = (
    '!!python/object/apply:os.system ["touch @MARKER@"]',
    '!!python/object/apply:subprocess.call [["touch", "@MARKER@"]]',
    "!!python/object/apply:builtins.exec [\"open('@MARKER@', 'w').close()\"]",
    '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch @MARKER@"]',
)
OTHER_PAYLOADS = (
    '!python/object/apply:os.system ["touch @MARKER@"]',
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:collections.OrderedDict {a: 1}",
    '!!python/object/new:subprocess.Popen [["touch", "@MARKER@"]]',
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom value",
)
PAYLOADS = EXEC_PAYLOADS + OTHER_PAYLOADS

# ---------------------------------------------------------------------------------------------
# values


YAML_WORDS = (
    "~",
    "null",
    "Null",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    ".inf",
    "-.inf",
    ".NaN",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1e400",
    "-1e-400",
    "2001-12-14",
    "2001-13-45",
    "2001-02-30",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 99:99:99",
    "12:30:45",
    "190:20:30",
    "-0",
    "+1",
    "!!str",
    "!!int x",
    "&a",
    "*a",
    "<<",
    "? x",
    "- x",
    "{a: 1}",
    "[1, 2",
    "'",
    '"',
    "#",
    "%",
    "@",
    "`",
    "|",
    ">",
    "\\",
    "",
)
PATH_WORDS = (
    "../../etc/passwd",
    "/etc/passwd",
    "~/secrets",
    "C:\\Windows\\system32",
    "specs/../../outside",
    "./specs/../policies/default.yaml",
    "policies/default.yaml",
    "specs/adult_income.yaml",
    "specs/penguins.yaml",
    "README.md",
    "prefect.yaml",
    "pyproject.toml",
    "schema/mlops-spec.schema.json",
    "specs",
    "feature_repo",
    ".",
    "a\x00b",
    "file:///etc/passwd",
    "http://127.0.0.1:1/x",
)
ODD_TEXT = (
    " ",
    "\t",
    "\n",
    "\r\n",
    "a\nb",
    "\x00",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\u202e",
    "é",
    "😀",
    "\U0001d518\U0001d52b\U0001d526",  # mathematical letters
    "!!python/object",
    "!!python/object/apply:os.system",
    "$",
    "$$",
    "${",
    "${}",
    "${1BAD}",
    "${" + UNSET,
)

# YAML text that is deeply nested once parsed (flow or block style)
DEEP_TEXT = st.builds(
    lambda token, n: token * n,
    st.sampled_from(("[", "{a: ", "- ", "[{a: ")),
    st.integers(30, 600),
)
ENV_NAMES = st.sampled_from((UNSET, UNSET, UNSET, "HOME", "MLOPS_SPEC_DATA_DIR", "1BAD", "", "A B"))
# an interpolated plain scalar is re-read as YAML, so defaults are YAML-ish snippets
ENV_DEFAULTS = st.one_of(
    st.sampled_from(YAML_WORDS),
    st.sampled_from(PATH_WORDS),
    st.text(max_size=20),
    DEEP_TEXT,
)
ENV_REFS = st.builds(
    lambda name, default, before, after: f"{before}${{{name}{default}}}{after}",
    ENV_NAMES,
    st.just("") | ENV_DEFAULTS.map(lambda d: f":-{d}"),
    st.sampled_from(("", "x", "data/", "$$")),
    st.sampled_from(("", "/x.parquet", "}", "$$")),
)
NUMBERS = st.one_of(
    st.sampled_from((0, -1, 1, -(2**63), 2**63, 2**64, 10**100, -(10**100))),
    st.integers(),
    st.sampled_from((0.0, -0.0, 1e-300, -1.5, 1e308, math.nan, math.inf, -math.inf)),
    st.floats(),
)
LONG_STRINGS = st.builds(
    lambda word, n: word * n,
    st.sampled_from(("x", "é", "😀 ", "- ", "a/", "../")),
    st.integers(100, 5000),
)
# big but under the 1 MB file limit (dumping is slow; RAW_INPUTS covers files over it)
HUGE_STRINGS = st.builds(lambda n: "x" * n, st.integers(10_000, 200_000))
STRINGS = st.one_of(
    st.sampled_from(YAML_WORDS + PATH_WORDS + ODD_TEXT),
    ENV_REFS,
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    LONG_STRINGS,
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)
KEYS = st.one_of(
    st.sampled_from(("unknown", "extra", "nme", "metdata", "<<", "", " ", "$ref", "__class__")),
    st.sampled_from(("apiVersion", "kind", "metadata", "data", "features", "model", "tuning")),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
# flat, so each family gets a fair share of the examples
SMALL_WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.sampled_from(YAML_WORDS + PATH_WORDS + ODD_TEXT),
    ENV_REFS,
    st.text(),
    LONG_STRINGS,
    NESTED,
)
WRONG_VALUES = SMALL_WRONG_VALUES | HUGE_STRINGS

# ---------------------------------------------------------------------------------------------
# documents

DocPath = tuple[Any, ...]


def node_paths(node: Any, prefix: DocPath = ()) -> list[DocPath]:
    """Every node of a document as a key path, the root first."""
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths.extend(node_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths.extend(node_paths(value, (*prefix, index)))
    return paths


def get_at(doc: Any, path: DocPath) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def set_at(doc: Any, path: DocPath, value: Any) -> Any:
    """Set ``value`` at ``path``; a path an earlier edit of the same example replaced (a
    "spread" over nested targets) no longer exists, and is left alone."""
    if not path:
        return value
    with contextlib.suppress(KeyError, IndexError, TypeError):
        get_at(doc, path[:-1])[path[-1]] = value
    return doc


def delete_at(doc: Any, path: DocPath) -> Any:
    if not path:
        return None
    del get_at(doc, path[:-1])[path[-1]]
    return doc


@dataclass
class Case:
    """One fuzz input: what to write, and what was done to get it (shown on failure)."""

    text: str | bytes
    story: list[str]
    must_reject_tag: bool = False


def dump(draw: st.DrawFn, doc: Any, *, splice: bool = False) -> str:
    """YAML in a random style; `splice` keeps placeholders plain so a payload can replace them."""
    return yaml.safe_dump(
        doc,
        sort_keys=False,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from((False, True, None))),
        width=draw(st.sampled_from((80, 20, 1_000_000))),
        explicit_start=draw(st.booleans()),
        canonical=not splice and draw(st.sampled_from((False, False, False, True))),
    )


def leaf_paths(doc: Any) -> list[DocPath]:
    return [path for path in node_paths(doc) if not isinstance(get_at(doc, path), dict | list)]


@st.composite
def mutated_specs(draw: st.DrawFn) -> Case:
    """A real spec with one to eight random edits at random places.

    Several edits per example cover more of the spec per example: a crash in one field is not
    masked by a clean rejection of another, since validation reports every field at once.
    """
    name = draw(st.sampled_from(SPEC_NAMES))
    doc = copy.deepcopy(SPECS[name])
    story = [f"start from specs/{name}.yaml"]
    payloads: list[str] = []
    ops = ("replace", "replace", "replace", "spread", "env", "delete", "add", "copy", "tag")
    for _ in range(draw(st.integers(1, 8))):
        leaves = leaf_paths(doc) or node_paths(doc)
        path = draw(st.sampled_from(leaves) | st.sampled_from(node_paths(doc)))
        op = draw(st.sampled_from(ops))
        if op == "replace":
            value = draw(WRONG_VALUES)
            doc = set_at(doc, path, value)
            story.append(f"set {list(path)} = {shown(value)}")
        elif op == "spread":  # one wrong value into several leaves
            value = draw(SMALL_WRONG_VALUES)
            step = draw(st.integers(1, 12))
            targets = leaves[draw(st.integers(0, step - 1)) :: step] or leaves[:1]
            for target in targets:
                doc = set_at(doc, target, copy.deepcopy(value))
            story.append(f"set {[list(t) for t in targets]} = {shown(value)}")
        elif op == "env":  # interpolation of what the user may well write
            value = f"${{{draw(ENV_NAMES)}:-{draw(ENV_DEFAULTS)}}}"
            doc = set_at(doc, path, value)
            story.append(f"set {list(path)} = {shown(value)}")
        elif op == "delete":
            doc = delete_at(doc, path)
            story.append(f"delete {list(path)}")
        elif op == "add":
            target = get_at(doc, path)
            value = draw(SCALARS | NESTED)
            if isinstance(target, dict):
                key = draw(KEYS | st.sampled_from([f"{k}x" for k in target] or ["x"]))
                target[key] = value
                story.append(f"add {list(path)}[{key!r}] = {shown(value)}")
            elif isinstance(target, list):
                target.append(value)
                story.append(f"append {shown(value)} to {list(path)}")
            else:
                key = draw(KEYS)
                doc = set_at(doc, path, {key: value})
                story.append(f"set {list(path)} = {{{key!r}: {shown(value)}}}")
        elif op == "copy":
            source = draw(st.sampled_from(node_paths(doc)))
            doc = set_at(doc, path, copy.deepcopy(get_at(doc, source)))
            story.append(f"copy {list(source)} over {list(path)}")
        else:
            payload = draw(st.sampled_from(PAYLOADS))
            placeholder = f"FUZZPAYLOAD{len(payloads)}X"
            payloads.append(payload)
            doc = set_at(doc, path, placeholder)
            story.append(f"set {list(path)} = {payload}")
    text = dump(draw, doc, splice=bool(payloads))
    tagged = False
    for index, payload in enumerate(payloads):
        placeholder = f"FUZZPAYLOAD{index}X"
        if placeholder in text:  # a later edit may have deleted or overwritten it
            tagged = True
            text = text.replace(placeholder, payload)
    return Case(text, story, must_reject_tag=tagged)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 200 else f"{text[:60]}...<{len(text)} chars>"


@st.composite
def tagged_specs(draw: st.DrawFn) -> Case:
    """A real spec with a Python (or other non-plain) tag as a value or a key somewhere."""
    name = draw(st.sampled_from(SPEC_NAMES))
    doc = copy.deepcopy(SPECS[name])
    path = draw(st.sampled_from(node_paths(doc)[1:]))
    payload = draw(st.sampled_from(PAYLOADS))
    as_key = draw(st.booleans())
    doc = set_at(doc, path, {"FUZZPAYLOADKEYX": 1} if as_key else "FUZZPAYLOADX")
    if as_key:  # an explicit key (`? key`) is simplest to splice into flow style
        flow = yaml.safe_dump(doc, sort_keys=False, default_flow_style=True)
        text = flow.replace("FUZZPAYLOADKEYX", f"? {payload}")
    else:
        text = dump(draw, doc, splice=True).replace("FUZZPAYLOADX", payload)
    where = "key" if as_key else "value"
    return Case(text, [f"specs/{name}.yaml: {payload} as the {where} at {list(path)}"], True)


@st.composite
def random_documents(draw: st.DrawFn) -> Case:
    """Random nested data dumped as YAML, often shaped like a spec at the top level."""
    top = st.dictionaries(
        st.sampled_from((*SPECS["penguins"], "monitoring", "serving")) | KEYS,
        NESTED,
        max_size=12,
    )
    doc = draw(st.one_of(NESTED, top))
    if isinstance(doc, dict) and draw(st.booleans()):
        doc = {"apiVersion": "mlops-spec/v1", "kind": "TrainingPipeline", **doc}
    return Case(dump(draw, doc), [f"dump of {doc!r}"[:2000]])


SOUP_TOKENS = (
    "\n",
    "\n",
    " ",
    "  ",
    "    ",
    "\t",
    ":",
    ": ",
    "- ",
    "-",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "*missing",
    "<<: ",
    "<<: *a",
    "%YAML 1.1\n",
    "%YAML 9.9\n",
    "%TAG !py! tag:yaml.org,2002:python/\n",
    '!py!object/apply:os.system ["touch @MARKER@"]',
    "---\n",
    "--- ",
    "...\n",
    "# comment\n",
    "'",
    '"',
    '"\\0"',
    '"\\x00"',
    '"\\ud800"',
    "|\n",
    ">-\n",
    "\\",
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "data",
    "model",
    "TrainingPipeline",
    "mlops-spec/v1",
    "${",
    "}",
    "$$",
    "${" + UNSET + "}",
    "${HOME}",
    "${" + UNSET + ":-",
    "\r",
    "\r\n",
    "\x85",
    "\u2028",
    "\ufeff",
    "\x00",
    "\x07",
    "é",
    "😀",
    *YAML_WORDS,
    *PAYLOADS,
)
SOUP = st.lists(st.sampled_from(SOUP_TOKENS) | st.text(max_size=4), max_size=60).map("".join)


@st.composite
def spliced_specs(draw: st.DrawFn) -> Case:
    """The real spec text with lines deleted, duplicated, re-indented or spliced with soup."""
    name = draw(st.sampled_from(SPEC_NAMES))
    lines = SPEC_TEXTS[name].splitlines(keepends=True)
    story = [f"start from the text of specs/{name}.yaml"]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1)) if lines else 0
        op = draw(st.sampled_from(("delete", "duplicate", "indent", "tab", "insert", "splice")))
        if not lines:
            op = "insert"
        if op == "delete":
            del lines[at]
        elif op == "duplicate":
            lines.insert(at, lines[at])
        elif op == "indent":
            lines[at] = draw(st.sampled_from((" ", "   ", ""))) + lines[at].lstrip(" ")
        elif op == "tab":
            lines[at] = "\t" + lines[at]
        elif op == "insert":
            lines.insert(at, draw(SOUP) + "\n")
        else:
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(SOUP) + line[cut:]
        story.append(f"{op} at line {at + 1}")
    return Case("".join(lines), story)


RAW_INPUTS = st.one_of(
    SOUP.map(lambda text: Case(text, ["token soup"])),
    st.text().map(lambda text: Case(text, ["random text"])),
    st.binary().map(lambda data: Case(data, ["random bytes"])),
    st.builds(
        lambda head, tail: Case(head.encode() + tail, ["text then bytes"]),
        SOUP,
        st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf")),
    ),
    st.builds(
        lambda deep, tail: Case(deep + tail, ["deep nesting"]),
        DEEP_TEXT,
        st.sampled_from(("", "x", "]" * 600, "}" * 600)),
    ),
    st.builds(
        lambda n, fill: Case(f"apiVersion: {fill * n}\n", [f"{n} x {fill!r} in one value"]),
        st.sampled_from((1_048_576, 1_048_577, 2_000_000)),
        st.sampled_from(("x", "é")),
    ),
    st.builds(
        lambda n: Case("a: &a [x, x]\nb: &b [*a, *a]\n" + "x: *b\n" * n, ["aliases"]),
        st.integers(1, 50),
    ),
)

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
}


@pytest.mark.parametrize("case", FOUND.values(), ids=FOUND.keys())
def test_known_bad_inputs(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "- " * 5000 + "x", "{a: " * 5000])
def test_deep_nesting(text: str) -> None:
    """Too deep for the parser's recursion: a clean issue (kept out of the fuzzers: ~1 s each)."""
    check(Case(text, [f"{text[:8]}... ({len(text)} chars)"]))
