"""Canary rules add to the gates, never replace them: a real `mlops-spec serve` in canary mode.

The set-up is test_serving's (v1 trained and champion; v2, v3 judged as passing). Here v4 is
the champion's own model registered with a failed gate (verdict ``keep-challenger``) and v5 the
same model with no verdict at all. v4 agrees with the champion on every canary request, which
the canary rules alone would promote: the decision is ``refused``, v4 leaves traffic and the
audit shows why. v5 is refused by the service's loader and by the canary in one line each.
"""

from __future__ import annotations

import time

import httpx
import pytest

from mlops_spec.adapters import mlflow_registry as reg
from mlops_spec.adapters.feast_online import OnlineFeatures
from tests.e2e import test_serving
from tests.e2e.test_serving import (
    IDS,
    MODEL,
    Setup,
    _aliases,
    _every_worker,
    _log,
    _predict,
    serving,
)

# test_serving's module fixture, instantiated again for this module under this name.
serving_setup = test_serving.setup

pytestmark = pytest.mark.e2e

FAILED_GATES = {
    "mlops_spec.spec_name": MODEL,
    "gate.0.accuracy": "pass: accuracy = 0.9700",
    "gate.1.f1_macro": "FAIL: f1_macro = 0.8500",
    "governance.verdict": "keep-challenger",
}


def _register_copies(setup: Setup) -> tuple[int, int]:
    """v4 (failed its gates) and v5 (unjudged): both the champion's own model."""
    champion = reg.load_model(f"models:/{MODEL}/1")
    online = OnlineFeatures(setup.repo, service="penguin_features_v1")
    X = online.get([{"penguin_id": i} for i in IDS[:5]])[list(champion.feature_names_in_)]
    versions = []
    with reg.tracked_run("canary-gate-tests", "copies") as run_id:
        for tags in (FAILED_GATES, {"mlops_spec.spec_name": MODEL}):
            info = reg.log_and_register_model(
                champion,
                run_id=run_id,
                registered_name=MODEL,
                input_example=X,
                pip_requirements=reg.pinned_requirements(),
                tags=tags,
            )
            versions.append(info.version)
    return versions[0], versions[1]


def test_a_canary_that_failed_its_gates_is_refused_and_leaves_traffic(
    serving_setup: Setup,
) -> None:
    setup = serving_setup
    failed, unjudged = _register_copies(setup)
    _aliases(champion=1, challenger=failed)
    spec = setup.spec(
        "canary_gates.yaml",
        "{mode: canary, canary_percent: 30, reload_seconds: 1, canary: {min_requests: 40}}",
    )
    with serving(setup, spec) as client:
        assert client.get("/health").json()["candidate_version"] == failed
        before = len(_log(setup))
        answers = _predict(client, IDS)
        logged = _log(setup, at_least=before + len(IDS))  # written in the background
        canaried = [r for r in logged if r["route"] == "canary" and r["version"] == failed]
        assert len(canaried) >= 40 and {a["version"] for a in answers} == {1, failed}
        agreeing = sum(r["prediction"] == r["champion_prediction"] for r in canaried)
        assert agreeing / len(canaried) >= 0.9  # the canary rules alone would promote it

        decided = setup.cli("canary", str(spec))
        assert decided.returncode == 0, decided.stderr[-3000:]
        assert (
            f"canary v{failed} (champion v1): refused (v{failed} may not be promoted: it failed "
            "its gates (f1_macro))" in decided.stdout
        ), decided.stdout
        assert reg.get_alias_version(MODEL, "champion") == 1
        assert reg.get_alias_version(MODEL, "challenger") is None
        _every_worker(client.base_url, "candidate_version", None)
        assert {a["route"] for a in _predict(client, IDS[:50])} == {"champion"}
        audit = setup.cli("audit", MODEL, str(failed))
        assert "canary.decision: refused" in audit.stdout
        assert "governance.status: canary-refused" in audit.stdout
        assert "kind=canary-refused" in audit.stdout and f"from_version={failed}" in audit.stdout
        assert "may be: challenger only (it failed its gates (f1_macro))" in audit.stdout

        # An unjudged candidate: the running service does not load it, the canary refuses it.
        reg.set_alias(MODEL, "challenger", unjudged)
        reload_error = _reload_error(client)
        assert f"v{unjudged} may not be served as challenger: unjudged" in reload_error
        assert client.get("/health").json()["candidate_version"] is None
        decided = setup.cli("canary", str(spec))
        assert decided.returncode == 1
        errors = [line for line in decided.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and f"v{unjudged} is unjudged" in errors[0], decided.stderr
        assert reg.get_alias_version(MODEL, "challenger") is None
        assert "UNJUDGED" in setup.cli("audit", MODEL, str(unjudged)).stdout

    # An unjudged champion: the service does not start, in one line.
    _aliases(champion=unjudged, challenger=None)
    try:
        started = setup.cli("serve", str(spec), "--port", "1")
        assert started.returncode == 1
        errors = [line for line in started.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "may not be served as champion: unjudged" in errors[0]
    finally:
        _aliases(champion=1, challenger=None)


def _reload_error(client: httpx.Client) -> str:
    """The watcher's last reload error, once it has one (it re-reads every second)."""
    deadline = time.monotonic() + 30
    while not (error := client.get("/health").json()["last_reload_error"]):
        assert time.monotonic() < deadline, "the service never tried the new candidate"
        time.sleep(0.2)
    return str(error)
