"""Whether a process still lives: how the Optuna journal's orphaned trials and the project's
Prefect server record are judged stale (standard library only, for every layer)."""

from __future__ import annotations

import contextlib
import os


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists (also when it belongs to another user); an exited child of
    this process is reaped first, so it does not linger as a zombie that looks alive."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
