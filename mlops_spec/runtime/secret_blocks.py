"""Prefect Secret blocks behind ``prefect-secret:<block>`` settings: the runtime's half of
``mlops_spec.secrets``.

``mlops_spec.secrets`` masks values and decides what is secret, below every layer; loading a
block needs Prefect, which only the runtime may import. Each runtime entry point installs this
loader before it reads a connection setting, so ``Settings.tracking_uri`` and
``Settings.optuna_storage_url`` resolve a block there and nowhere else.
"""

from __future__ import annotations

from mlops_spec import secrets


def load_secret_block(block: str) -> str:
    """The value of the Prefect ``Secret`` block named ``block``."""
    from prefect.blocks.system import Secret

    return str(Secret.load(block).get())  # type: ignore[union-attr]


def use_secret_blocks() -> None:
    """Let ``prefect-secret:<block>`` settings resolve in this process (idempotent)."""
    secrets.use_block_loader(load_secret_block)
