"""`mlops-spec rollback`: move the champion alias back to the previous champion, on the record.

The previous champion is found by replaying the alias's promotion history (registered-model
tags written by every promotion): promotions push the version they promoted, rollbacks pop the
version they undid. So a second rollback goes one champion further back, not back and forth,
and a rollback is itself an event in the audit trail (actor, reason, from and to version).
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Any

from mlops_spec.errors import RegistryError
from mlops_spec.runtime.environment import command_settings, prepare_environment
from mlops_spec.runtime.gates import alias_refusal
from mlops_spec.runtime.promotion_lock import promotion_lock
from mlops_spec.runtime.secret_blocks import use_secret_blocks


def champion_chain(history: Sequence[dict[str, Any]]) -> list[int]:
    """The versions that held the alias, oldest first, with rolled-back ones removed.

    ``conflict`` events record moves that were refused, so they never enter the chain."""
    chain: list[int] = []
    for event in history:
        kind = event.get("kind", "promotion")
        if kind == "rollback":
            if chain:
                chain.pop()
        elif kind == "promotion":
            chain.append(int(event["to_version"]))
    return chain


def rollback(model: str, alias: str, *, actor: str | None, reason: str) -> dict[str, Any]:
    """Point ``alias`` at the champion before the current one and record it; the event."""
    settings = command_settings()
    prepare_environment(settings)
    use_secret_blocks()
    from mlops_spec.adapters import mlflow_registry, mlflow_tracking

    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    current = mlflow_registry.get_alias_version(model, alias)
    if current is None:
        raise RegistryError(
            f"model {model!r} has no {alias!r} alias to roll back (check the name with "
            f"`mlops-spec audit {model}`)"
        )
    history = mlflow_registry.promotion_history(model, alias)
    chain = champion_chain(mlflow_registry.applied_history(history, current))
    if not chain or chain[-1] != current:
        raise RegistryError(
            f"{model}@{alias} is v{current}, but its promotion history ends at "
            f"{'v' + str(chain[-1]) if chain else 'nothing'}: the alias was moved outside "
            "mlops-spec; set it deliberately with MLflow instead"
        )
    if len(chain) < 2:
        raise RegistryError(f"{model}@{alias} (v{current}) has no previous {alias} to roll back to")
    previous = chain[-2]
    refusal = alias_refusal("champion", mlflow_registry.get_version_tags(model, previous))
    if refusal is not None:
        raise RegistryError(
            f"{model} v{previous} may not become {alias} again: {refusal}; promote another "
            "version through a run instead"
        )
    who = actor or getpass.getuser()
    with promotion_lock(model):
        event = mlflow_registry.promote(
            model,
            alias,
            previous,
            actor=who,
            reason=f"rollback from v{current}: {reason}",
            kind="rollback",
            expected_from=current,
        )
    mlflow_registry.set_version_tags(
        model, current, {"governance.status": f"rolled-back (by {who}: {reason})"}
    )
    from mlops_spec.runtime.model_card import refresh_history

    refresh_history(model)
    return event
