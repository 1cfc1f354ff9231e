"""The exception tree drawn in ``mlops_spec.errors`` is true and complete: every exception class
the package defines is drawn under its real parent, and every class drawn exists."""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from pathlib import Path

import mlops_spec.errors as errors

PACKAGE = Path(errors.__file__).parent
# Raised and caught inside one module, never reaching a caller: not part of the public tree.
INTERNAL = {
    "mlops_spec.loader.entity_file._NotParquet": "caught by the entity-file check that raises it",
    "mlops_spec.runtime.serving.UnknownEntities": "turned into a 404 by the serving app",
}
_BRANCH = re.compile(r"^(?P<indent>[ │]*)[├└]── (?P<name>[A-Za-z]+)")


def _drawn_tree() -> dict[str, str]:
    """Each drawn class and the class drawn as its parent."""
    doc = errors.__doc__ or ""
    lines = doc.split("::", 1)[1].splitlines()
    parents: dict[str, str] = {}
    stack = ["MlopsSpecError"]
    for line in lines:
        match = _BRANCH.match(line.strip("\n")[4:] if line.startswith("    ") else line)
        if not match:
            continue
        depth = len(match["indent"]) // 4
        del stack[depth + 1 :]
        parents[match["name"]] = stack[depth]
        stack.append(match["name"])
    return parents


_EXCEPTION_NAMES = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
} | {name for name, value in vars(errors).items() if isinstance(value, type)}


def _looks_like_exception(node: ast.ClassDef) -> bool:
    """Bases named like a builtin exception or a class of errors.py (imported only then, so
    the test stays fast: most modules define dataclasses, not exceptions)."""
    names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    return bool(names & _EXCEPTION_NAMES)


def _defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module_name = ".".join(relative.parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        classes = [
            node.name
            for node in tree.body
            if isinstance(node, ast.ClassDef) and _looks_like_exception(node)
        ]
        if not classes:
            continue
        module = importlib.import_module(module_name)
        for name in classes:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found[f"{module_name}.{name}"] = value
    return found


def test_every_drawn_class_exists_under_its_drawn_parent() -> None:
    drawn = _drawn_tree()
    assert len(drawn) >= 10, drawn
    everything = {cls.__name__: cls for cls in _defined_exceptions().values()}
    for name, parent in drawn.items():
        assert name in everything, f"{name} is drawn but not defined"
        assert everything[parent] in everything[name].__bases__, f"{name} is not a {parent}"


def test_every_exception_class_is_drawn_or_internal() -> None:
    drawn = _drawn_tree()
    for qualified, cls in _defined_exceptions().items():
        if cls is errors.MlopsSpecError:
            continue
        if qualified in INTERNAL:
            assert not issubclass(cls, errors.MlopsSpecError), qualified
            continue
        assert cls.__name__ in drawn, f"{qualified} is missing from the tree in errors.py"
        assert issubclass(cls, errors.MlopsSpecError), qualified
