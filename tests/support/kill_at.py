"""Run the real mlops-spec CLI and SIGKILL it at one named moment, for the kill-matrix test.

    python -m tests.support.kill_at MODULE:ATTR[.ATTR] before|after N -- run --no-progress SPEC

The named callable (a function, a Prefect task, a method such as
``mlflow.tracking.client:MlflowClient.create_model_version``) is replaced by a wrapper whose
``N``-th call sends SIGKILL to this very process, before the call or after it returned: no
handler runs, no ``finally``, no MLflow ``end_run``, exactly as for a machine that loses
power. Product code carries no test hooks: the wrapper is set on the attribute the product
looks up at call time. Just before dying it prints one ``kill_at: ...`` line to stderr, so the
test can tell the kill it asked for from any other crash.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any


def die(where: str) -> None:
    """SIGKILL this process, after saying where (the only trace a kill leaves)."""
    print(f"kill_at: SIGKILL {where}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _owner_and_name(target: str) -> tuple[Any, str]:
    module_name, _, path = target.partition(":")
    if not path:
        raise SystemExit(f"kill_at: {target!r} is not MODULE:ATTR")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    getattr(owner, name)  # fail now, by name, if the target is wrong
    return owner, name


def arm(target: str, when: str, nth: int) -> None:
    """Replace ``target`` so that its ``nth`` call kills the process ``before`` or ``after`` it."""
    if when not in ("before", "after") or nth < 1:
        raise SystemExit(f"kill_at: expected before|after and N >= 1, got {when!r} {nth}")
    owner, name = _owner_and_name(target)
    found = getattr(owner, name)
    # A Prefect task keeps its options (the runtime reconfigures it from the plan): wrap the
    # function inside it, so the kill happens inside that task's run.
    is_task = hasattr(found, "with_options") and hasattr(found, "fn")
    original: Callable[..., Any] = found.fn if is_task else found
    calls = 0
    lock = threading.Lock()  # tuning trials call in from several threads
    where = f"{when} call {nth} of {target}"

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        with lock:
            calls += 1
            this = calls
        if when == "before" and this == nth:
            die(where)
        result = original(*args, **kwargs)
        if when == "after" and this == nth:
            die(where)
        return result

    if is_task:
        replacement = found.with_options()
        replacement.fn = functools.wraps(original)(wrapper)
        setattr(owner, name, replacement)
    else:
        setattr(owner, name, wrapper)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 4 or argv[3] != "--":
        raise SystemExit(__doc__)
    target, when, nth, cli_args = argv[0], argv[1], int(argv[2]), list(argv[4:])
    # As every entry point does, before Prefect and MLflow are imported by the target.
    from mlops_spec.runtime.environment import prepare_environment
    from mlops_spec.settings import Settings

    prepare_environment(Settings())
    arm(target, when, nth)
    from mlops_spec.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
