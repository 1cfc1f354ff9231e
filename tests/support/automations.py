"""Waiting on Prefect's automations by what they record, not by sleeping.

"This event started nothing" cannot be observed directly, and a fixed sleep only hopes the
automation engine got to it. So a test emits a sentinel afterwards, an event the automation
must answer, and waits until Prefect records the answer: the
``prefect.automation.action.executed`` event of the action, which names the triggering event
and the flow run it started. The engine takes events in the order they arrive (they come
seconds apart here, from separate processes), so once the sentinel is answered, an earlier
event that should have started nothing has been judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.support.prefect_server import PrefectServer

EMIT = """
import sys
from prefect.events import emit_event
event = emit_event(event=sys.argv[1], resource={"prefect.resource.id": sys.argv[2]})
assert event is not None
print(event.id)
"""


def emit(server: PrefectServer, event: str, resource_id: str) -> str:
    """Emit one event from a fresh process, as the monitoring flow does; the event's id."""
    done = subprocess.run(
        [sys.executable, "-c", EMIT, event, resource_id],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def runs_started_for(server: PrefectServer, event_id: str) -> list[str]:
    """The flow runs automations started in answer to the event ``event_id``."""
    page = server.api(
        "POST",
        "/events/filter",
        {
            "filter": {
                "event": {"name": ["prefect.automation.action.executed"]},
                "related": {"id": [f"prefect.event.{event_id}"]},
            },
            "limit": 50,
        },
    )
    return [
        related["prefect.resource.id"].removeprefix("prefect.flow-run.")
        for event in page["events"]
        for related in event["related"]
        if related.get("prefect.resource.role") == "flow-run"
    ]


def wait_for_runs_started_for(server: PrefectServer, event_id: str, timeout: float) -> list[str]:
    """``runs_started_for`` once it names a run (Prefect stores events in batches, every few
    seconds); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (started := runs_started_for(server, event_id)):
        assert time.monotonic() < deadline, f"no automation answered event {event_id}"
        time.sleep(1)
    return started
