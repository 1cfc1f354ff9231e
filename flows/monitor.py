"""Deployment entrypoint for monitoring: ``flows/monitor.py:monitor`` with a ``spec_path``.

Like flows/train.py: one static flow for every spec, the spec loaded when the run starts.
"""

from __future__ import annotations

from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.settings import Settings

prepare_environment(Settings())

from mlops_spec.runtime.monitoring import monitor  # noqa: E402

__all__ = ["monitor"]
