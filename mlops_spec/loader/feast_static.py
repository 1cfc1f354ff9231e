"""The feature services and views a Feast repo defines, read from its source without Feast.

``feast apply`` imports every ``.py`` file of the repo, and importing Feast alone takes seconds,
too slow for ``validate``. The definitions are plain calls in practice
(``FeatureService(name=..., features=[view, view[["a", "b"]]])``,
``FeatureView(name=..., entities=[...], schema=[Field(name=..., dtype=...)])``,
``Entity(name=..., join_keys=[...])``), so they are read with ``ast``, following module-level
variables and imports between the repo's files. Nothing is executed.

What cannot be read that way (a name built at run time, a view made by a helper from another
package, an on-demand view) makes the result *incomplete* instead of wrong: a caller only
reports a missing service or view when every definition of that kind was read, and only
checks a service's features when each of its views was resolved. No false errors.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

VIEW_CLASSES = frozenset({"FeatureView", "BatchFeatureView", "StreamFeatureView"})
OPAQUE_SYMBOLS = frozenset(
    {"OnDemandFeatureView", "on_demand_feature_view", "stream_feature_view", "batch_feature_view"}
)
_IGNORED = (".git", ".feastignore", ".venv", "**/.ipynb_checkpoints", "**/.pytest_cache")
_MAX_DEPTH = 20
_UNREADABLE = ast.Constant(value=...)  # an argument that may hide in **kwargs


@dataclass(frozen=True)
class ViewDef:
    """A feature view: its features (None: not readable) and join keys (None: not readable)."""

    name: str
    features: tuple[str, ...] | None
    join_keys: tuple[str, ...] | None


@dataclass(frozen=True)
class ServiceDef:
    """A feature service: (view, features) per projection, or None when not readable."""

    name: str
    projections: tuple[tuple[ViewDef, tuple[str, ...]], ...] | None

    @property
    def features(self) -> tuple[str, ...] | None:
        if self.projections is None:
            return None
        return tuple(f for _, names in self.projections for f in names)


@dataclass
class RepoDefinitions:
    views: dict[str, ViewDef] = field(default_factory=dict)
    services: dict[str, ServiceDef] = field(default_factory=dict)
    views_complete: bool = True
    services_complete: bool = True

    def incomplete(self) -> None:
        self.views_complete = self.services_complete = False


@dataclass
class _Module:
    name: str
    tree: ast.Module
    assigns: dict[str, ast.expr] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local -> (module, attr)


def repo_files(repo: Path) -> list[Path]:
    """The files ``feast apply`` imports: every ``.py`` but ``__init__.py``, minus ignores."""
    patterns = [*_IGNORED, "**/__pycache__"]
    ignore_file = repo / ".feastignore"
    if ignore_file.is_file():
        for line in ignore_file.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                patterns.append(line)
    ignored: set[Path] = set()
    for pattern in set(patterns):
        for matched in repo.glob(pattern):
            ignored |= {matched} if matched.is_file() else set(matched.glob("**/*.py"))
    files = {p for p in repo.glob("**/*.py") if p.is_file() and p.name != "__init__.py"}
    return sorted(files - ignored)


def read_definitions(repo: Path) -> RepoDefinitions:
    """The repo's definitions; cached while no file of the repo changes."""
    try:
        files = repo_files(repo)
        stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except (OSError, ValueError):
        broken = RepoDefinitions()
        broken.incomplete()
        return broken
    return _read_cached(repo, stamp)


@lru_cache(maxsize=8)
def _read_cached(repo: Path, stamp: tuple[tuple[str, int, int], ...]) -> RepoDefinitions:
    found = RepoDefinitions()
    modules: dict[str, _Module] = {}
    for path_text, _, _ in stamp:
        path = Path(path_text)
        name = ".".join(path.relative_to(repo).with_suffix("").parts)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            found.incomplete()  # feast apply would fail too; that is not validate's finding
            continue
        modules[name] = _index(name, tree)
    _Reader(modules, found).read_all()
    return found


