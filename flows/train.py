"""Deployment entrypoint for training: ``flows/train.py:train`` with a ``spec_path`` parameter.

Prefect's ``deploy`` reads entrypoints statically, so this file defines one flow for every
spec; the spec is loaded when the run starts.
"""

from __future__ import annotations

from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.settings import Settings

settings = Settings()
prepare_environment(settings)

from mlops_spec.runtime.task_runners import with_task_runner  # noqa: E402
from mlops_spec.runtime.training import train as _train  # noqa: E402

# The worker's settings pick the task runner (Dask under profiles/distributed.env).
train = with_task_runner(_train, settings)

__all__ = ["train"]
