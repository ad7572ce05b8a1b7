"""Pod workers: every pod key is synced by a task of its own, as the kubelet's podWorkers do.

A dispatcher takes keys from the pod work queue and starts one task per key for that one sync;
the task ends with its sync and hands the key back (`WorkQueue.done`). So a pod that waits (a
container in its termination grace period, a slow pull) holds only its own task, and every other
pod is synced meanwhile. The queue keeps its guarantees: a key is held once however often it is
added, a key being synced is never handed out again until its task is done (added meanwhile, it is
queued again then), retries are rate limited per key, timers keep only the earliest.

There is no cap on the number of pod tasks: what bounds the load on each engine is the per-node
call slots (`slots.SlottedRuntime`), which waits do not take. An idle pod has no task at all.

Traps: `sync` must not raise (the engine guards each of its steps); if it does anyway, the key is
retried at its rate-limited pace, never dropped and never in a hot loop. `stop` cancels the
dispatcher's tasks mid-sync, as a kubelet restart does; the next controller relists and carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from controller.engine.tasks import cancel_all
from controller.engine.workqueue import QueueShutDown, WorkQueue
from controller.model.meta import PodKey

log = logging.getLogger(__name__)

PodSync = Callable[[PodKey], Awaitable[None]]


class PodWorkers:
    def __init__(self, queue: WorkQueue[PodKey], sync: PodSync) -> None:
        self._queue = queue
        self._sync = sync
        self._active: dict[PodKey, asyncio.Task[None]] = {}
        self.failures_total = 0
        """Syncs that raised past the engine's own guards (a bug, retried)."""

    def active(self) -> int:
        """Pod tasks running right now (each is one pod's sync in progress)."""
        return len(self._active)

    async def dispatch(self) -> None:
        """Forever: each key the queue hands out gets a task of its own. Ends when the queue is
        shut down."""
        while True:
            try:
                key = await self._queue.get()
            except QueueShutDown:
                return
            self._active[key] = asyncio.create_task(
                self._run(key), name=f"pod-worker:{key.namespace}/{key.name}"
            )

    async def _run(self, key: PodKey) -> None:
        try:
            await self._sync(key)
        except Exception:
            self.failures_total += 1
            delay = self._queue.add_rate_limited(key)
            log.exception("pod worker of %s failed (retry in %.2fs)", key, delay)
        finally:
            del self._active[key]
            self._queue.done(key)

    def interrupt(self, key: PodKey) -> bool:
        """Cancel the sync of `key` in progress (a stop waiting out a grace period that a second
        delete shortened), and sync it again at once; False when no sync of it runs."""
        task = self._active.get(key)
        if task is None:
            return False
        task.cancel()
        task.add_done_callback(lambda done: self._release(key, done))
        self._queue.add(key)  # queued again once the cancelled task hands the key back
        return True

    def _release(self, key: PodKey, task: asyncio.Task[None]) -> None:
        """Hand back the key of a task cancelled before it ever ran (its `finally` never ran)."""
        if self._active.get(key) is task:
            del self._active[key]
            self._queue.done(key)

    async def stop(self) -> None:
        await cancel_all(list(self._active.values()))
