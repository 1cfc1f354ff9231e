"""prefect.yaml generation (``plan.deployments``): which deployments a spec declares, what each
carries, and that Prefect's own schemas accept the triggers and schedules it writes, since
``prefect deploy`` would otherwise reject them only when an operator applies the file.

``test_spec_models`` checks the committed prefect.yaml against the demo specs; these tests
build specs of every shape (no schedule, monitoring that alerts or retrains, a custom alias).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from mlops_spec.errors import MlopsSpecError
from mlops_spec.events import DRIFT_EVENT, model_resource_id
from mlops_spec.loader.load import LoadedSpec, content_hash
from mlops_spec.plan.deployments import (
    HEADER,
    prefect_document,
    render_prefect_yaml,
    spec_deployments,
)
from mlops_spec.spec import TrainingPipeline

POOL = {"name": "local", "job_variables": {"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}}}


def loaded(name: str = "credit", path: str | None = None, **sections: Any) -> LoadedSpec:
    spec = TrainingPipeline.model_validate(
        {
            "apiVersion": "mlops-spec/v1",
            "kind": "TrainingPipeline",
            "metadata": {"name": name, "owner": "risk@example.com"},
            "data": {"entities": "e.parquet", "entity_key": "id", "timestamp": "ts", "label": "y"},
            "features": {"repo": "feature_repo", "service": "s"},
            "model": {
                "task": "binary_classification",
                "estimator": "sklearn.linear_model.LogisticRegression",
            },
            **sections,
        }
    )
    shown = path or f"specs/{name}.yaml"
    root = Path("/project")
    return LoadedSpec(spec, root / shown, shown, root, content_hash(spec), (shown,))


def by_suffix(deployments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["name"].rsplit("-", 1)[1]: d for d in deployments}


def test_a_spec_without_schedule_or_monitoring_gets_train_and_score() -> None:
    deployments = spec_deployments(loaded())
    assert [d["name"] for d in deployments] == ["credit-train", "credit-score"]
    train, score = deployments
    assert train == {
        "name": "credit-train",
        "description": "Train, govern and register credit (risk@example.com).",
        "entrypoint": "flows/train.py:train",
        "parameters": {"spec_path": "specs/credit.yaml"},
        "tags": ["mlops-spec", "training", "credit"],
        "work_pool": POOL,
    }
    assert score["entrypoint"] == "flows/score.py:score"
    assert score["parameters"] == {"spec_path": "specs/credit.yaml"}
    assert score["tags"] == ["mlops-spec", "scoring", "credit"]
    assert score["work_pool"] == POOL
    assert "schedules" not in score and "triggers" not in score  # paths come with each run
    assert "credit@champion" in score["description"]


def test_every_deployment_names_the_spec_as_written_not_its_absolute_path() -> None:
    spec = loaded(path="specs/team/credit.yaml", monitoring={"on_drift": "retrain"})
    for deployment in spec_deployments(spec):
        assert deployment["parameters"] == {"spec_path": "specs/team/credit.yaml"}
        for trigger in deployment.get("triggers", []):
            assert trigger["parameters"] == {"spec_path": "specs/team/credit.yaml"}


def test_the_training_schedule_is_the_specs_own() -> None:
    spec = loaded(schedule={"cron": "0 3 * * 1", "timezone": "Europe/Paris"})
    train = by_suffix(spec_deployments(spec))["train"]
    assert train["schedules"] == [{"cron": "0 3 * * 1", "timezone": "Europe/Paris"}]


def test_a_default_timezone_is_written_out() -> None:
    train = by_suffix(spec_deployments(loaded(schedule={"cron": "15 * * * *"})))["train"]
    assert train["schedules"] == [{"cron": "15 * * * *", "timezone": "UTC"}]


def test_monitoring_that_alerts_gets_a_monitor_and_no_trigger() -> None:
    spec = loaded(
        monitoring={"schedule": "0 * * * *", "timezone": "Asia/Tokyo", "drift": {"method": "ks"}}
    )
    deployments = by_suffix(spec_deployments(spec))
    assert list(deployments) == ["train", "score", "monitor"]
    assert "triggers" not in deployments["train"]
    monitor = deployments["monitor"]
    assert monitor["entrypoint"] == "flows/monitor.py:monitor"
    assert monitor["tags"] == ["mlops-spec", "monitoring", "credit"]
    assert monitor["schedules"] == [{"cron": "0 * * * *", "timezone": "Asia/Tokyo"}]
    assert monitor["work_pool"] == POOL
    assert "(ks; on drift: alert)" in monitor["description"]


def test_unscheduled_monitoring_has_a_deployment_without_schedules() -> None:
    monitor = by_suffix(spec_deployments(loaded(monitoring={})))["monitor"]
    assert "schedules" not in monitor


def test_monitoring_that_retrains_triggers_the_training_deployment_on_its_own_model() -> None:
    spec = loaded(monitoring={"on_drift": "retrain", "batch": "batches/*.parquet"})
    train = by_suffix(spec_deployments(spec))["train"]
    [trigger] = train["triggers"]
    assert trigger["expect"] == [DRIFT_EVENT]
    assert trigger["match"] == {"prefect.resource.id": "mlops-spec.model.credit"}
    assert trigger["posture"] == "Reactive" and trigger["threshold"] == 1
    assert trigger["parameters"] == {"spec_path": "specs/credit.yaml"}
    assert trigger["enabled"] is True


def test_prefect_accepts_the_trigger_and_the_schedules_as_written() -> None:
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.events import DeploymentTriggerTypes
    from prefect.events.schemas.events import Resource

    spec = loaded(
        schedule={"cron": "30 4 1 * *", "timezone": "America/Los_Angeles"},
        monitoring={"on_drift": "retrain", "schedule": "*/5 * * * *"},
    )
    deployments = spec_deployments(spec)
    [raw] = by_suffix(deployments)["train"]["triggers"]
    trigger = TypeAdapter(DeploymentTriggerTypes).validate_python(raw)
    assert trigger.name == "credit-retrain-on-drift"
    assert trigger.expect == {DRIFT_EVENT}
    assert trigger.posture == "Reactive" and trigger.threshold == 1
    assert trigger.within.total_seconds() == 0
    # the model's own drift events, as the monitoring flow names them, and no other model's
    assert trigger.match.matches(Resource({"prefect.resource.id": model_resource_id("credit")}))
    assert not trigger.match.matches(Resource({"prefect.resource.id": model_resource_id("cred")}))
    for deployment in deployments:
        for schedule in deployment.get("schedules", []):
            CronSchedule(**schedule)


def test_a_custom_promotion_alias_is_the_one_scoring_names() -> None:
    spec = loaded(governance={"promotion": {"alias": "production"}})
    assert "credit@production" in by_suffix(spec_deployments(spec))["score"]["description"]


# --------------------------------------------------------------------------------------------
# the document


def test_the_document_orders_deployments_by_spec_path_whatever_the_input_order() -> None:
    specs = [loaded("zeta", "specs/a.yaml"), loaded("alpha", "specs/b.yaml", monitoring={})]
    document = prefect_document(list(reversed(specs)))
    assert [d["name"] for d in document["deployments"]] == [
        "zeta-train",
        "zeta-score",
        "alpha-train",
        "alpha-score",
        "alpha-monitor",
    ]
    assert document["name"] == "mlops-spec"
    assert document["prefect-version"] == metadata.version("prefect")


def test_two_specs_with_one_name_are_refused_naming_it() -> None:
    specs = [loaded("credit", "specs/a.yaml"), loaded("credit", "specs/b.yaml")]
    with pytest.raises(
        MlopsSpecError, match=r"share metadata\.name \(credit-score, credit-train\)"
    ):
        prefect_document(specs)


def test_no_specs_no_deployments() -> None:
    assert prefect_document([])["deployments"] == []


def test_the_rendered_file_is_the_header_then_the_document_in_its_own_order() -> None:
    document = prefect_document(
        [loaded(schedule={"cron": "0 3 * * 1"}, monitoring={"on_drift": "retrain"})]
    )
    text = render_prefect_yaml(document)
    assert text.startswith(HEADER + "\n")
    assert all(line.startswith("#") for line in HEADER.splitlines())
    assert yaml.safe_load(text) == document
    body = text[len(HEADER) :].lstrip("\n")
    assert body.startswith("name: mlops-spec\nprefect-version: ")
    first = body.index("- name: credit-train")
    assert first < body.index("- name: credit-score") < body.index("- name: credit-monitor")
