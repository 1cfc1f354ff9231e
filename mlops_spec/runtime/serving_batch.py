"""Adaptive micro-batching: concurrent requests share one online read and one model call.

A model call costs nearly the same for 1 row as for 32 (it is per-call overhead: pandas,
the pipeline's transformers, the trees' set-up), so a service that calls the model once per
request spends its cores on overhead. Requests are queued on the event loop; one consumer
takes the first, gathers whatever else has queued (up to ``max_entities``), and scores them
together. Each request gets its own rows back (or its own error), in order.

The batch is scored on the event loop's own thread, which it blocks meanwhile. Scoring is
Python (pandas, the pipeline) holding the GIL, so a second thread would not overlap with it:
the event loop would get the GIL only in 5 ms slices, and both would slow down. Blocked, the
loop leaves new requests in the socket buffers and reads them all as soon as the batch is
done, which is when the next batch wants them.

The wait is adaptive: the consumer waits only for requests the service has already received
(``Arrivals`` counts those still being read and validated), each at most ``max_wait`` seconds
after the previous one joined. A lone request to an idle service is answered at once; under
load a batch holds everything that arrived while the previous one was scored. A request
larger than ``max_entities`` is still served whole, alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Rows = list[dict[str, Any]]
Answer = Rows | Exception
BatchRunner = Callable[[Sequence[Rows]], list[Answer]]


@dataclass
class _Pending:
    entities: Rows
    future: asyncio.Future[Rows]


class MicroBatcher:
    """Gathers requests into batches for ``run``, one batch at a time."""

    def __init__(self, run: BatchRunner, *, max_entities: int, max_wait: float) -> None:
        self.run = run
        self.max_entities = max_entities
        self.max_wait = max_wait
        self.arriving = 0  # requests received and not yet submitted (``Arrivals``)
        self._held: _Pending | None = None  # taken from the queue, saved for the next batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._consumer: asyncio.Task[None] | None = None

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

    async def close(self) -> None:
        """Stop taking batches (a batch being scored has answered: it never yields)."""
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    async def _consume(self) -> None:
        while True:
            batch = await self._gather()
            live = [p for p in batch if not p.future.done()]  # timed out: nobody waits
            if not live:
                continue
            try:
                answers = self.run([p.entities for p in live])
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
        """The next batch: the first request, then more while more are arriving."""
        assert self._queue is not None
        first = self._held or await self._queue.get()
        self._held = None
        batch, size = [first], len(first.entities)
        while size < self.max_entities:
            if not self._queue.empty():
                item = self._queue.get_nowait()
            elif self.arriving <= 0:
                break  # nothing on its way: do not wait
            else:
                try:
                    item = await asyncio.wait_for(self._queue.get(), self.max_wait)
                except TimeoutError:
                    break
            if size + len(item.entities) > self.max_entities:
                self._held = item
                break
            batch.append(item)
            size += len(item.entities)
        return batch


class Arrivals:
    """ASGI middleware counting requests to ``path`` that the service has received but not
    yet submitted to ``batcher``: the batcher waits for those, and only those. The endpoint
    calls ``submitted(scope)`` as it submits; a request refused before (401, 413, 422)
    stops counting when it is answered."""

    def __init__(self, app: Any, *, batcher: MicroBatcher, path: str) -> None:
        self.app = app
        self.batcher = batcher
        self.path = path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        self.batcher.arriving += 1
        scope[_COUNTED] = True
        try:
            await self.app(scope, receive, send)
        finally:
            submitted(scope, self.batcher)


_COUNTED = "mlops_spec.arriving"


def submitted(scope: Any, batcher: MicroBatcher) -> None:
    """This request no longer arrives: it is queued, or answered (idempotent)."""
    if scope.pop(_COUNTED, False):
        batcher.arriving -= 1
