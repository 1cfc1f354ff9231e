"""Adaptive micro-batching: concurrent requests share one online read and one model call.

A model call costs nearly the same for 1 row as for 32 (it is per-call overhead: pandas,
the pipeline's transformers, the trees' set-up), so a service that calls the model once per
request spends its cores on overhead. Requests are queued on the event loop; one consumer
takes the first, gathers whatever else has queued (up to ``max_entities``), and scores them
together on one worker thread, while the event loop keeps reading the next requests. Each
request gets its own rows back (or its own error), in order.

The wait is adaptive. The consumer waits for more requests (at most ``max_wait`` seconds)
only while it has fewer than the last batch had, and never after an idle spell: a lone
request to an idle service is answered at once, and under steady load batches keep the size
the load gives them. A request larger than ``max_entities`` is still served whole, alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

Rows = list[dict[str, Any]]
Answer = Rows | Exception
BatchRunner = Callable[[Sequence[Rows]], list[Answer]]
T = TypeVar("T")


@dataclass
class _Pending:
    entities: Rows
    future: asyncio.Future[Rows]


class MicroBatcher:
    """Gathers requests into batches for ``run``, one batch at a time, on one thread."""

    def __init__(self, run: BatchRunner, *, max_entities: int, max_wait: float) -> None:
        self.run = run
        self.max_entities = max_entities
        self.max_wait = max_wait
        self._expected = 1  # requests the last batch gathered
        self._held: _Pending | None = None  # taken from the queue, saved for the next batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")

    def start(self) -> None:
        """Start the consumer on the running event loop (the service's startup)."""
        self._queue = asyncio.Queue()
        self._consumer = asyncio.get_running_loop().create_task(self._consume())

    async def submit(self, entities: Rows, timeout: float) -> Rows:
        """This request's rows, in order, once its batch is scored; ``TimeoutError`` after
        ``timeout`` seconds (the request is then dropped from its batch if not yet scored)."""
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        future: asyncio.Future[Rows] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(entities, future))
        return await asyncio.wait_for(future, timeout)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` on the batch thread, between batches (what shares the models'
        and the store's objects: the readiness probe)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def close(self) -> None:
        """Stop taking batches; the batch being scored finishes and answers first."""
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
        self._executor.shutdown(wait=True)

    async def _consume(self) -> None:
        while True:
            batch = await self._gather()
            live = [p for p in batch if not p.future.done()]  # timed out: nobody waits
            if not live:
                continue
            try:
                answers = await self.call(self.run, [p.entities for p in live])
            except Exception as exc:  # the model or the store broke for the whole batch
                answers = [exc] * len(live)
            for pending, answer in zip(live, answers, strict=True):
                if pending.future.done():
                    continue
                if isinstance(answer, Exception):
                    pending.future.set_exception(answer)
                else:
                    pending.future.set_result(answer)

    async def _gather(self) -> list[_Pending]:
        """The next batch: the first request, then whatever queues before the wait ends."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        waited_from = loop.time()
        first = self._held or await self._queue.get()
        self._held = None
        idle = loop.time() - waited_from > self.max_wait
        batch, size = [first], len(first.entities)
        deadline = loop.time() + self.max_wait
        while size < self.max_entities:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if idle or len(batch) >= self._expected or remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                item = self._queue.get_nowait()
            if size + len(item.entities) > self.max_entities:
                self._held = item
                break
            batch.append(item)
            size += len(item.entities)
        self._expected = len(batch)
        return batch
