"""Debian's Chromium for the UI tests, installed by install_chromium.sh and driven with
Playwright (Playwright's own browser download is never used: the machine has no internet)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "tests" / "output" / "ui"


def install_chromium() -> str:
    """The browser's path, installing it first if needed (idempotent)."""
    script = ROOT / "tests" / "support" / "install_chromium.sh"
    subprocess.run(["bash", str(script)], check=True, capture_output=True, timeout=900)
    assert Path(CHROMIUM).exists()
    return CHROMIUM
