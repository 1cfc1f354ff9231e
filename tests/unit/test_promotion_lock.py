"""Which lock a promotion takes, and that the file lock really excludes."""

from __future__ import annotations

import fcntl
import json
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlops_spec.runtime import promotion_lock as lock


def test_the_file_lock_serves_this_machine_and_the_limit_any_other_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert lock._shared_beyond_this_machine(tmp_path) is False  # ephemeral
    record = {"pid": 1, "port": 4321, "started_at": "2026-12-02T00:00:00+00:00"}
    (tmp_path / "prefect-server.json").write_text(json.dumps(record))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4321/api")
    assert lock._shared_beyond_this_machine(tmp_path) is False  # the project's own server
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.internal:4200/api")
    assert lock._shared_beyond_this_machine(tmp_path) is True


def test_the_file_lock_lets_one_holder_in_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each holder stays inside until every thread still to come has been turned away twice
    while it holds the lock (the second refusal began after the holder was in), so the
    contention is proven rather than hoped for during a sleep."""
    names = ["t0", "t1", "t2"]
    refused: Counter[str] = Counter()
    changed = threading.Condition()

    def counting_flock(handle: Any, operation: int) -> None:
        try:
            fcntl.flock(handle, operation)
        except BlockingIOError:
            with changed:
                refused[threading.current_thread().name] += 1
                changed.notify_all()
            raise

    monkeypatch.setattr(
        lock,
        "fcntl",
        SimpleNamespace(
            flock=counting_flock,
            LOCK_EX=fcntl.LOCK_EX,
            LOCK_NB=fcntl.LOCK_NB,
            LOCK_UN=fcntl.LOCK_UN,
        ),
    )
    inside: list[str] = []
    overlaps: list[bool] = []
    served: list[str] = []
    unproven: list[str] = []

    def promote() -> None:
        me = threading.current_thread().name
        with lock._file_lock("m", tmp_path):
            overlaps.append(bool(inside))
            inside.append(me)
            served.append(me)
            with changed:
                waiting = [name for name in names if name not in served]
                seen = {name: refused[name] for name in waiting}
                if not changed.wait_for(
                    lambda: all(refused[name] >= seen[name] + 2 for name in waiting), timeout=10
                ):
                    unproven.append(me)
            inside.remove(me)

    threads = [threading.Thread(target=promote, name=name) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(served) == names
    assert unproven == [], "the others were never seen waiting"
    assert overlaps == [False, False, False]
    assert (tmp_path / "locks" / "promote-m.lock").exists()