def _index(name: str, tree: ast.Module) -> _Module:
    """Module-level names: assignments, functions and imports."""
    module = _Module(name, tree)
    package = name.split(".")[:-1]
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    module.assigns[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            module.assigns[node.target.id] = node.value
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module.functions.add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                module.imports[local] = (alias.name if alias.asname else local, "")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            for alias in node.names:
                module.imports[alias.asname or alias.name] = (base, alias.name)
    return module


class _Reader:
    """Resolves expressions across the repo's modules into Feast definitions."""

    def __init__(self, modules: dict[str, _Module], found: RepoDefinitions) -> None:
        self.modules = modules
        self.found = found

    def read_all(self) -> None:
        for module in self.modules.values():
            if self._uses_opaque(module):
                self.found.views_complete = False
            if self._imports_outside_code(module):
                self.found.incomplete()
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call):
                    self._definition(module, node)

    def _definition(self, module: _Module, call: ast.Call) -> None:
        symbol = self.feast_symbol(module, call.func)
        if symbol in VIEW_CLASSES:
            view = self.view_of_call(module, call)
            if view is None:
                self.found.views_complete = False
            else:
                self.found.views.setdefault(view.name, view)
        elif symbol == "FeatureService":
            name = self.string(module, _argument(call, "name", 0))
            if name is None:
                self.found.services_complete = False
                return
            features = _argument(call, "features", 1)
            projections = self.projections(module, features) if features is not None else ()
            self.found.services.setdefault(name, ServiceDef(name, projections))
        elif symbol in OPAQUE_SYMBOLS:
            self.found.views_complete = False

    # --- names -----------------------------------------------------------------------------

    def feast_symbol(self, module: _Module, func: ast.expr) -> str | None:
        """``FeatureView`` for ``FeatureView``, ``FV`` (imported as), ``feast.FeatureView``."""
        if isinstance(func, ast.Name) and func.id in module.imports:
            origin, attr = module.imports[func.id]
            return attr if attr and origin.split(".")[0] == "feast" else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            origin, attr = module.imports.get(func.value.id, ("", ""))
            if not attr and origin.split(".")[0] == "feast":
                return func.attr
        return None

    def _uses_opaque(self, module: _Module) -> bool:
        return any(
            attr in OPAQUE_SYMBOLS and origin.split(".")[0] == "feast"
            for origin, attr in module.imports.values()
        ) or any(
            isinstance(node, ast.Attribute) and node.attr in OPAQUE_SYMBOLS
            for node in ast.walk(module.tree)
        )

    def _imports_outside_code(self, module: _Module) -> bool:
        """An import from a package outside the repo (not Feast, not the standard library) may
        bring in definitions that ``feast apply`` registers but this reader cannot see."""
        local = {m.split(".")[0] for m in self.modules}
        for origin, _ in module.imports.values():
            top = origin.split(".")[0]
            if top and not (top == "feast" or top in sys.stdlib_module_names or top in local):
                return True
        return False

    def resolve(self, module: _Module, expr: ast.expr, depth: int = 0) -> tuple[_Module, ast.expr]:
        """Follow a name to the expression assigned to it, in this module or an imported one."""
        if depth > _MAX_DEPTH or not isinstance(expr, ast.Name):
            return module, expr
        if expr.id in module.assigns:
            return self.resolve(module, module.assigns[expr.id], depth + 1)
        origin, attr = module.imports.get(expr.id, ("", ""))
        other = self.modules.get(origin)
        if attr and other is not None and attr in other.assigns:
            return self.resolve(other, other.assigns[attr], depth + 1)
        return module, expr

    def string(self, module: _Module, expr: ast.expr | None) -> str | None:
        if expr is None:
            return None
        _, value = self.resolve(module, expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        return None

    def items(self, module: _Module, expr: ast.expr) -> tuple[_Module, list[ast.expr]] | None:
        where, value = self.resolve(module, expr)
        if isinstance(value, ast.List | ast.Tuple) and not any(
            isinstance(e, ast.Starred) for e in value.elts
        ):
            return where, list(value.elts)
        return None

    def strings(self, module: _Module, expr: ast.expr) -> tuple[str, ...] | None:
        listed = self.items(module, expr)
        if listed is None:
            return None
        where, elements = listed
        values = [self.string(where, e) for e in elements]
        return None if any(v is None for v in values) else tuple(v for v in values if v)

    # --- definitions -------------------------------------------------------------------------

    def view_of_call(self, module: _Module, call: ast.Call) -> ViewDef | None:
        name = self.string(module, _argument(call, "name", 0))
        if name is None:
            return None
        keys = self.join_keys(module, _argument(call, "entities", None))
        schema = _argument(call, "schema", None)
        fields = None if schema is None else self.field_names(module, schema)
        if fields is not None and keys is not None:
            fields = tuple(f for f in fields if f not in keys)  # Feast's entity columns
        return ViewDef(name, fields, keys)

    def view(self, module: _Module, expr: ast.expr) -> ViewDef | None:
        where, value = self.resolve(module, expr)
        if isinstance(value, ast.Call) and self.feast_symbol(where, value.func) in VIEW_CLASSES:
            return self.view_of_call(where, value)
        return None

    def join_keys(self, module: _Module, expr: ast.expr | None) -> tuple[str, ...] | None:
        if expr is None:
            return ()  # an entityless view
        listed = self.items(module, expr)
        if listed is None:
            return None
        keys: list[str] = []
        for element in listed[1]:
            where, value = self.resolve(listed[0], element)
            if not (
                isinstance(value, ast.Call) and self.feast_symbol(where, value.func) == "Entity"
            ):
                return None
            given = _argument(value, "join_keys", None)
            named = (
                self.strings(where, given)
                if given is not None
                else (self.string(where, _argument(value, "name", 0)),)
            )
            if named is None or None in named:
                return None
            keys.extend(k for k in named if k)
        return tuple(keys)

    def field_names(self, module: _Module, expr: ast.expr) -> tuple[str, ...] | None:
        listed = self.items(module, expr)
        if listed is None:
            return None
        names: list[str] = []
        for element in listed[1]:
            where, value = self.resolve(listed[0], element)
            if not (
                isinstance(value, ast.Call) and self.feast_symbol(where, value.func) == "Field"
            ):
                return None
            name = self.string(where, _argument(value, "name", 0))
            if name is None:
                return None
            names.append(name)
        return tuple(names)

    def projections(
        self, module: _Module, expr: ast.expr
    ) -> tuple[tuple[ViewDef, tuple[str, ...]], ...] | None:
        """``[view, view[["a", "b"]]]`` as (view, selected features); None if any is opaque."""
        listed = self.items(module, expr)
        if listed is None:
            return None
        found: list[tuple[ViewDef, tuple[str, ...]]] = []
        for element in listed[1]:
            where, value = self.resolve(listed[0], element)
            selected: tuple[str, ...] | None = None
            if isinstance(value, ast.Subscript):
                selected = self.strings(where, value.slice)
                if selected is None:
                    return None
                value = value.value
            view = self.view(where, value)
            if view is None or (selected is None and view.features is None):
                return None
            found.append((view, selected if selected is not None else view.features or ()))
        return tuple(found)


def _argument(call: ast.Call, keyword: str, position: int | None) -> ast.expr | None:
    """The argument passed as ``keyword`` (or at ``position``); an unreadable placeholder when
    it may hide in ``**kwargs``."""
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    if any(given.arg is None for given in call.keywords):
        return _UNREADABLE
    if position is not None and len(call.args) > position:
        arg = call.args[position]
        return None if isinstance(arg, ast.Starred) else arg
    return None
