"""Fuzz inputs, part two: Hypothesis strategies for whole documents, the real specs edited at
random places, random YAML, token soup, spliced spec text and raw bytes (the properties they
are checked against are in tests/unit/test_fuzz.py)."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.support.fuzz_values import (
    DEEP_TEXT,
    ENV_DEFAULTS,
    ENV_NAMES,
    KEYS,
    NESTED,
    PAYLOADS,
    SCALARS,
    SMALL_WRONG_VALUES,
    SPEC_NAMES,
    SPEC_TEXTS,
    SPECS,
    UNSET,
    WRONG_VALUES,
    YAML_WORDS,
)

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
