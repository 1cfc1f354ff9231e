"""Workers that open a fresh PostgreSQL study database at the same moment all get a storage.

Optuna creates its schema on first use; two processes doing it at once race in PostgreSQL's
catalog (``pg_type_typname_nsp_index``, "relation already exists"). The distributed profile
starts two flow runs on two workers against one fresh database, which is how this was found.
Plain ``RDBStorage`` loses the race in about half of these rounds on two cores (measured while
writing this test); every round must succeed through ``open_storage``.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from tests.support.services import postgres_and_redis

pytestmark = pytest.mark.integration

ROUNDS = 6
WORKERS = 4


def _open_at_once(url: str, barrier: Barrier, answers: multiprocessing.Queue[str]) -> None:
    from mlops_spec.adapters.tuning_storage import open_storage

    barrier.wait()
    try:
        open_storage(url)
        answers.put("ok")
    except Exception as exc:  # the test reports what failed instead of a bare exit code
        answers.put(f"{type(exc).__name__}: {exc}".splitlines()[0])


def test_workers_opening_a_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    databases = tuple(f"race{i}" for i in range(ROUNDS))
    with postgres_and_redis(tmp_path / "services", databases) as services:
        for database in databases:
            barrier, answers = context.Barrier(WORKERS), context.Queue()
            workers = [
                context.Process(
                    target=_open_at_once, args=(services.pg_url(database), barrier, answers)
                )
                for _ in range(WORKERS)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=120)
            assert [answers.get(timeout=5) for _ in workers] == ["ok"] * WORKERS, database
