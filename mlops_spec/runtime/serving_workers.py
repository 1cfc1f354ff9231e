"""`mlops-spec serve`: one process per core, each a whole service, behind uvicorn's supervisor.

Prediction is CPU work and Python runs one thread of it at a time, so one process uses one
core. ``serve`` therefore starts ``workers`` processes (default: the cores this process may
run on) with uvicorn's own multi-process supervisor: the parent binds the socket once, each
worker accepts from it, a worker that dies is replaced, and SIGINT or SIGTERM to the parent
stops every worker gracefully (requests in flight are answered, the prediction log flushed).
Workers are separate interpreters, so uvicorn builds each one's app from an import string:
``worker_app`` reads the spec path from ``MLOPS_SPEC_SERVE_SPEC``. Each worker loads its own
models and watches the aliases itself, so a new champion reaches every worker within
``reload_seconds``, without a restart and without a dropped request.

Before any worker starts, the parent checks what every worker would find (the spec, the
champion's verdict) and resolves the bearer token once, so a mistake is one error instead of
a worker restarting in a loop. Counters are shared through ``PROMETHEUS_MULTIPROC_DIR``
(``serving_metrics``), a fresh folder per service removed on exit. Each worker's OpenMP pool
gets its share of the cores (``OMP_NUM_THREADS``), so two workers do not oversubscribe them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.serving import servable_versions
from mlops_spec.runtime.serving_guard import TOKEN_VARIABLE, resolve_token
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.spec.sections import Serving

if TYPE_CHECKING:
    from fastapi import FastAPI

SPEC_VARIABLE = "MLOPS_SPEC_SERVE_SPEC"
METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def worker_app() -> FastAPI:
    """The app of one worker (uvicorn's factory): the spec named by ``MLOPS_SPEC_SERVE_SPEC``,
    the token ``serve`` resolved."""
    from mlops_spec.runtime.serving_app import create_app

    return create_app(os.environ[SPEC_VARIABLE], token=resolve_token())


def serve(
    spec_path: str,
    *,
    host: str,
    port: int,
    materialize: bool,
    workers: int | None = None,
    access_log: bool = False,
) -> None:
    """Run the service until SIGINT or SIGTERM (the CLI's `serve`)."""
    import uvicorn

    settings = command_settings()
    loaded = load_once(spec_path, settings)
    spec = loaded.spec
    serving = spec.serving or Serving()
    use_secret_blocks()
    if materialize:
        from mlops_spec.runtime.serving_app import online_features

        online_features(loaded).materialize_all()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    candidate = serving.candidate_alias if serving.mode != "champion" else None
    servable_versions(spec.metadata.name, spec.governance.promotion.alias, candidate)
    token = resolve_token()
    count = workers or default_workers()
    metrics_dir = tempfile.mkdtemp(prefix="mlops-spec-metrics-")
    os.environ.update({SPEC_VARIABLE: str(loaded.path), METRICS_VARIABLE: metrics_dir})
    if token:
        os.environ[TOKEN_VARIABLE] = token  # resolved once: workers need no Prefect call
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, default_workers() // count)))
    try:
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=count,
            access_log=access_log,
            log_level="info",
            timeout_graceful_shutdown=int(serving.request_timeout_seconds) + 5,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
