"""Entry points used by the CLI: prepare the environment, then import and call the flow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from mlops_spec.errors import MlopsSpecError
from mlops_spec.plan.deployments import TRAIN, job_tags
from mlops_spec.runtime.environment import use_prefect
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.settings import Settings


@contextmanager
def run_tags(job_tag: str, name: str) -> Iterator[None]:
    """Flow runs started inside carry the tags their deployment would give them."""
    from prefect import tags

    with tags(*job_tags(job_tag, name)):
        yield


def run_spec(spec_path: str, settings: Settings, *, show_progress: bool = True) -> RunOutcome:
    """Validate first (fast, no services), then run the training flow once, tagged as its
    deployment's runs are; ``show_progress`` draws the tuning progress bar."""
    name = load_once(spec_path, settings).spec.metadata.name
    use_prefect(settings)
    from mlops_spec.runtime.console import protect_logs, showing_progress
    from mlops_spec.runtime.task_runners import with_task_runner
    from mlops_spec.runtime.training import train

    protect_logs()

    flow_run = with_task_runner(train, settings)
    with showing_progress(show_progress), run_tags(TRAIN.tag, name):
        state = flow_run(spec_path=spec_path, return_state=True)
    if state.is_failed():
        error = state.result(raise_on_failure=False)
        if isinstance(error, MlopsSpecError):  # the run ended on purpose: its typed error
            raise error
    result = cast(dict[str, Any], state.result())  # re-raises the error of a crashed run
    return RunOutcome(**result)
