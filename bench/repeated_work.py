"""Count the repeated work in one `mlops-spec run`: spec loads, Feast store opens, MLflow
clients, estimator resolutions and feature-source checks, in this process.

The run is the penguins demo spec cut to 4 trials, on a fresh state folder and Prefect's
ephemeral server. Counting, not timing, so the figures do not depend on the machine's load.
Run it against another checkout (to compare before and after a change) with
``PYTHONPATH=/path/to/checkout``.

    .venv/bin/python bench/repeated_work.py
"""

from __future__ import annotations

import collections
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COUNTS: collections.Counter[str] = collections.Counter()


def _counting(owner: Any, attribute: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, attribute)

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        COUNTS[label] += 1
        return original(*args, **kwargs)

    setattr(owner, attribute, counted)


def _install() -> None:
    """Wrap before the CLI imports anything, so every ``from x import f`` sees the wrapper."""
    import feast
    import mlflow

    import mlops_spec.loader
    import mlops_spec.loader.load as load
    from mlops_spec.adapters import estimators, feast_store

    _counting(load, "load_spec", "spec loads")
    _counting(mlops_spec.loader, "load_spec", "spec loads")
    _counting(feast.FeatureStore, "__init__", "Feast stores opened")
    _counting(mlflow.MlflowClient, "__init__", "MLflow clients built")
    _counting(estimators, "resolve_estimator", "estimator resolutions")
    _counting(feast_store, "_check_source", "feature-source checks")


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="repeated-work-"))
    spec = state / "penguins.yaml"
    text = (ROOT / "specs" / "penguins.yaml").read_text().replace("n_trials: 15", "n_trials: 4")
    spec.write_text(text)
    os.environ.update(
        {
            "MLOPS_SPEC_STATE_DIR": str(state),
            "MLOPS_SPEC_PREFECT_SERVER": "ephemeral",
            "PREFECT_HOME": str(state / "prefect"),
        }
    )
    os.environ.pop("PREFECT_API_URL", None)
    os.chdir(ROOT)
    _install()
    from mlops_spec.cli import main as cli

    code = cli(["run", "--no-progress", str(spec)])
    print(f"\nexit {code}; counts in one run (4 trials):")
    for label in sorted(COUNTS):
        print(f"  {label}: {COUNTS[label]}")
    sys.exit(code)


if __name__ == "__main__":
    main()
