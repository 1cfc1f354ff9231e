"""Deployment entrypoint for batch scoring: ``flows/score.py:score``.

Like flows/train.py: one static flow for every spec; the input and output paths are given per
run (`prefect deployment run mlops-spec-score/<name>-score --param input_path=...`).
"""

from __future__ import annotations

from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.settings import Settings

prepare_environment(Settings())

from mlops_spec.runtime.scoring import score  # noqa: E402

__all__ = ["score"]
