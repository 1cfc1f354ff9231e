"""Entry points used by the CLI: prepare the environment, then import and call the flow."""

from __future__ import annotations

from typing import Any, cast

from mlops_spec.errors import ConstraintsFailed, StepError
from mlops_spec.loader import load_spec
from mlops_spec.runtime.environment import use_prefect
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.settings import Settings


def run_spec(spec_path: str, *, show_progress: bool = True) -> RunOutcome:
    """Validate first (fast, no services), then run the training flow once."""
    settings = Settings()
    load_spec(spec_path, settings)
    use_prefect(settings)
    from mlops_spec.runtime.console import protect_logs
    from mlops_spec.runtime.training import FAILED_PREFIX, STOPPED_PREFIX, train

    protect_logs()

    from mlops_spec.runtime.task_runners import with_task_runner

    flow_run = with_task_runner(train, settings)
    state = flow_run(spec_path=spec_path, show_progress=show_progress, return_state=True)
    message = state.message or ""
    if state.is_failed() and message.startswith(STOPPED_PREFIX):
        raise ConstraintsFailed(message.removeprefix(STOPPED_PREFIX))
    if state.is_failed() and message.startswith(FAILED_PREFIX):
        raise StepError(message.removeprefix(FAILED_PREFIX))
    result = cast(dict[str, Any], state.result())  # re-raises the error of a failed run
    return RunOutcome(**result)
