"""Point every library at the project's state folder before any of them is imported.

Prefect, MLflow and whylogs read their settings from the environment at import time, so this
runs first in every entry point. Values the user already set are kept: moving to a Prefect
server, an MLflow server or PostgreSQL is configuration, not code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlops_spec.errors import StateUnwritable
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.secrets import PREFECT_SECRET_PREFIX
from mlops_spec.settings import Settings

QUIET = {
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "WHYLOGS_NO_ANALYTICS": "True",
    "FEAST_USAGE": "False",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    # MLflow's HTTP client retries 7 times with a factor-2 back-off capped at 120 s: over four
    # minutes before an unreachable tracking server is reported. Three retries (1 + 2 + 4 s)
    # ride out a restart and still fail in seconds.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


_adopted: tuple[tuple[str, tuple[tuple[str, str], ...]], Settings] | None = None


def _inputs() -> tuple[str, tuple[tuple[str, str], ...]]:
    """What Settings are built from, besides ``.env``: the working folder and MLOPS_SPEC_*."""
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("MLOPS_SPEC_")))
    return os.getcwd(), variables


def command_settings() -> Settings:
    """The Settings of the command this process runs: the CLI's own (adopted by
    ``prepare_environment``), so a flow it calls reads the same values. Built afresh (and
    adopted) when there are none, or when the environment they came from has changed since
    (a worker's flow run, one test after another in one process); building them writes
    nothing, so a flow already running keeps the environment it started with."""
    global _adopted
    if _adopted is not None and _adopted[0] == _inputs():
        return _adopted[1]
    settings = Settings()
    _adopted = (_inputs(), settings)
    return settings


def prepare_environment(settings: Settings) -> None:
    """The one place that writes the process environment: Prefect's and the libraries' quiet
    defaults under the state folder, the Prefect API a setting names, and every
    ``MLOPS_SPEC_*`` value that came from ``.env`` (spec interpolation such as
    ``${MLOPS_SPEC_DATA_DIR}`` and the libraries read the environment, not Settings)."""
    global _adopted
    use_secret_blocks()  # prefect-secret:<block> settings resolve from here on
    state = settings.state
    ensure_writable(state)
    defaults = dict(QUIET)
    defaults.update(
        {
            "PREFECT_HOME": str(state / "prefect"),
            "PREFECT_LOCAL_STORAGE_PATH": str(state / "prefect" / "storage"),
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
            "MLOPS_SPEC_STATE_DIR": str(state),
        }
    )
    if settings.prefect_api_url:
        point_prefect_at(settings.prefect_api_url)
    defaults.update(settings.as_environment())
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    _adopted = (_inputs(), settings)


def ensure_writable(state: Path) -> None:
    """Fail in one line before any library touches a state folder it cannot write to.

    Otherwise the first writer (MLflow's init lock, Prefect's results, the Optuna journal)
    fails with its own traceback, some seconds into the run.
    """
    try:
        state.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise StateUnwritable(
            f"state folder {state} is not writable ({exc.strerror or exc}): make it writable, "
            "or point MLOPS_SPEC_STATE_DIR at a folder that is"
        ) from None


def use_prefect(settings: Settings) -> str | None:
    """Point this process at a Prefect API before Prefect is imported; the API URL, or
    ``None`` for Prefect's temporary server.

    A URL already set (environment or settings) is kept. Otherwise, unless the settings ask for
    the ephemeral server, the project's own server is started once and reused, so runs stay
    visible in its UI and no command pays a server start twice.
    """
    prepare_environment(settings)
    if os.environ.get("PREFECT_API_URL") or settings.prefect_server == "ephemeral":
        return os.environ.get("PREFECT_API_URL") or None
    from mlops_spec.runtime.local_server import ensure_server

    record, started = ensure_server(settings.state, dict(os.environ), _warm_up(settings))
    if started:
        print(f"started the project's Prefect server: {record.url}", file=sys.stderr)
    point_prefect_at(record.api_url)
    return record.api_url


def _warm_up(settings: Settings) -> Callable[[], None]:
    """What every command that needs Prefect does next, done while the server starts on the
    other core: MLflow's schema for a fresh state folder (3-5 s) and the heavy imports."""

    def warm() -> None:
        if (settings.mlflow_tracking_uri or "").startswith(PREFECT_SECRET_PREFIX):
            return  # resolving it needs Prefect, which is not up yet
        # A problem here (a corrupt database, say) is reported by the command's own call
        # moments later, with its context; the warm-up only saves time.
        with contextlib.suppress(Exception):
            from mlops_spec.adapters import mlflow_tracking

            mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
            for module in ("feast_store", "whylogs_profiling"):  # their libraries' import time
                importlib.import_module(f"mlops_spec.adapters.{module}")

    return warm


def point_prefect_at(api_url: str) -> None:
    """Prefect reads its API URL from the environment when it is first imported."""
    os.environ["PREFECT_API_URL"] = api_url
