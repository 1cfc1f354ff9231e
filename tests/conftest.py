"""Test-wide settings: quiet, offline libraries and a project root that is this checkout."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

for key, value in {
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "WHYLOGS_NO_ANALYTICS": "True",
    "FEAST_USAGE": "False",
    # Runs use Prefect's temporary server unless a test asks for the project-local server
    # (tests/e2e/test_local_server.py) or points at the shared test server: a server started
    # per state folder would outlive the test that started it.
    "MLOPS_SPEC_PREFECT_SERVER": "ephemeral",
}.items():
    os.environ.setdefault(key, value)

# A real local Prefect server for the tests that ask for the `prefect_server` fixture.
pytest_plugins = ["tests.support.prefect_server"]
