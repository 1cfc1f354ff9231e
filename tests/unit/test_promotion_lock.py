"""Which lock a promotion takes, and that the file lock really excludes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

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


def test_the_file_lock_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    inside: list[str] = []
    overlaps: list[bool] = []

    def promote(who: str) -> None:
        with lock._file_lock("m", tmp_path):
            overlaps.append(bool(inside))
            inside.append(who)
            time.sleep(0.2)
            inside.remove(who)

    threads = [threading.Thread(target=promote, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert overlaps == [False, False, False]
    assert (tmp_path / "locks" / "promote-m.lock").exists()
