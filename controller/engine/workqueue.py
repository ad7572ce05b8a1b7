"""A work queue of keys, with client-go's guarantees.

- A key waiting in the queue is held once however often it is added (the `dirty` set).
- A key being processed is never handed to a second worker; added meanwhile, it is queued again when
  the first worker calls `done` (the `processing` set).
- `add_after` keeps only the earliest pending timer per key; `add_rate_limited` doubles the delay per
  consecutive failure of that key until `forget`.

Handlers anywhere in the engine only ever `add` keys; the worker re-reads all state for the key.

It reports client-go's workqueue metrics through the sink: depth, adds, retries, how long a key
waited (from its first add while queued to `get`) and how long its work took (`get` to `done`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from controller.engine.ports import Clock, MetricsSink, NoMetrics
from controller.model.telemetry import ControllerName

K = TypeVar("K")


class QueueShutDown(Exception):
    """The queue was shut down; workers end."""


class WorkQueue(Generic[K]):
    def __init__(
        self,
        clock: Clock,
        retry_initial: float = 0.05,
        retry_max: float = 30.0,
        *,
        name: ControllerName = ControllerName.POD,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._clock = clock
        self.name = name
        self._metrics: MetricsSink = metrics or NoMetrics()
        self._added_at: dict[K, float] = {}
        self._started_at: dict[K, float] = {}
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timers: dict[K, tuple[float, Callable[[], None]]] = {}
        self._failures: dict[K, int] = {}
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._shut_down = False
        self.adds_total = 0
        self.retries_total = 0
        self.on_change: Callable[[K], None] | None = None
        """Told of every key added or done (the engine's change signal: see `changesignal`)."""

    def __len__(self) -> int:
        return len(self._queue)

    def in_flight(self) -> list[float]:
        """When each key being worked on right now was handed to its worker (clock time)."""
        return list(self._started_at.values())

    @property
    def processing(self) -> int:
        return len(self._processing)

    def add(self, key: K) -> None:
        if self._shut_down or key in self._dirty:
            return
        self.adds_total += 1
        self._metrics.queue_added(self.name)
        if self.on_change is not None:
            self.on_change(key)
        self._dirty.add(key)
        self._added_at.setdefault(key, self._clock.now())
        if key not in self._processing:
            self._queue.append(key)
            self._depth_changed()
            self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        due = self._clock.now() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1]()
        cancel = self._clock.call_at(due, lambda: self._fire(key))
        self._timers[key] = (due, cancel)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> float:
        """Queue again after the key's own doubling delay; returns that delay (seconds)."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(self._retry_initial * 2.0**failures, self._retry_max)
        self.retries_total += 1
        self._metrics.queue_retried(self.name)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        while not self._queue:
            if self._shut_down:
                raise QueueShutDown
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        key = self._queue.popleft()
        self._depth_changed()
        self._processing.add(key)
        self._dirty.discard(key)
        now = self._clock.now()
        self._metrics.queue_waited(self.name, now - self._added_at.pop(key, now))
        self._started_at[key] = now
        if self._queue:
            self._wake_one()
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if self.on_change is not None:
            self.on_change(key)
        started = self._started_at.pop(key, None)
        if started is not None:
            self._metrics.queue_worked(self.name, self._clock.now() - started)
        if key in self._dirty:
            self._queue.append(key)
            self._depth_changed()
            self._wake_one()

    def _depth_changed(self) -> None:
        self._metrics.queue_depth(self.name, len(self._queue))

    def shut_down(self) -> None:
        self._shut_down = True
        for _, cancel in self._timers.values():
            cancel()
        self._timers.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
