"""The plan: what a spec compiles to, as plain frozen data.

Flows are built from a Plan, the CLI prints it, and tests compare it with golden files, so it
must stay pure: no I/O, no heavy imports, deterministic order.
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
class Step:
    name: str
    library: str
    purpose: str
    settings: tuple[tuple[str, Any], ...] = ()
    guards: tuple[Guard, ...] = ()
    depends_on: tuple[str, ...] = ()

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
