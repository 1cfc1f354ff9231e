"""No function in mlops_spec/ over 60 lines (issue 16.5): a long function hides the steps a
reader and a test want to name. Counted from the `def` line to the last line, decorators left
out, nested functions and methods included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_spec"
LIMIT = 60

# (module, qualified name). Each entry must still be too long, so the list shrinks as the splits
# land and cannot go stale.
ALLOWED: set[tuple[str, str]] = set()


def _functions(
    node: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            yield name, child
            yield from _functions(child, f"{name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def function_lengths() -> dict[tuple[str, str], int]:
    lengths: dict[tuple[str, str], int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, function in _functions(tree):
            end = function.end_lineno or function.lineno
            lengths[(module, name)] = end - function.lineno + 1
    return lengths


def test_no_function_is_over_the_limit() -> None:
    too_long = {
        key: lines
        for key, lines in function_lengths().items()
        if lines > LIMIT and key not in ALLOWED
    }
    listed = "\n".join(f"{module}: {name} has {n} lines" for (module, name), n in too_long.items())
    assert not too_long, f"functions over {LIMIT} lines; split them:\n{listed}"


def test_every_allowed_function_is_still_over_the_limit() -> None:
    lengths = function_lengths()
    stale = {key: lengths.get(key) for key in ALLOWED if lengths.get(key, 0) <= LIMIT}
    listed = "\n".join(
        f"{module}: {name} " + ("is gone" if n is None else f"has {n} lines")
        for (module, name), n in stale.items()
    )
    assert not stale, f"remove these from ALLOWED, they are split:\n{listed}"


def test_the_counter_sees_methods_nested_functions_and_skips_decorators(tmp_path: Path) -> None:
    source = (
        "import functools\n"  # 1
        "class A:\n"  # 2
        "    @functools.cache\n"  # 3
        "    @staticmethod\n"  # 4
        "    def method() -> None:\n"  # 5
        "        def inner() -> None:\n"  # 6
        "            pass\n"  # 7
        "        inner()\n"  # 8
        "async def top() -> None:\n"  # 9
        "    if True:\n"  # 10
        "        def in_a_block() -> None:\n"  # 11
        "            pass\n"  # 12
    )
    found = {name: (f.end_lineno or 0) - f.lineno + 1 for name, f in _functions(ast.parse(source))}
    assert found == {"A.method": 4, "A.method.inner": 2, "top": 4, "top.in_a_block": 2}
