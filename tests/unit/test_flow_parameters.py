"""What the Prefect UI shows about the flows before and after a run: every parameter of a
deployment's run form is described (from the flow's docstring, as Prefect reads it), nothing
internal is in the form, and a training run's final state is named after its outcome."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_spec.runtime.outcome import RunOutcome


def _flows() -> dict[str, Any]:
    from mlops_spec.runtime.canary import canary
    from mlops_spec.runtime.monitoring import monitor
    from mlops_spec.runtime.scoring import score
    from mlops_spec.runtime.training import train

    return {"train": train, "monitor": monitor, "score": score, "canary": canary}


@pytest.mark.parametrize("job", ["train", "monitor", "score", "canary"])
def test_every_run_form_parameter_is_described(job: str) -> None:
    from prefect.utilities.callables import parameter_schema

    properties = parameter_schema(_flows()[job]).model_dump()["properties"]
    assert "spec_path" in properties
    undescribed = [name for name, field in properties.items() if not field.get("description")]
    assert undescribed == []


def test_the_training_form_has_no_internal_parameters() -> None:
    from prefect.utilities.callables import parameter_schema

    assert list(parameter_schema(_flows()["train"]).model_dump()["properties"]) == ["spec_path"]


@pytest.mark.parametrize(
    ("promoted", "status", "state_name"),
    [
        (True, "promoted", "Promoted"),
        (False, "awaiting-approval", "AwaitingApproval"),
        (False, "challenger (failed gates: roc_auc)", "Challenger"),
        (False, "challenger (rejected by ada@example.com)", "Challenger"),
        (False, "challenger (approval-timeout)", "Challenger"),
    ],
)
def test_the_final_state_is_named_after_the_outcome(
    promoted: bool, status: str, state_name: str
) -> None:
    outcome = RunOutcome("m", "m", 3, promoted, status)
    assert outcome.state_name == state_name
    assert outcome.headline == f"m v3: {status}"


@pytest.mark.parametrize("job", ["train", "monitor", "score", "canary"])
def test_every_flow_pickles_by_value(job: str) -> None:
    """Prefect's Dask task runner pickles the flow run's context, the flow included, and
    cloudpickle takes a flow's function by value (its module attribute is the Flow): a global
    it reads that cannot be pickled (a ContextVar, a lock) breaks every Dask task."""
    import cloudpickle

    flow = _flows()[job]
    restored = cloudpickle.loads(cloudpickle.dumps(flow))
    assert restored.name == flow.name
