"""Fuzz inputs, part one: the real demo specs, YAML payloads that would run code under an
unsafe loader, and Hypothesis strategies for wrong, hostile and huge values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SPEC_NAMES = ("penguins", "adult_income", "flight_delays")
SPEC_TEXTS = {name: (ROOT / "specs" / f"{name}.yaml").read_text() for name in SPEC_NAMES}
SPECS: dict[str, Any] = {name: yaml.safe_load(text) for name, text in SPEC_TEXTS.items()}
UNSET = "MLOPS_FUZZ_NEVER_SET"
MARKER = "@MARKER@"

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
