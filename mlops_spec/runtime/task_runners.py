"""The Prefect task runner a flow run uses, chosen by settings (never by code).

``MLOPS_SPEC_TASK_RUNNER=dask`` runs submitted tasks (the tuning shards) on Dask through
prefect-dask: a LocalCluster of worker processes started for the flow run, or the standing
cluster at ``MLOPS_SPEC_DASK_ADDRESS`` (any Dask deployment: Kubernetes, YARN, a VM fleet).
The default is Prefect's thread pool.
"""

from __future__ import annotations

import os
from typing import Any

from mlops_spec.settings import Settings


def task_runner(settings: Settings) -> Any | None:
    """A ``DaskTaskRunner`` for the dask setting, else None (keep the flow's own runner)."""
    if settings.task_runner != "dask":
        return None
    from prefect_dask.task_runners import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    workers = max(2, min(4, os.cpu_count() or 2))
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": ":0",  # any free port: several flow runs may share a machine
        }
    )


def with_task_runner(flow_object: Any, settings: Settings) -> Any:
    runner = task_runner(settings)
    return flow_object if runner is None else flow_object.with_options(task_runner=runner)
