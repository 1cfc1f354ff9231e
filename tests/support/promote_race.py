"""One contender in a promotion race: a Prefect flow that runs the real `promote` task.

Started as a separate process by tests/integration/test_promotion_race.py with the state
folder and Prefect API in its environment. Waits for the start file so every contender reaches
the promotion at the same moment, then prints one JSON line: the version and the task's status.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from mlops_spec.loader import load_spec
from mlops_spec.runtime.environment import prepare_environment
from mlops_spec.runtime.gates import GateDecision
from mlops_spec.settings import Settings

START_TIMEOUT_SECONDS = 600


@flow(name="promotion-race-contender")
def contender(spec_path: str, version: int, start_file: str) -> tuple[bool, str]:
    from mlops_spec.adapters import mlflow_tracking
    from mlops_spec.runtime import registry_steps

    settings = Settings()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    loaded = load_spec(Path(spec_path))
    passed = [GateDecision("metric accuracy", True, 0.9, ">= 0.5", "every contender passes")]
    Path(f"{start_file}.ready.{version}").touch()
    # bounded: a test that failed before starting the race must not leave contenders spinning
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not Path(start_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no start file {start_file} after {START_TIMEOUT_SECONDS} s")
        time.sleep(0.01)
    # Every contender judged against "no champion", as two runs started together would.
    return registry_steps.promote(loaded, version, passed, str(flow_run.id), None, None)


if __name__ == "__main__":
    prepare_environment(Settings())
    spec, version, start = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    promoted, status = contender(spec, version, start)
    print(json.dumps({"version": version, "promoted": promoted, "status": status}))
