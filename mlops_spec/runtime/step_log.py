"""One log line per step that says what the step found, with the MLflow run it recorded to.

A run's logs in the Prefect UI then read as its story (rows joined, constraints passed,
trials run and the best value, gate decisions, the alias moved), and each line leads to the
MLflow run: its page when tracking is an MLflow server, otherwise its id (a SQLite store has
no page until someone starts ``mlflow ui`` on it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from prefect import get_run_logger

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.runtime.environment import command_settings
from mlops_spec.secrets import redact_url


def run_link(run_id: str) -> str:
    """The MLflow run as a reader can open it: a URL on an MLflow server, else the run id."""
    tracking = command_settings().tracking_uri
    if not tracking.startswith(("http://", "https://")):
        return f"MLflow run {run_id}"
    return f"MLflow run {_run_url(redact_url(tracking).rstrip('/'), run_id)}"


@cache
def _run_url(server: str, run_id: str) -> str:
    experiment = mlflow_tracking.experiment_id_of_run(run_id)
    return f"{server}/#/experiments/{experiment}/runs/{run_id}"


def found(run_id: str, message: str, *args: Any) -> None:
    """Log what a step found (``message % args``), followed by its MLflow run."""
    get_run_logger().info("%s (%s)", message % args if args else message, run_link(run_id))
