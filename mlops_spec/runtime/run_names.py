"""Flow run names that start with the model's name, for every job: a run list in the Prefect UI
then reads ``credit-default-20261202-031500``, ``credit-default-monitor-...``,
``credit-default-score-...`` rather than a spec file name or Prefect's random words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prefect.runtime import flow_run

from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.spec_cache import load_once


def model_name(spec_path: str) -> str:
    """The spec's ``metadata.name``, or the file's stem when the spec does not load (the flow
    itself then reports why; the name only needs to exist)."""
    try:
        return load_once(spec_path, command_settings()).spec.metadata.name
    except Exception:
        return Path(spec_path).stem


def run_name_for(job: str | None) -> Callable[[], str]:
    """A ``flow_run_name`` callable: the model's name, the job (none for training) and the
    start time in UTC."""

    def name() -> str:
        model = model_name(str(flow_run.parameters.get("spec_path", "spec")))
        parts = [model, *([job] if job else []), f"{datetime.now(UTC):%Y%m%d-%H%M%S}"]
        return "-".join(parts)

    return name
