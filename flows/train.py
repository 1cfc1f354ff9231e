"""Deployment entrypoint for training: ``flows/train.py:train`` with a ``spec_path`` parameter.

Prefect's ``deploy`` reads entrypoints statically, so this file defines one flow for every
spec; the spec is loaded when the run starts.
"""

from __future__ import annotations

from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.settings import Settings

prepare_environment(Settings())

from mlops_spec.runtime.training import train  # noqa: E402

__all__ = ["train"]
