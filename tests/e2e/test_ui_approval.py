"""A reviewer approves a paused training run in the real Prefect UI, in headless Chromium.

Debian's Chromium is installed by tests/support/install_chromium.sh (idempotent) and driven
with Playwright (its own browser download is never used). The test opens the paused run's page,
sees the approval-request artifact, clicks Resume, reads the summary in the form, picks
`approve`, names the reviewer, submits, and then checks MLflow through `mlops-spec audit`.
Screenshots of each step are kept in tests/output/ui/.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN, ROOT, RunCli, variant
from tests.support.prefect_server import PrefectServer

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "tests" / "output" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    script = ROOT / "tests" / "support" / "install_chromium.sh"
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=900)
    assert Path(CHROMIUM).exists()
    return CHROMIUM


def test_reviewer_approves_in_the_prefect_ui(
    chromium: str,
    prefect_server: PrefectServer,
    state_dir: Path,
    cli: RunCli,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    spec = variant(
        tmp_path,
        "penguins.yaml",
        "penguins_ui.yaml",
        {
            "n_trials: 15": "n_trials: 2",
            # a range where every trial is a good model: the gates pass, so the run pauses
            "C: {float: [0.001, 100.0], log: true}": "C: {float: [1.0, 100.0], log: true}",
            "  policy: policies/default.yaml\n": "  policy: policies/default.yaml\n"
            "  promotion: {alias: champion, approval: required, approval_timeout: 10m}\n",
        },
    )
    process = subprocess.Popen(
        [str(BIN / "mlops-spec"), "run", "--no-progress", str(spec)],
        cwd=ROOT,
        env={**os.environ, **prefect_server.env, "MLOPS_SPEC_STATE_DIR": str(state_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = ""
        deadline = time.monotonic() + 600
        while not run_id and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            paused = prefect_server.paused_runs()
            run_id = paused[0]["id"] if paused else ""
            time.sleep(1)
        assert run_id, "the run never paused"

        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{prefect_server.ui_url}/runs/flow-run/{run_id}")
            page.get_by_text("Paused").first.wait_for(timeout=60_000)
            page.screenshot(path=str(SHOTS / "1-paused-run.png"), full_page=True)
            page.get_by_text("Artifacts", exact=True).first.click()
            page.get_by_text("penguin-species-approval-request").first.wait_for(timeout=60_000)
            page.screenshot(path=str(SHOTS / "2-artifacts.png"), full_page=True)

            page.get_by_role("button", name="Resume").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("penguin-species v1: awaiting approval").wait_for(timeout=30_000)
            assert "Gates" in dialog.inner_text() and "accuracy" in dialog.inner_text()
            # the decision is a select: focus it, open its list with the keyboard, pick
            dialog.locator(".p-select-button__control").click()
            page.keyboard.press("ArrowDown")
            page.get_by_role("option", name="approve").click()
            assert dialog.locator(".p-select-button__value").inner_text() == "approve"
            boxes = dialog.locator("textarea")
            boxes.nth(0).fill("ada@example.com")
            boxes.nth(1).fill("approved in the UI")
            page.screenshot(path=str(SHOTS / "3-resume-form.png"), full_page=True)
            dialog.get_by_role("button", name="Submit").click()
            page.get_by_text("Promoted").first.wait_for(timeout=120_000)  # its state name
            page.screenshot(path=str(SHOTS / "4-completed.png"), full_page=True)
            browser.close()
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-3000:]
    assert "penguin-species v1: promoted" in out
    audit = cli("audit", "penguin-species", "@champion")
    assert "approval.decision: approve" in audit.stdout
    assert "approval.reviewer: ada@example.com" in audit.stdout
    assert "approval.comment: approved in the UI" in audit.stdout
    # the review decided: the verdict says so too, not only the status
    assert "governance.verdict: promote" in audit.stdout
    assert "governance.status: promoted" in audit.stdout
