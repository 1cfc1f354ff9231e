"""The prediction log is written off the request path and loses nothing: ``close`` writes
everything queued, several writers (threads here, processes in the service: the same
``flock``) never interleave a line, and rotation keeps ``log_backups`` files, oldest first
when read back."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from mlops_spec.runtime.prediction_log import PredictionLog, log_files, read_log, rotated


def _records(writer: int, count: int) -> list[dict[str, int]]:
    return [{"writer": writer, "n": n, "pad": 0} for n in range(count)]


def test_close_writes_everything_queued(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions.jsonl", flush_seconds=60)
    for n in range(500):
        log.append(_records(n, 2))
    log.close()
    assert len(list(read_log(log.path))) == 1000
    log.close()  # idempotent


def test_concurrent_writers_never_interleave_a_line(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    logs = [PredictionLog(path, flush_seconds=0.01) for _ in range(4)]  # as 4 workers

    def write(writer: int) -> None:
        for n in range(200):
            logs[writer].append([{"writer": writer, "n": n}])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in logs:
        log.close()
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line whole
    assert len(records) == 800
    for writer in range(4):
        assert [r["n"] for r in records if r["writer"] == writer] == list(range(200))


def test_rotation_keeps_the_newest_backups(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    line = len(json.dumps({"writer": 0, "n": 10, "pad": 0}, sort_keys=True)) + 1
    log = PredictionLog(path, max_bytes=10 * line, backups=2, flush_seconds=60)
    for n in range(10, 55):  # two digits each: every line the same length
        log.append([{"writer": 0, "n": n, "pad": 0}])
        log.close()  # one flush per record, so each file holds exactly 10
    assert log_files(path) == [rotated(path, 2), rotated(path, 1), path]
    assert not rotated(path, 3).exists()
    kept = [r["n"] for r in read_log(path)]
    assert kept == list(range(30, 55))  # the two newest full files, then the current one
    assert all(p.stat().st_size <= 10 * line for p in log_files(path))


def test_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"n": 1}\n{"n": 2')
    assert list(read_log(path)) == [{"n": 1}]
