"""Adult income end to end: the unmitigated model fails disparate impact on sex and is not
promoted; the same spec with the rule relaxed is promoted; a worse second run stays
challenger; every version carries its lineage; audit shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, metric, variant

pytestmark = pytest.mark.e2e

SMALL = {"n_trials: 20": "n_trials: 4", "timeout: 10m": "timeout: 3m"}
NO_CHAMPION_GATE = {
    "    - {compare_to: champion, metric: roc_auc, max_regression: 0.01}\n": "",
}
LINEAGE_KEYS = [
    "mlops_spec.spec_hash",
    "mlops_spec.spec_path",
    "git.commit",
    "data.entities_sha256",
    "data.training_frame_sha256",
    "feast.feature_refs",
    "feast.registry_fingerprint",
    "feast.service",
    "optuna.study",
    "prefect.flow_run_id",
]


def _registry(state_dir: Path, name: str) -> dict[str, object]:
    from mlops_spec.adapters import mlflow_registry

    mlflow_registry.configure(f"sqlite:///{state_dir / 'mlflow.db'}", state_dir / "mlartifacts")
    return {
        "champion": mlflow_registry.get_alias_version(name, "champion"),
        "challenger": mlflow_registry.get_alias_version(name, "challenger"),
    }


def test_adult_governance_story(cli: RunCli, state_dir: Path, tmp_path: Path) -> None:
    strict = variant(tmp_path, "adult_income.yaml", "adult_strict.yaml", SMALL)
    first = cli("run", "--no-progress", str(strict))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "adult-income v1: challenger (failed gates: fairness)" in first.stdout
    assert "disparate_impact on sex" in first.stdout
    assert _registry(state_dir, "adult-income") == {"champion": None, "challenger": 1}

    relaxed = variant(
        tmp_path,
        "adult_income.yaml",
        "adult_relaxed.yaml",
        {
            **SMALL,
            "      - {metric: disparate_impact, min: 0.8}\n": "      - {metric: disparate_impact, min: 0.2}\n",
            "      - {metric: equal_opportunity_difference, max: 0.1}\n": "      - {metric: equal_opportunity_difference, max: 0.5}\n",
        },
    )
    second = cli("run", "--no-progress", str(relaxed))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "adult-income v2: promoted" in second.stdout
    auc = metric(second.stdout, "roc_auc")
    assert auc > 0.9  # UCI's split; scikit-learn defaults reach about 0.93
    # a version that became champion is no longer a challenger
    assert _registry(state_dir, "adult-income") == {"champion": 2, "challenger": None}

    # a clearly worse challenger (a tiny model) against the champion on the same test rows
    worse = variant(
        tmp_path,
        "adult_income.yaml",
        "adult_worse.yaml",
        {
            **SMALL,
            "params: {max_iter: 200, early_stopping: false}": "params: {max_iter: 3, early_stopping: false}",
            "    learning_rate: {float: [0.02, 0.3], log: true}": "    learning_rate: {float: [0.001, 0.002]}",
            "      - {metric: disparate_impact, min: 0.8}\n": "      - {metric: disparate_impact, min: 0.0}\n",
            "      - {metric: equal_opportunity_difference, max: 0.1}\n": "      - {metric: equal_opportunity_difference, max: 1.0}\n",
            "    - {metric: roc_auc, min: 0.85}\n": "    - {metric: roc_auc, min: 0.5}\n",
        },
    )
    third = cli("run", "--no-progress", str(worse))
    assert third.returncode == 0, third.stderr[-3000:]
    assert "adult-income v3: challenger (failed gates: roc_auc vs champion)" in third.stdout
    assert "vs champion v2" in third.stdout
    assert _registry(state_dir, "adult-income") == {"champion": 2, "challenger": 3}

    from mlops_spec.adapters import mlflow_audit

    for version in ("1", "2", "3"):
        record = mlflow_audit.describe_version("adult-income", version)
        for key in LINEAGE_KEYS:
            assert record.version_tags.get(key), (version, key)
        assert "reports/fairness.json" in record.run_artifacts
        assert "reports/constraints.json" in record.run_artifacts
        assert "profiles/reference_profile.bin" in record.run_artifacts
        assert any(k.startswith("gate.") for k in record.version_tags)

    audit = cli("audit", "adult-income", "3")
    assert audit.returncode == 0, audit.stderr
    assert "git.commit" in audit.stdout and "roc_auc vs champion: FAIL" in audit.stdout
    assert "to_version=2" in audit.stdout


def test_the_mlflow_pages_tell_the_story(state_dir: Path) -> None:
    """What a practitioner sees in MLflow after the governance story above (same state):
    datasets, descriptions, the model card, the model-to-version link, classic-ML experiment,
    one role per version; and a screenshot of the champion's version page in the MLflow UI."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{state_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("adult-income", "champion")
    assert str(champion.version) == "2" and "challenger" not in champion.aliases

    card = champion.description
    for part in (
        "# adult-income v2",
        "## Intended use",
        "## Data",
        "## Test metrics",
        "## Fairness per group (sex, race)",
        "## Gates",
        "## Approval",
        "## Lineage",
    ):
        assert part in card, part
    assert "**Status:** promoted (@champion)" in card
    assert "roc\\_auc | pass" in card and "\\>= 0.85" in card  # a bound, escaped, not a quote
    assert "Female" in card and "Male" in card  # the per-group rows
    page = client.get_registered_model("adult-income").description
    assert "Census income" in page or "income" in page.lower()
    assert "## Promotion history" in page and "none → v2" in page

    run = client.get_run(champion.run_id)
    contexts = {
        tag.value
        for dataset in run.inputs.dataset_inputs
        for tag in dataset.tags
        if tag.key == "mlflow.data.context"
    }
    assert contexts == {"training", "test"}
    assert all(d.dataset.digest for d in run.inputs.dataset_inputs)
    assert "model_card.md" in [a.path for a in client.list_artifacts(champion.run_id)]
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
    model_id = champion.source.removeprefix("models:/")
    linked = json.loads(client.get_logged_model(model_id).tags["mlflow.modelVersions"])
    assert [(link["name"], str(link["version"])) for link in linked] == [("adult-income", "2")]

    _screenshot_version_page(state_dir, "adult-income", 2)


def _screenshot_version_page(state_dir: Path, name: str, version: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS, SHOTS, install_chromium
    from tests.support.mlflow_server import start_mlflow_server
    from tests.support.prefect_server import stop_process_group

    chromium = install_chromium()
    server = start_mlflow_server(state_dir / "mlflow-ui", f"sqlite:///{state_dir / 'mlflow.db'}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/#/models/{name}/versions/{version}")
            # the card is rendered as markdown: its headings are headings, not '## ' text
            page.get_by_role("heading", name="Intended use").wait_for(timeout=60_000)
            page.screenshot(path=str(SHOTS / "mlflow-version-page.png"), full_page=True)
            browser.close()
    finally:
        stop_process_group(server.process)
    print(f"screenshot: {SHOTS / 'mlflow-version-page.png'}")
