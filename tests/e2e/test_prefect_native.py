"""What a user sees in Prefect for the runs the CLI starts, read back through the Prefect API of
a real server (and, for the run page, in its UI in headless Chromium):

* a monitor run with no champion yet, or no batch, ends Completed as ``Skipped`` with the
  reason, no traceback, named after the model and tagged as its deployment's runs are;
* a training run's final state names its outcome (``Promoted``), it carries its deployment's
  tags, and its governance table artifact renders each gate bound as written (the UI renders
  string cells as markdown: ``>= 0.9`` must not become a blockquote);
* a second promotion leaves no concurrency-limit traceback in the server's log;
* a screenshot of the run page is written to tests/output/ui/ and its path printed.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, RunCli
from tests.e2e.test_ui_approval import CHROMIUM_ARGS, SHOTS, chromium  # noqa: F401
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e

MODEL = "penguin-species"
NO_BATCH = ".mlops/data/penguins/no-such-batches/*.parquet"


def _spec(tmp_path: Path) -> Path:
    """Penguins, quick to tune, with a monitoring block whose batch glob matches nothing."""
    text = (ROOT / "specs" / "penguins.yaml").read_text()
    assert "n_trials: 15" in text
    text = text.replace("n_trials: 15", "n_trials: 2")
    # Two trials over the demo's range can both land on a tiny C (accuracy ~0.8) and fail
    # the gates; this test needs a promoted version, so it searches where C is sensible.
    wide = "C: {float: [0.001, 100.0], log: true}"
    assert wide in text
    text = text.replace(wide, "C: {float: [1.0, 100.0], log: true}")
    text += f"monitoring:\n  batch: {NO_BATCH}\n  drift: {{method: psi, threshold: 0.25}}\n"
    path = tmp_path / "penguins_native.yaml"
    path.write_text(text)
    return path


def _runs(server: PrefectServer, flow_name: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = server.api(
        "POST",
        "/flow_runs/filter",
        {
            # runs the CLI started: the session's server also holds deployments' scheduled runs
            "flows": {"name": {"any_": [flow_name]}},
            "flow_runs": {"deployment_id": {"is_null_": True}},
            "sort": "START_TIME_DESC",
        },
    )
    return runs


def _artifact(server: PrefectServer, run_id: str, key: str) -> Any:
    found = server.api(
        "POST",
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": [key]}}},
    )
    assert found, f"no artifact {key} on flow run {run_id}"
    return found[0]


def _rendered_text(cell: str) -> str:
    """A table cell as the Prefect UI shows it: rendered as CommonMark, tags stripped."""
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(cell).strip()
    assert rendered.startswith("<p>"), f"{cell!r} renders as {rendered!r}"
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def _check_monitor_skipped(
    result: subprocess.CompletedProcess[str], server: PrefectServer, reason: str
) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{MODEL}: skipped (" in result.stdout and reason in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    latest = _runs(server, "mlops-spec-monitor")[0]
    assert latest["state_type"] == "COMPLETED" and latest["state_name"] == "Skipped"
    assert reason in latest["state"]["message"]
    assert latest["name"].startswith(f"{MODEL}-monitor-")
    assert set(latest["tags"]) == {"mlops-spec", "monitoring", MODEL}


def test_runs_read_natively_in_prefect(
    chromium: str,  # noqa: F811
    prefect_server: PrefectServer,
    cli: RunCli,
    tmp_path: Path,
) -> None:
    spec = str(_spec(tmp_path))
    env = prefect_server.env
    log_start = prefect_server.log.stat().st_size  # the server (and its log) serve the session

    _check_monitor_skipped(cli("monitor", spec, env=env), prefect_server, "no 'champion'")

    result = cli("run", "--no-progress", spec, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{MODEL} v1: promoted" in result.stdout
    run = _runs(prefect_server, "mlops-spec-train")[0]
    assert run["state_type"] == "COMPLETED" and run["state_name"] == "Promoted", run["state"]
    assert run["state"]["message"] == f"{MODEL} v1: promoted"
    assert set(run["tags"]) == {"mlops-spec", "training", MODEL}
    assert run["name"].startswith(f"{MODEL}-")

    governance = _artifact(prefect_server, run["id"], f"{MODEL}-governance")
    rows = json.loads(governance["data"])  # a table artifact's data is its JSON text
    bounds = {_rendered_text(r["gate"]): _rendered_text(r["bound"]) for r in rows}
    assert bounds["accuracy"] == ">= 0.9"
    assert bounds["f1_macro"] == ">= 0.9"
    assert bounds["f1_macro vs champion"] == "regression <= 0.02"

    _check_monitor_skipped(cli("monitor", spec, env=env), prefect_server, "no batch file")

    again = cli("run", "--no-progress", spec, env=env)  # takes the promotion limit again
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{MODEL} v2:" in again.stdout
    second = _runs(prefect_server, "mlops-spec-train")[0]
    assert second["state_name"] in {"Promoted", "Challenger"}, second["state"]
    with prefect_server.log.open("rb") as log:
        log.seek(log_start)
        server_log = log.read().decode(errors="replace")
    # creating a limit that exists makes the server log "Encountered exception in request"
    assert "IntegrityError" not in server_log, server_log[-3000:]

    print(f"run page screenshot: {_screenshot(chromium, prefect_server, run['id'])}")


def _screenshot(browser_path: str, server: PrefectServer, run_id: str) -> Path:
    """The training run's page with its Promoted state, then its governance artifact."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    page_shot = SHOTS / "prefect-run-page.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.ui_url}/runs/flow-run/{run_id}")
        page.get_by_text("Promoted").first.wait_for(timeout=60_000)
        # the logs tab: the promote step's line (the graph's labels are drawn, not text)
        page.get_by_text(f"moved {MODEL}@champion to v1").first.wait_for(timeout=60_000)
        page.screenshot(path=str(page_shot), full_page=True)
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text(f"{MODEL}-governance").first.click()
        page.get_by_text("regression <= 0.02").first.wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "prefect-governance-artifact.png"), full_page=True)
        browser.close()
    return page_shot
