"""The plan: what a spec compiles to, as plain frozen data.

The training flow runs a Plan step by step (``runtime.plan_runner``: each step name is one
task, configured with the step's retries and cache), the CLI prints it, and tests compare it
with golden files, so it must stay pure: no I/O, no heavy imports, deterministic order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Guard:
    """A rule that can stop the pipeline before ``step`` runs or refuse what it would do."""

    name: str
    rule: str


@dataclass(frozen=True)
class Cache:
    """A step whose result is kept and reused: ``key`` names the key rule the runtime applies
    (and says what goes into it), ``hours`` how long a result stays valid."""

    key: str
    inputs: str
    hours: int


@dataclass(frozen=True)
class Step:
    """One task of the run. ``name`` is the step kind the runtime maps to its task; retries
    and cache are applied to that task as written here, so the plan is what runs."""

    name: str
    library: str
    purpose: str
    settings: tuple[tuple[str, Any], ...] = ()
    guards: tuple[Guard, ...] = ()
    depends_on: tuple[str, ...] = ()
    retries: int = 0
    retry_delay_s: int = 0
    cache: Cache | None = None

    def setting(self, key: str) -> Any:
        return dict(self.settings)[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "library": self.library,
            "purpose": self.purpose,
            "settings": dict(self.settings),
            "guards": [{"name": g.name, "rule": g.rule} for g in self.guards],
            "depends_on": list(self.depends_on),
            "retries": self.retries,
            "retry_delay_s": self.retry_delay_s,
            "cache": None
            if self.cache is None
            else {"key": self.cache.key, "inputs": self.cache.inputs, "hours": self.cache.hours},
        }


@dataclass(frozen=True)
class Plan:
    spec_name: str
    spec_path: str
    content_hash: str
    registered_model: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(step.name == name for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec_name,
            "spec_path": self.spec_path,
            "content_hash": self.content_hash,
            "registered_model": self.registered_model,
            "steps": [step.to_dict() for step in self.steps],
        }
