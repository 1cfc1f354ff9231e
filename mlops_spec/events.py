"""Names of the Prefect events mlops-spec emits, and the deployment trigger that reacts to drift.

Kept free of Prefect imports: the monitoring flow emits these events, while `mlops-spec deploy`
writes the trigger into prefect.yaml, and both must agree on one spelling. Prefect's own
automation engine (a deployment trigger) starts the retraining run; nothing here polls.
"""

from __future__ import annotations

from typing import Any

DRIFT_EVENT = "mlops-spec.drift.detected"
"""Emitted by a monitoring run that found drift in a spec with ``on_drift: retrain``."""

ALERT_EVENT = "mlops-spec.drift.alert"
"""Emitted instead of :data:`DRIFT_EVENT` for ``on_drift: alert``: recorded, starts nothing."""


HEARTBEAT_SECONDS = 30
"""How often a deployed flow run tells the Prefect server it is alive (Prefect's minimum)."""

SILENT_SECONDS = 90
"""A running flow run silent this long (three missed heartbeats) is marked Crashed."""

CRASH_DETECTION = "mlops-spec: crash silent flow runs"
"""Name of the automation that marks flow runs whose process died as Crashed."""


def model_resource_id(model: str) -> str:
    """The Prefect resource id that names one registered model in events."""
    return f"mlops-spec.model.{model}"


def retrain_trigger(model: str, spec_path: str) -> dict[str, Any]:
    """A prefect.yaml deployment trigger: run the training deployment when ``model`` drifts.

    The shape is Prefect's ``DeploymentEventTrigger`` (reactive, one event is enough), written
    as plain data so prefect.yaml can be generated without importing Prefect.
    """
    return {
        "type": "event",
        "enabled": True,
        "name": f"{model}-retrain-on-drift",
        "match": {"prefect.resource.id": model_resource_id(model)},
        "expect": [DRIFT_EVENT],
        "posture": "Reactive",
        "threshold": 1,
        "within": 0,
        "parameters": {"spec_path": spec_path},
    }
