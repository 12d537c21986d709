"""Gathering the images of concurrent requests into one ONNX Runtime call.

A request's images join a queue; one worker takes everything queued (up to ``max_batch``
images, whole requests), runs it, then hands each request its rows. A lone request is run at
once (no waiting for company, so batch-1 latency is the model's); under load, the requests that
arrive while one batch runs share the next. A call runs in a thread, so that the event loop
keeps reading and decoding requests meanwhile, unless the last call took under ``INLINE_BELOW_S``:
then it runs in the loop, since the hand-over to a thread and back (two thread switches) cost
more than a small detector's 0.2 ms call on a busy core (in the server 3.5-8 ms a request, against
1.7-2 ms inline). More than ``max_queue`` waiting images turns new requests away (:class:`Busy`,
a 503) instead of queueing without bound.

    batcher = Batcher(lambda x: model.run({"x": x}), max_batch=16, max_queue=256)
    outputs = await batcher.submit(x)     # x [K, C, H, W] -> {"score": [K], ...}
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

Outputs = dict[str, np.ndarray]
INLINE_BELOW_S = 0.002


class Busy(Exception):
    """Too many images are waiting; the client should retry later."""


class Batcher:
    def __init__(self, run: Callable[[np.ndarray], Outputs], max_batch: int, max_queue: int,
                 inline_below_s: float = INLINE_BELOW_S) -> None:
        self.run, self.max_batch, self.max_queue, self.inline_below_s = run, max_batch, max_queue, inline_below_s
        self.waiting = 0  # images queued or running
        self.calls = 0  # inference calls made (for /health and the tests)
        self.last_call_s = math.inf  # the first call runs in a thread: its cost is not known yet
        self._pending: deque[tuple[np.ndarray, asyncio.Future[Outputs]]] = deque()
        self._ready: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._ready = asyncio.Event()
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def submit(self, x: np.ndarray) -> Outputs:
        if self.waiting + len(x) > self.max_queue:
            raise Busy(f"busy: {self.waiting} images are waiting (limit {self.max_queue}); retry shortly")
        future: asyncio.Future[Outputs] = asyncio.get_running_loop().create_future()
        self.waiting += len(x)
        try:
            self._pending.append((x, future))
            self._ready.set()
            return await future
        finally:
            self.waiting -= len(x)

    def _timed_run(self, batch: np.ndarray) -> Outputs:
        started = time.perf_counter()  # the call alone, not the hand-over to a thread and back
        outputs = self.run(batch)
        self.last_call_s = time.perf_counter() - started
        return outputs

    async def _work(self) -> None:
        while True:
            await self._ready.wait()
            requests = [self._pending.popleft()]
            count = len(requests[0][0])
            while self._pending and count + len(self._pending[0][0]) <= self.max_batch:
                requests.append(self._pending.popleft())
                count += len(requests[-1][0])
            if not self._pending:
                self._ready.clear()
            batch = requests[0][0] if len(requests) == 1 else np.concatenate([x for x, _ in requests])  # [sum K, C, H, W]
            try:
                if self.last_call_s < self.inline_below_s:
                    outputs = self._timed_run(batch)
                    await asyncio.sleep(0)  # let the loop answer and read requests before the next batch
                else:
                    outputs = await asyncio.to_thread(self._timed_run, batch)
            except Exception as error:  # the requests get the error; the worker keeps serving
                for _, future in requests:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.calls += 1
            start = 0
            for x, future in requests:
                if not future.done():  # a client that went away cancelled its future
                    future.set_result({name: value[start : start + len(x)] for name, value in outputs.items()})
                start += len(x)
