"""Safe YAML with source positions.

PyYAML's composer gives a node tree with marks; we build plain Python values from it ourselves,
so every key path keeps the line and column it came from, duplicate keys are caught (PyYAML
silently keeps the last one), and no tag outside plain YAML data can construct anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlops_spec.secrets import has_url_password, is_connection_setting, looks_secret

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 50_000

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    file: str
    line: int
    col: int


@dataclass
class YamlProblem:
    position: Position
    path: Path_
    message: str
    hint: str | None = None


@dataclass
class ParsedYaml:
    """Plain data plus where each key path was written, and any problems met while reading."""

    data: Any
    positions: dict[Path_, Position] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)


def parse_yaml(text: str, file: str, env: dict[str, str] | None = None) -> ParsedYaml:
    """Parse one YAML document safely, interpolating ``${VAR}`` and ``${VAR:-default}``."""
    env = dict(os.environ) if env is None else env
    result = ParsedYaml(data=None)
    root = _compose(text, file)
    if isinstance(root, YamlProblem):
        result.problems.append(root)
        return result
    builder = _Builder(file, env, result)
    result.data = builder.build(root, (), 0)
    return result


def _compose(text: str, file: str) -> Node | YamlProblem:
    """PyYAML's node tree, or the one problem that stops reading: every way the text can fail
    to be a document ends as a located problem, never as PyYAML's exception."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        size_mb = len(text.encode("utf-8", errors="replace")) / 1e6
        return YamlProblem(
            Position(file, 1, 1),
            (),
            f"file is {size_mb:.1f} MB; a spec may be at most 1 MB",
            "a spec describes a pipeline; keep data in data files",
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return _syntax_problem(exc, file)
    except yaml.reader.ReaderError as exc:  # a control character: locate it in the text
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        return YamlProblem(
            Position(file, line, col),
            (),
            f"invalid YAML: control character {exc.character!r} is not allowed",
            "remove it, or write it as an escape inside double quotes",
        )
    except yaml.YAMLError as exc:
        flat = " ".join(str(exc).split())
        return YamlProblem(Position(file, 1, 1), (), f"invalid YAML: {flat}")
    except RecursionError:
        return YamlProblem(
            Position(file, 1, 1),
            (),
            "the document is nested too deeply to read",
            f"a spec needs at most {MAX_DEPTH} levels",
        )
    if root is None:
        return YamlProblem(
            Position(file, 1, 1), (), "the file is empty", "start from `mlops-spec init NAME`"
        )
    return root


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> YamlProblem:
    """PyYAML's context and problem in one line, at its mark; tabs get the usual fix."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    parts = [part for part in (exc.context, exc.problem) if part]
    message = "invalid YAML: " + ", ".join(parts)
    hint = "indent with spaces, not tabs" if "\\t" in str(exc) or "\t" in str(exc.problem) else None
    return YamlProblem(Position(file, line, col), (), message, hint)


class _Builder:
    def __init__(self, file: str, env: dict[str, str], out: ParsedYaml) -> None:
        self.file = file
        self.env = env
        self.out = out
        self.constructor = SafeConstructor()
        self.nodes = 0

    def _pos(self, node: Node) -> Position:
        return Position(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: Node, path: Path_, message: str, hint: str | None = None) -> None:
        self.out.problems.append(YamlProblem(self._pos(node), path, message, hint))

    def build(self, node: Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self._problem(
                    node,
                    (),
                    f"the document expands to more than {MAX_NODES} values",
                    "remove repeated anchors/aliases",
                )
            return None
        if depth > MAX_DEPTH:
            self._problem(
                node,
                path,
                f"nested more than {MAX_DEPTH} levels deep",
                "a spec needs only a few levels",
            )
            return None
        self.out.positions.setdefault(path, self._pos(node))
        if node.tag not in _PLAIN_TAGS:
            self._problem(
                node,
                path,
                f"YAML tag '{node.tag}' is not allowed",
                "specs are plain data: remove the tag",
            )
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(
                    key_node,
                    path,
                    "YAML merge keys (<<) are not supported",
                    "share settings through governance.policy instead",
                )
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self._problem(key_node, path, "mapping keys must be plain strings")
                continue
            try:
                # YAML 1.1 reads a plain `on:`, `yes:` or `off:` key as a boolean; a key is a
                # name (a fairness rule's `on:` list), so it keeps its text
                key = (
                    key_node.value
                    if key_node.tag == "tag:yaml.org,2002:bool"
                    else str(self.constructor.construct_object(key_node))
                )
            except (yaml.YAMLError, ValueError, OverflowError, TypeError) as exc:
                self._problem(key_node, path, f"cannot read key: {exc}")  # e.g. `!!int x:`
                continue
            key_path = (*path, key)
            if key in mapping:
                first = self.out.positions.get(key_path)
                where = f" (first at line {first.line})" if first else ""
                self._problem(
                    key_node, key_path, f"duplicate key '{key}'{where}", "keep one of them"
                )
                continue
            self.out.positions[key_path] = self._pos(key_node)
            mapping[key] = self.build(value_node, key_path, depth + 1)
        return mapping

    def _scalar(self, node: ScalarNode, path: Path_) -> Any:
        if node.tag != "tag:yaml.org,2002:str" or "$" not in node.value:
            try:
                return self.constructor.construct_object(node)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                self._problem(node, path, f"cannot read value: {exc}")
                return None
        missing: list[str] = []
        refused: list[tuple[str, str]] = []

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            reason = _refusal(name)
            if reason is not None:
                refused.append((name, reason))
                return ""
            value = self.env.get(name, default)
            if value is None:
                missing.append(name)
                return ""
            if has_url_password(value):
                refused.append((name, "holds a URL with a password"))
                return ""
            return value

        text = _ENV_REF.sub(substitute, node.value)
        for name, reason in refused:
            self._problem(
                node,
                path,
                f"'${{{name}}}' {reason}, and a spec is committed configuration",
                "keep secrets out of specs: pass connection secrets as MLOPS_SPEC_* settings "
                "or prefect-secret:<block> references",
            )
        for name in missing:
            self._problem(
                node,
                path,
                f"environment variable '{name}' is not set",
                f"export {name}=... or write ${{{name}:-default}}",
            )
        if node.style is None:  # plain scalars get YAML's usual typing after interpolation
            try:
                typed = yaml.safe_load(text) if text.strip() else None
            except (yaml.YAMLError, ValueError, OverflowError, RecursionError):
                return text  # not a YAML scalar after all (e.g. an impossible date): a string
            if typed is None or isinstance(typed, bool | int | float):
                return typed
        return text


def _refusal(name: str) -> str | None:
    """Why ``${name}`` may not appear in a spec at all, whatever its value."""
    if looks_secret(name):
        return "looks like a credential"
    if is_connection_setting(name):
        return "is a connection setting of mlops-spec (the runtime reads it itself)"
    return None
