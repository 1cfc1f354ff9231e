"""Entry points used by the CLI: prepare the environment, then import and call the flow."""

from __future__ import annotations

from typing import Any, cast

from mlops_spec.errors import MlopsSpecError
from mlops_spec.runtime.environment import use_prefect
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.settings import Settings


def run_spec(spec_path: str, settings: Settings, *, show_progress: bool = True) -> RunOutcome:
    """Validate first (fast, no services), then run the training flow once."""
    load_once(spec_path, settings)
    use_prefect(settings)
    from mlops_spec.runtime.console import protect_logs
    from mlops_spec.runtime.training import train

    protect_logs()

    from mlops_spec.runtime.task_runners import with_task_runner

    flow_run = with_task_runner(train, settings)
    state = flow_run(spec_path=spec_path, show_progress=show_progress, return_state=True)
    if state.is_failed():
        error = state.result(raise_on_failure=False)
        if isinstance(error, MlopsSpecError):  # the run ended on purpose: its typed error
            raise error
    result = cast(dict[str, Any], state.result())  # re-raises the error of a crashed run
    return RunOutcome(**result)
