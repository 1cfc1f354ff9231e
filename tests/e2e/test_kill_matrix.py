"""SIGKILL the real `mlops-spec run` at 14 moments across the flow; no version is left unjudged.

Each run is the real CLI in a subprocess, started through ``tests/support/kill_at.py``, which
makes the N-th call of one named function (a task, an adapter function, MLflow's own
``create_model_version``) SIGKILL the process before or after it: no handler, no ``finally``.
All runs share one state folder (so the registry accumulates what every kill left behind) and
one Prefect server (so no run pays the ephemeral server's start).

After every kill, through ``MlflowClient``: every registered version carries its lineage, its
gate decisions and a ``governance.verdict``; every alias points at a version whose verdict
allows it (``gates.alias_refusal``). Finally a plain re-run completes and is promoted. The
moment that holds the promotion lock goes last: its lease (60 s) is what the re-run waits for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlops_spec.adapters.mlflow_registry import applied_history
from mlops_spec.runtime.gates import VERDICT_TAG, VERDICTS, AliasRole, alias_refusal
from mlops_spec.runtime.rollback import champion_chain
from tests.e2e.conftest import BIN, ROOT, variant
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e

MODEL = "penguin-species"
# mlflow.register_model creates the version through the client's private method
CREATE = "mlflow.tracking.client:MlflowClient._create_model_version"
REGISTRY = "mlops_spec.adapters.mlflow_registry"
# (moment, target, before|after, which call). Order matters: tuning is killed before any run
# finished the shared study (later runs resume it and need no new trial).
MOMENTS = [
    ("entities loaded", "mlops_spec.runtime.steps:load_entities", "after", 1),
    ("features retrieved", "mlops_spec.runtime.steps:spec_features", "after", 1),
    ("data profiled", "mlops_spec.runtime.steps:profile_data", "after", 1),
    ("constraints checked", "mlops_spec.runtime.steps:check_constraints", "after", 1),
    ("mid tuning (third trial)", "mlops_spec.adapters.tuning:suggest", "before", 3),
    ("model fitted", "mlops_spec.runtime.model_steps:fit", "after", 1),
    ("model evaluated", "mlops_spec.runtime.model_steps:evaluate_model", "after", 1),
    ("gates judged", "mlops_spec.runtime.registry_steps:governance", "after", 1),
    ("model logged, just before registration", CREATE, "before", 1),
    ("just after registration", CREATE, "after", 1),
    ("challenger alias set", f"{REGISTRY}:set_alias", "after", 1),
    (
        "promote, before the lock and the alias move",
        "mlops_spec.runtime.registry_steps:promotion_lock",
        "before",
        1,
    ),
    ("promote, after the governance.status tag", f"{REGISTRY}:set_version_tags", "after", 1),
    (
        "promote, lock held, history recorded, alias not yet moved",
        f"{REGISTRY}:set_alias",
        "before",
        2,  # the first call set the challenger alias
    ),
]
KILL_AT = (sys.executable, "-m", "tests.support.kill_at")
LINEAGE = (
    "mlops_spec.spec_name",
    "mlops_spec.spec_hash",
    "git.commit",
    "data.training_frame_sha256",
    "feast.feature_refs",
    "prefect.flow_run_id",
)


def _registry_state(client: MlflowClient) -> dict[str, Any]:
    """Check the invariants; what the registry holds (versions, verdicts, aliases)."""
    versions = {
        int(v.version): dict(client.get_model_version(MODEL, v.version).tags)
        for v in client.search_model_versions(f"name='{MODEL}'")
    }
    for number, tags in versions.items():
        missing = [key for key in LINEAGE if not tags.get(key)]
        assert not missing, f"v{number} lacks lineage {missing}: {tags}"
        assert tags.get(VERDICT_TAG) in VERDICTS, f"v{number} has no verdict: {tags}"
        assert any(key.startswith("gate.") for key in tags), f"v{number} has no gates: {tags}"
    aliases = (
        {a: int(v) for a, v in client.get_registered_model(MODEL).aliases.items()}
        if versions
        else {}
    )
    for alias, number in aliases.items():
        role: AliasRole = "champion" if alias == "champion" else "challenger"
        refusal = alias_refusal(role, versions[number])
        assert refusal is None, f"{alias} -> v{number}, which may not be {role}: {refusal}"
    if "champion" in aliases:  # the history a rollback replays agrees with the alias
        model_tags = client.get_registered_model(MODEL).tags
        events = [
            json.loads(v) for k, v in sorted(model_tags.items()) if k.startswith("promotion.")
        ]
        history = [e for e in events if e.get("alias") == "champion"]
        chain = champion_chain(applied_history(history, aliases["champion"]))
        assert chain and chain[-1] == aliases["champion"], (chain, aliases)
    return {"versions": sorted(versions), "aliases": aliases}


def _run(args: list[str], env: dict[str, str], log: Path) -> int:
    with log.open("wb") as out:
        return subprocess.run(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600
        ).returncode


def test_sigkill_anywhere_leaves_only_judged_versions_and_allowed_aliases(
    demo_data: Path, tmp_path: Path, prefect_server: PrefectServer
) -> None:
    state = tmp_path / "state"
    spec = variant(tmp_path, "penguins.yaml", "penguins_kill.yaml", {"n_trials: 15": "n_trials: 4"})
    env = {**os.environ, **prefect_server.env, "MLOPS_SPEC_STATE_DIR": str(state)}
    client = MlflowClient(f"sqlite:///{state / 'mlflow.db'}", f"sqlite:///{state / 'mlflow.db'}")
    tally = []
    for i, (moment, target, when, nth) in enumerate(MOMENTS):
        log = tmp_path / f"kill-{i:02d}.log"
        started = time.monotonic()
        code = _run(
            [*KILL_AT, target, when, str(nth), "--", "run", "--no-progress", str(spec)],
            env,
            log,
        )
        output = log.read_text()
        assert code == -signal.SIGKILL, f"{moment}: exit {code}\n{output[-3000:]}"
        assert f"kill_at: SIGKILL {when} call {nth} of {target}" in output, output[-3000:]
        seen = _registry_state(client)
        tally.append((moment, f"{time.monotonic() - started:.0f}s", seen))
    started = time.monotonic()
    rerun_log = tmp_path / "rerun.log"
    code = _run([str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)], env, rerun_log)
    rerun = rerun_log.read_text()
    assert code == 0, rerun[-3000:]
    final = _registry_state(client)
    tally.append(("re-run", f"{time.monotonic() - started:.0f}s", final))
    print("\nkill matrix:", *(f"  {m}: {t} {s}" for m, t, s in tally), sep="\n")
    newest = max(final["versions"])
    assert f"{MODEL} v{newest}: promoted" in rerun, rerun[-3000:]
    assert final["aliases"] == {"champion": newest}  # a promoted version drops challenger
    audit = subprocess.run(
        [str(BIN / "mlops-spec"), "audit", MODEL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0 and "UNJUDGED" not in audit.stdout, audit.stderr[-2000:]
    assert "governance.verdict: promote" in audit.stdout
