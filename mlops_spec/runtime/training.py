"""The training flow: a spec's plan run as Prefect tasks, with one MLflow run as its trail.

The flow takes a spec *path* and loads it at run time, so one static entrypoint serves every
spec as a deployment; ``plan_runner`` then runs the compiled plan step by step. The MLflow run
starts first: even a run stopped by a constraint leaves its report behind, and the Prefect run
and the MLflow run point at each other.

A run that ends on purpose (a constraint stopped it, a step failed for a reason it could name)
returns a Failed state that carries the error itself, so the CLI gets the typed exception
back rather than parsing a message; the message is for the Prefect UI.
"""

from __future__ import annotations

import contextlib

from prefect import State, flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from mlops_spec.adapters import mlflow_tracking
from mlops_spec.errors import ConstraintsFailed, RegistryError, StepError
from mlops_spec.loader import LoadedSpec
from mlops_spec.plan import Plan, compile_plan
from mlops_spec.runtime import plan_runner
from mlops_spec.runtime.console import progress_shown, protect_logs
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.outcome import RunOutcome
from mlops_spec.runtime.run_names import run_name_for
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.secrets import redact_url
from mlops_spec.settings import Settings

STOPPED = "stopped by the spec: "
FAILED = "step failed: "


@flow(name="mlops-spec-train", flow_run_name=run_name_for(None), log_prints=True)
def train(spec_path: str) -> State:
    """Train, evaluate, govern and register the model a spec describes.

    The run ends Completed with a state named after the outcome (``Promoted``,
    ``Challenger``, ``AwaitingApproval``) and the outcome as its result. A run stopped by a
    data constraint ends Failed with the constraint in its message: an outcome the spec asked
    for, reported without a traceback. So does a step that failed for a reason it could name
    (``StepError``: an unreachable backend, a corrupt source file).

    Args:
        spec_path: The spec to run, relative to the project root (for example
            specs/penguins.yaml); it is loaded and validated when the run starts.
    """
    protect_logs()
    settings = command_settings()
    loaded = load_once(spec_path, settings)
    try:
        outcome = run_pipeline(loaded, settings, show_progress=progress_shown())
        return Completed(name=outcome.state_name, message=outcome.headline, data=outcome.__dict__)
    except ConstraintsFailed as exc:
        get_run_logger().error("%s", exc)
        return Failed(message=f"{STOPPED}{exc}", data=exc)
    except StepError as exc:
        # A located, explained failure (an outage, a bad file): Failed with that one line,
        # not a crash report.
        get_run_logger().error("%s", exc)
        return Failed(message=f"{FAILED}{exc}", data=exc)


def run_pipeline(loaded: LoadedSpec, settings: Settings, *, show_progress: bool) -> RunOutcome:
    logger = get_run_logger()
    spec = loaded.spec
    name = spec.metadata.name
    plan = compile_plan(loaded)
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    run_id = mlflow_tracking.start_run(
        name,
        str(flow_run.name or name),
        {
            "mlops_spec.spec_hash": loaded.content_hash,
            "mlops_spec.spec_path": loaded.display_path,
            "prefect.flow_run_id": str(flow_run.id or ""),
            "mlops_spec.outcome": "running",
        },
    )
    logger.info("MLflow run %s (tracking %s)", run_id, redact_url(settings.tracking_uri))
    try:
        _log_spec(loaded, plan, run_id)
        outcome = plan_runner.execute(
            plan_runner.Run(loaded, settings, plan, run_id, show_progress)
        )
    except BaseException:
        # Keep the error that stopped the run: when the backend itself is gone, marking the
        # run failed fails too, and that second error says less.
        with contextlib.suppress(RegistryError):
            mlflow_tracking.end_run(run_id, failed=True)
        raise
    mlflow_tracking.set_tags(run_id, {"mlops_spec.outcome": outcome.status})
    mlflow_tracking.end_run(run_id)
    return outcome


def _log_spec(loaded: LoadedSpec, plan: Plan, run_id: str) -> None:
    """The spec as written, as resolved, and the plan that runs, on the MLflow run."""
    resolved = loaded.resolved_document()
    mlflow_tracking.log_dict(run_id, resolved, "spec/resolved_spec.json")
    mlflow_tracking.log_artifact_file(run_id, loaded.path, "spec")
    mlflow_tracking.log_dict(run_id, plan.to_dict(), "spec/plan.json")
    sections = ("data", "features", "split", "model", "tuning")
    mlflow_tracking.log_params(
        run_id, {"spec": {k: v for k, v in resolved.items() if k in sections}}
    )
