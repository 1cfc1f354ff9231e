"""Every online prediction, one JSON line each, for monitoring and the canary decision.

A JSON-lines file under the state folder (``serving/<model>/predictions.jsonl``). It records
what answered (version, route), what the other model said (shadow or champion), the latency
and whether the online store answered, which is what ``mlops-spec canary`` reads.

Writing is off the request path: ``append`` only queues the records, and a background thread
encodes and writes whatever has queued, in one ``write`` per flush, every ``flush_seconds``.
Several worker processes append to the same file, so each flush holds an exclusive ``flock``
on ``predictions.jsonl.lock`` while it checks the size, rotates and appends: lines never
interleave and exactly one writer rotates. (The standard library's ``RotatingFileHandler`` is
safe between threads, not processes.) Rotation: when a flush would take the file past
``max_bytes``, ``predictions.jsonl`` becomes ``.1``, ``.1`` becomes ``.2`` and so on, and the
file beyond ``backups`` is deleted, so the log never holds more than about
``(backups + 1) * max_bytes``. ``close`` (the service's shutdown, which SIGTERM and SIGINT
reach) writes everything still queued before it returns.
"""

from __future__ import annotations

import fcntl
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

FLUSH_SECONDS = 0.2


def log_path(state: Path, model: str) -> Path:
    return state / "serving" / model / "predictions.jsonl"


def rotated(path: Path, number: int) -> Path:
    """The ``number``-th rotated file of ``path`` (1 is the most recent)."""
    return path.with_name(f"{path.name}.{number}")


class PredictionLog:
    """A prediction log written by a background thread; ``close`` flushes it."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 64 * 2**20,
        backups: int = 5,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.flush_seconds = flush_seconds
        self._queue: queue.SimpleQueue[Sequence[dict[str, Any]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Queue ``records`` for the writer; no I/O here (the writer starts on first use)."""
        if self._writer is None:
            self._start()
        self._queue.put(records)

    def close(self) -> None:
        """Write everything queued so far and stop the writer (idempotent)."""
        with self._start_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def _start(self) -> None:
        with self._start_lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._run, name="prediction-log", daemon=True
                )
                self._writer.start()

    def _run(self) -> None:
        """Take what has queued, write it, until ``close`` sends ``None``."""
        done = False
        while not done:
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            batches, done = ([], True) if first is None else ([first], False)
            while not done:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    done = True
                else:
                    batches.append(more)
            if batches:
                self._write("".join(_line(r) for batch in batches for r in batch))

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        with self.path.with_name(f"{self.path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file closes
            if self._size() + len(data) > self.max_bytes and self._size() > 0:
                self._rotate()
            with self.path.open("ab") as out:
                out.write(data)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _rotate(self) -> None:
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        rotated(self.path, self.backups).unlink(missing_ok=True)
        for number in range(self.backups - 1, 0, -1):
            if rotated(self.path, number).exists():
                rotated(self.path, number).rename(rotated(self.path, number + 1))
        self.path.rename(rotated(self.path, 1))


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=str, sort_keys=True) + "\n"


def log_files(path: Path) -> list[Path]:
    """The log's files, oldest first: the rotated ones (highest number first), then ``path``."""
    numbered = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name.removeprefix(f"{path.name}.")
        if suffix.isdigit():
            numbered.append((int(suffix), candidate))
    return [p for _, p in sorted(numbered, reverse=True)] + ([path] if path.exists() else [])


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a prediction log and its rotated files, oldest first; a torn line (a
    killed service) is skipped."""
    for part in log_files(path):
        with part.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue
