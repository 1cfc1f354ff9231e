"""Load a spec file into a validated TrainingPipeline, or fail with every located issue.

This is the only supported way to build a TrainingPipeline from a file: it reads YAML safely
with positions, interpolates the environment, merges policies, validates the models, applies
the cross-section rules and hashes the resolved result for lineage.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlops_spec.errors import SpecError, SpecIssue
from mlops_spec.loader.estimators import lookup_estimator
from mlops_spec.loader.issues import issues_from_validation, position_of, render_path
from mlops_spec.loader.policy import POLICY_KEYS, deep_merge, policy_schema_errors
from mlops_spec.loader.project_checks import audit_problems, project_problems
from mlops_spec.loader.yaml_tree import ParsedYaml, Path_, Position, parse_yaml
from mlops_spec.settings import Settings
from mlops_spec.spec.audit import AUDIT_KIND, FairnessAudit
from mlops_spec.spec.fairness_rules import (
    fairness_rule_problems,
    label_column_problems,
    sensitive_problems,
)
from mlops_spec.spec.names import did_you_mean
from mlops_spec.spec.pipeline import TrainingPipeline
from mlops_spec.spec.rules import Problem, allow_list_problem, semantic_problems


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with what lineage needs: where it came from and a hash of its content."""

    spec: TrainingPipeline
    path: Path
    display_path: str
    root: Path
    content_hash: str
    sources: tuple[str, ...]

    def resolve(self, project_path: str) -> Path:
        """A path written in the spec, as an absolute path under the project root."""
        candidate = Path(project_path)
        return candidate if candidate.is_absolute() else (self.root / candidate).resolve()

    def resolved_document(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json", by_alias=True)


def content_hash(spec: TrainingPipeline | FairnessAudit) -> str:
    canonical = json.dumps(
        spec.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            return str(path)


def _read(path: Path, shown: str, env: dict[str, str]) -> ParsedYaml | SpecIssue:
    here = Position(shown, 1, 1)
    if not path.exists():
        return SpecIssue(shown, 1, 1, "", "file not found", "check the path")
    if not path.is_file():
        return SpecIssue(shown, 1, 1, "", "not a file", "pass a .yaml file or a folder of them")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return SpecIssue(shown, 1, 1, "", f"cannot read file: {exc.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SpecIssue(
            shown, 1, 1, "", f"not UTF-8 text (byte {exc.start})", "save the spec as UTF-8"
        )
    if "\x00" in text:
        return SpecIssue(
            shown, here.line, here.col, "", "the file contains NUL bytes", "a spec is a text file"
        )
    return parse_yaml(text, shown, env)


class _Loading:
    """State of one load: collects issues instead of stopping at the first one."""

    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        self.settings = settings
        self.root = settings.root
        self.env = env
        self.issues: list[SpecIssue] = []
        self.sources: list[str] = []

    def add(self, pos: Position, path: Path_, message: str, hint: str | None = None) -> None:
        self.issues.append(SpecIssue(pos.file, pos.line, pos.col, render_path(path), message, hint))

    def inside_root(self, written: str) -> Path | None:
        """The absolute path, or None when it leaves the root or is no usable path at all."""
        candidate = Path(written)
        try:
            full = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        except (OSError, ValueError):  # an embedded NUL byte, a name too long...
            return None
        if self.settings.allow_paths_outside_root:
            return full
        try:
            full.relative_to(self.root)
        except ValueError:
            return None
        return full

    def document(self, path: Path) -> ParsedYaml | None:
        shown = _display(path, self.root)
        parsed = _read(path, shown, self.env)
        if isinstance(parsed, SpecIssue):
            self.issues.append(parsed)
            return None
        for problem in parsed.problems:
            self.add(problem.position, problem.path, problem.message, problem.hint)
        if parsed.problems:
            return None
        if not isinstance(parsed.data, dict):
            self.add(
                Position(shown, 1, 1),
                (),
                "a spec is a mapping of sections at the top level",
                "start from `mlops-spec init NAME`",
            )
            return None
        self.sources.append(shown)
        return parsed

    def policy(
        self, written: str, where: Position, key: Path_, chain: tuple[Path, ...]
    ) -> tuple[dict[str, Any], dict[Path_, Position]]:
        """Load a policy and what it extends, merged in order; empty on any problem."""
        full = self._policy_file(written, where, key, chain)
        if full is None:
            return {}, {}
        parsed = self.document(full)
        if parsed is None:
            return {}, {}
        data, positions = dict(parsed.data), dict(parsed.positions)
        shown = self.sources[-1]
        self._check_policy_keys(data, positions, shown)
        data.pop("apiVersion", None)
        extends = data.pop("extends", [])
        merged, merged_positions = self._parents(extends, positions, shown, (*chain, full))
        merged = deep_merge(merged, {k: v for k, v in data.items() if k in POLICY_KEYS})
        merged_positions.update({p: pos for p, pos in positions.items() if p and p[0] in data})
        return merged, merged_positions

    def _policy_file(
        self, written: str, where: Position, key: Path_, chain: tuple[Path, ...]
    ) -> Path | None:
        """The policy's absolute path, or None once the reason it cannot be read is recorded:
        outside the project, already on the chain of extends (a cycle), or not a file."""
        full = self.inside_root(written)
        if full is None:
            self.add(
                where,
                key,
                f"policy '{written}' is outside the project root or not a usable path",
                "keep policies inside the project",
            )
            return None
        if full in chain:
            cycle = " --> ".join(_display(p, self.root) for p in (*chain, full))
            self.add(where, key, f"policy cycle: {cycle}", "remove one of the extends")
            return None
        try:
            found = full.is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            self.add(
                where,
                key,
                f"policy file '{written}' not found",
                "check the path; it is relative to the project root",
            )
            return None
        return full

    def _check_policy_keys(
        self, data: dict[str, Any], positions: dict[Path_, Position], shown: str
    ) -> None:
        """A policy holds only what a policy may set, so a typo in one is not silently lost;
        ``kind`` is taken out of ``data`` once checked."""
        for name in data:
            if name not in POLICY_KEYS:
                self.add(
                    positions.get((name,), Position(shown, 1, 1)),
                    (name,),
                    f"unknown key '{name}' in a policy",
                    did_you_mean(name, POLICY_KEYS, what="key")
                    or "a policy holds: " + ", ".join(sorted(POLICY_KEYS)),
                )
        kind = data.pop("kind", "Policy")
        if kind != "Policy":
            self.add(
                positions.get(("kind",), Position(shown, 1, 1)),
                ("kind",),
                f"a policy file must have kind: Policy, not '{kind}'",
            )

    def _parents(
        self, extends: Any, positions: dict[Path_, Position], shown: str, chain: tuple[Path, ...]
    ) -> tuple[dict[str, Any], dict[Path_, Position]]:
        """The policies named by ``extends`` (one path or a list), merged in order, so a later
        parent overrides an earlier one and the policy itself overrides them all."""
        parents = [extends] if isinstance(extends, str) else extends
        merged: dict[str, Any] = {}
        merged_positions: dict[Path_, Position] = {}
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            self.add(
                positions.get(("extends",), Position(shown, 1, 1)),
                ("extends",),
                "extends is a policy path or a list of them",
            )
            parents = []
        for index, parent in enumerate(parents):
            parent_key: Path_ = ("extends",) if isinstance(extends, str) else ("extends", index)
            parent_where = positions.get(parent_key, Position(shown, 1, 1))
            parent_data, parent_positions = self.policy(parent, parent_where, parent_key, chain)
            merged = deep_merge(merged, parent_data)
            merged_positions.update(parent_positions)
        return merged, merged_positions


def load_spec(
    path: str | Path,
    settings: Settings | None = None,
    env: dict[str, str] | None = None,
    *,
    check_data: bool = True,
) -> LoadedSpec:
    """Load and validate one spec; raise SpecError listing every issue found.

    With ``check_data`` (the default, as ``validate`` and ``run`` load) the spec is also
    checked against its entity file and Feast repo when they exist, which reads the entity
    file with pyarrow (and so imports numpy); ``plan`` passes False, reads no data and stays
    light.
    """
    settings = settings or Settings()
    state = _Loading(settings, dict(os.environ) if env is None else env)
    spec_path = Path(path)
    parsed = state.document(spec_path.resolve() if spec_path.exists() else spec_path)
    if parsed is None:
        raise SpecError(state.issues)
    shown = state.sources[0]
    positions = dict(parsed.positions)
    data = _with_policy(state, parsed.data, positions, spec_path.resolve())
    if state.issues:
        raise SpecError(state.issues)
    spec = _validate(data, positions, shown, settings)
    for problem_path, message, hint in _spec_problems(spec, settings, check_data):
        pos = position_of(problem_path, positions, Position(shown, 1, 1))
        state.add(pos, problem_path, message, hint)
    if state.issues:
        raise SpecError(state.issues)
    return LoadedSpec(
        spec=spec,
        path=spec_path.resolve(),
        display_path=shown,
        root=state.root,
        content_hash=content_hash(spec),
        sources=tuple(state.sources),
    )


def validate_file(path: str | Path, settings: Settings | None = None) -> str:
    """What ``validate`` says about one file once it holds: a spec, or a ``kind: Policy``
    file checked as a policy (its keys, what it extends, and the policy JSON Schema), since a
    policy on its own is not a pipeline and must not be judged as one.

    Raises:
        SpecError: every issue found.
    """
    settings = settings or Settings()
    kind = _kind_of(Path(path), settings)
    if kind == "Policy":
        return f"{load_policy(path, settings)}: ok (policy)"
    if kind == AUDIT_KIND:
        audit = load_audit(path, settings)
        return f"{audit.display_path}: ok ({audit.spec.metadata.name}, fairness audit)"
    loaded = load_spec(path, settings)
    return (
        f"{loaded.display_path}: ok ({loaded.spec.metadata.name}, hash {loaded.content_hash[:12]})"
    )


@dataclass(frozen=True)
class LoadedAudit:
    """A validated ``kind: FairnessAudit`` and where it came from."""

    spec: FairnessAudit
    path: Path
    display_path: str
    root: Path

    @property
    def content_hash(self) -> str:
        return content_hash(self.spec)

    def resolve(self, project_path: str) -> Path:
        candidate = Path(project_path)
        return candidate if candidate.is_absolute() else (self.root / candidate).resolve()


def load_audit(path: str | Path, settings: Settings | None = None) -> LoadedAudit:
    """Load and validate a fairness audit (its models, then its columns against the entity
    file when it exists); raise SpecError listing every issue found."""
    settings = settings or Settings()
    state = _Loading(settings, dict(os.environ))
    audit_path = Path(path)
    parsed = state.document(audit_path.resolve() if audit_path.exists() else audit_path)
    if parsed is None:
        raise SpecError(state.issues)
    shown, positions = state.sources[0], dict(parsed.positions)
    context = {"allow_outside_root": settings.allow_paths_outside_root}
    try:
        audit = FairnessAudit.model_validate(parsed.data, context=context)
    except ValidationError as exc:
        raise SpecError(
            issues_from_validation(
                exc, root=FairnessAudit, data=parsed.data, positions=positions, file=shown
            )
        ) from None
    label_check = label_column_problems(audit.data.label)
    found = sensitive_problems(audit.fairness, ("fairness",), label_check)
    found += fairness_rule_problems(audit.fairness, ("fairness",))
    for problem_path, message, hint in found + audit_problems(audit, settings.root):
        state.add(
            position_of(problem_path, positions, Position(shown, 1, 1)), problem_path, message, hint
        )
    if state.issues:
        raise SpecError(state.issues)
    return LoadedAudit(audit, audit_path.resolve(), shown, state.root)


def document_kind(path: str | Path, settings: Settings | None = None) -> Any:
    """The ``kind`` a YAML file declares (None when it cannot be read as a mapping): which
    loader, and which flow, a command hands it to."""
    return _kind_of(Path(path), settings or Settings())


def _kind_of(path: Path, settings: Settings) -> Any:
    parsed = _read(path, _display(path.resolve(), settings.root), dict(os.environ))
    if isinstance(parsed, SpecIssue) or not isinstance(parsed.data, dict):
        return None
    return parsed.data.get("kind")


def load_policy(path: str | Path, settings: Settings | None = None) -> str:
    """Check one policy file (and what it extends) on its own; return its display path."""
    settings = settings or Settings()
    state = _Loading(settings, dict(os.environ))
    full = Path(path).resolve()
    shown = _display(full, state.root)
    data, positions = state.policy(str(full), Position(shown, 1, 1), (), ())
    if not state.issues:
        for error_path, message in policy_schema_errors(data):
            state.add(
                position_of(error_path, positions, Position(shown, 1, 1)), error_path, message
            )
    if state.issues:
        raise SpecError(state.issues)
    return shown


def _with_policy(
    state: _Loading, data: dict[str, Any], positions: dict[Path_, Position], spec_file: Path
) -> dict[str, Any]:
    """The spec merged over its ``governance.policy``, the spec winning; ``positions`` gains
    the policy's positions for keys only the policy sets, so their errors point there."""
    governance = data.get("governance")
    if not (isinstance(governance, dict) and isinstance(governance.get("policy"), str)):
        return data
    key: Path_ = ("governance", "policy")
    policy_data, policy_positions = state.policy(
        governance["policy"],
        positions.get(key, Position(state.sources[0], 1, 1)),
        key,
        (spec_file,),
    )
    for policy_path, pos in policy_positions.items():
        positions.setdefault(policy_path, pos)
    merged: dict[str, Any] = deep_merge(policy_data, data)
    return merged


def _validate(
    data: dict[str, Any], positions: dict[Path_, Position], shown: str, settings: Settings
) -> TrainingPipeline:
    """The pydantic models, with pydantic's errors mapped back onto the YAML positions."""
    context = {
        "allowed_estimators": settings.allowed_estimators,
        "allow_outside_root": settings.allow_paths_outside_root,
    }
    try:
        return TrainingPipeline.model_validate(data, context=context)
    except ValidationError as exc:
        issues = issues_from_validation(
            exc, root=TrainingPipeline, data=data, positions=positions, file=shown
        )
        extra = _raw_estimator_issues(data, positions, shown, issues, settings)
        raise SpecError(issues + extra) from None


def _raw_estimator_issues(
    data: dict[str, Any],
    positions: dict[Path_, Position],
    shown: str,
    found: list[SpecIssue],
    settings: Settings,
) -> list[SpecIssue]:
    """The allow-list check on the written estimator when the models failed elsewhere (the
    other rules need a valid spec), unless the models already faulted that very key."""
    model = data.get("model")
    written = model.get("estimator") if isinstance(model, dict) else None
    if not isinstance(written, str) or any(i.key_path == "model.estimator" for i in found):
        return []
    problem = allow_list_problem(written, settings.allowed_estimators)
    if problem is None:
        return []
    path, message, hint = problem
    where = position_of(path, positions, Position(shown, 1, 1))
    return [SpecIssue(where.file, where.line, where.col, render_path(path), message, hint)]


def _spec_problems(spec: TrainingPipeline, settings: Settings, check_data: bool) -> list[Problem]:
    """The cross-section rules, then the checks against the entity file and the Feast repo.

    Both run here, not in the CLI, so ``validate`` and ``run`` refuse the same specs; the
    data-aware ones are skipped when the data is not there yet, or without ``check_data``.
    """
    allowed = settings.allowed_estimators
    estimator = lookup_estimator(spec.model.estimator, allowed)
    problems: list[Problem] = []
    if isinstance(estimator, str):
        problems.append((("model", "estimator"), estimator, "check MLOPS_SPEC_EXTRA_ESTIMATORS"))
        estimator = None
    problems += semantic_problems(spec, allowed, estimator)
    if check_data:
        problems += project_problems(spec, settings.root)
    return problems
