"""Human approval of a promotion: a Prefect pause with a typed form, answered in the UI or API.

When a spec says ``governance.promotion.approval: required`` and every gate passed, the run
publishes the summary a reviewer needs (metrics, fairness, gate decisions) as a markdown
artifact, then pauses with :class:`ApprovalForm` as Prefect's ``wait_for_input``: the UI shows
the summary and a form, and a resume with invalid input is refused by the form's model. The
answer (or the timeout) is recorded on the model version and the MLflow run, so the audit trail
says who decided what, and why.

Pausing needs a Prefect server that a reviewer can reach (``PREFECT_API_URL``). Prefect's
ephemeral server lives only inside the ``mlops-spec run`` process, so there the version stays
``challenger`` with status ``awaiting-approval`` instead of blocking the terminal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

from prefect import get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.settings import get_current_settings
from pydantic import Field, field_validator

from mlops_spec.adapters import mlflow_registry, mlflow_tracking
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime import reports

POLL_SECONDS = 5


class ApprovalForm(RunInput):
    """The form a reviewer fills in to resume a paused training run."""

    decision: Literal["approve", "reject"] = Field(
        description="approve: this version becomes the champion; reject: it stays challenger"
    )
    # `pattern` travels in the JSON schema that the server checks a resume against (the UI
    # form and the API), so a blank reviewer is refused before the run resumes.
    reviewer: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="who decides (name or e-mail), kept in MLflow",
    )
    comment: str = Field(default="", max_length=2000, description="why, kept in MLflow")

    @field_validator("reviewer")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reviewer must be named")
        return value.strip()


@dataclass(frozen=True)
class ApprovalDecision:
    """What came back from the pause: a reviewer's answer, or a timeout."""

    decision: Literal["approve", "reject", "timeout"]
    reviewer: str
    comment: str
    at: str

    @property
    def approved(self) -> bool:
        return self.decision == "approve"

    def tags(self) -> dict[str, str]:
        return {f"approval.{key}": value for key, value in asdict(self).items()}


def reviewer_can_answer() -> bool:
    """True when runs report to a Prefect server (not the in-process ephemeral one)."""
    return bool(get_current_settings().api.url)


def request_approval(
    loaded: LoadedSpec, version: int, summary: str, run_id: str
) -> ApprovalDecision | None:
    """Pause for a reviewer; ``None`` when no reviewer can reach this run (ephemeral server)."""
    spec = loaded.spec
    name = spec.metadata.name
    logger = get_run_logger()
    if not reviewer_can_answer():
        logger.warning(
            "approval required, but this run uses Prefect's ephemeral server that no reviewer "
            "can reach: v%d stays challenger (run with PREFECT_API_URL set to a Prefect server "
            "to approve in its UI)",
            version,
        )
        return None
    reports.markdown(
        name, "approval-request", summary, f"what a reviewer needs to approve {name} v{version}"
    )
    timeout = int(spec.governance.promotion.approval_timeout)
    form = ApprovalForm.with_initial_data(description=summary)
    logger.info("waiting up to %ds for a reviewer to approve or reject v%d", timeout, version)
    try:
        answer = pause_flow_run(
            wait_for_input=form,
            timeout=timeout,
            poll_interval=min(POLL_SECONDS, max(1, timeout)),
            key=f"approve-{name}-v{version}",
        )
    except FlowPauseTimeout:
        _continue_after_timeout()
        decision = ApprovalDecision("timeout", "", "no reviewer answered in time", _now())
    else:
        decision = ApprovalDecision(answer.decision, answer.reviewer, answer.comment, _now())
    mlflow_registry.set_version_tags(name, version, decision.tags())
    mlflow_tracking.set_tags(run_id, decision.tags())
    mlflow_tracking.log_dict(run_id, asdict(decision), "reports/approval.json")
    logger.info("approval of v%d: %s by %s", version, decision.decision, decision.reviewer or "-")
    return decision


def _continue_after_timeout() -> None:
    """Put the run back to Running so it can record the timeout and complete.

    Prefect leaves a pause that timed out in the Paused state and refuses to complete a run
    that was never resumed; an unanswered approval is an outcome of this run (the version stays
    challenger), not a failure of it.
    """
    from prefect import get_client
    from prefect.runtime import flow_run
    from prefect.states import Running

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            flow_run.id,
            Running(message="approval timed out; the version stays challenger"),
            force=True,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
