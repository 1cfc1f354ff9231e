"""`mlops-spec run` in this process with its compiled plan edited, to show the plan is what
runs: the ``profile_data`` step gets 3 retries, and the first whylogs profile call fails with
an I/O error (which a retry may cure).

    python tests/support/run_with_edited_plan.py SPEC
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from mlops_spec.adapters import whylogs_profiling
from mlops_spec.cli import main
from mlops_spec.plan import Plan
from mlops_spec.runtime import training

EDITED_STEP, RETRIES = "profile_data", 3


def edit(plan: Plan) -> Plan:
    steps = tuple(
        dataclasses.replace(step, retries=RETRIES, retry_delay_s=1)
        if step.name == EDITED_STEP
        else step
        for step in plan.steps
    )
    return dataclasses.replace(plan, steps=steps)


def _install() -> None:
    compile_plan = training.compile_plan
    profile_frame = whylogs_profiling.profile_frame
    calls = []

    def edited_plan(loaded: Any) -> Plan:
        return edit(compile_plan(loaded))

    def flaky_profile(frame: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("simulated I/O hiccup while profiling")
        return profile_frame(frame)

    training.compile_plan = edited_plan  # type: ignore[assignment]
    whylogs_profiling.profile_frame = flaky_profile


if __name__ == "__main__":
    _install()
    sys.exit(main(["run", "--no-progress", *sys.argv[1:]]))
