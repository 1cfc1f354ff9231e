"""The Prefect automation that marks dead flow runs Crashed, created by `deploy --apply`.

A worker or flow process killed with SIGKILL (or lost with its machine) reports nothing, and
its flow run would show Running for ever. Deployed runs send heartbeats every
``HEARTBEAT_SECONDS`` (set in prefect.yaml); this proactive automation, Prefect's documented
answer to "zombie" runs, changes a run to Crashed when ``SILENT_SECONDS`` pass after a
heartbeat with neither another heartbeat nor a final state. A re-run then starts from a clean
slate: Optuna fails the dead run's trials and nothing was registered without lineage.
"""

from __future__ import annotations

from datetime import timedelta

from mlops_spec.events import CRASH_DETECTION, SILENT_SECONDS


def ensure_crash_detection() -> bool:
    """Create the automation on the current Prefect API unless one of that name exists;
    whether it was created."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(CRASH_DETECTION):
            return False
    Automation(
        name=CRASH_DETECTION,
        description="Mark a flow run Crashed when its heartbeats stop before a final state.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=SILENT_SECONDS),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {SILENT_SECONDS} s: the flow run's process died",
            )
        ],
    ).create()
    return True
