"""Every online prediction, one JSON line each, for monitoring and the canary decision.

A JSON-lines file under the state folder (``serving/<model>/predictions.jsonl``) is appended
to under a lock, one ``write`` per batch, so concurrent requests never interleave a line. It
records what answered (version, route), what the other model said (shadow or champion), the
latency and whether the online store answered, which is what ``mlops-spec canary`` reads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def log_path(state: Path, model: str) -> Path:
    return state / "serving" / model / "predictions.jsonl"


class PredictionLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, default=str, sort_keys=True) + "\n" for r in records)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(text)


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a prediction log; a torn last line (a killed service) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
