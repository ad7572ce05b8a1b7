"""Leadership: act only while holding the lease of every engine; stand by, and say why, otherwise.

`run` loops forever, one step every `retry_period_seconds`:

* **standby**: try to acquire each node's lease (lease.py). When all are held, `start_acting` runs
  as a task of its own (a slow engine start never delays a renewal) and an event
  `LeaderElection` ("<holder> became leader") is recorded. While another controller holds a lease,
  it is logged once per holder (who, which folder, which API), and served by `views`. With several
  nodes the controller acts only while it holds all their leases: a partial set is given back at
  once, so two controllers never hold one node each and wait for each other forever.
* **acting**: renew each lease. When one is lost (another holder, or no good renewal within the
  deadline), `stop_acting` runs at once (the engine's tasks are cancelled, every pod keeps
  running), the other leases are given back, and the loop is back in standby.

`shutdown` is for SIGTERM: stop acting first, then give every lease back, so a standby takes over
at its next look instead of waiting for expiry.

Traps: `stop_acting` must be idempotent (it runs on loss and again at shutdown); `start_acting` may
be cancelled half-way (a loss during start-up) and `stop_acting` then cleans what it started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from controller.config import LeaseSettings
from controller.engine.events import EventRecorder
from controller.engine.lease import NodeLease
from controller.engine.tasks import cancel_all, spawn
from controller.model.events import EventType, ObjectReference
from controller.model.lease import LEASE_NAME, LeaseHolder, LeaseView
from controller.model.meta import NodeName

log = logging.getLogger(__name__)

Action = Callable[[], Coroutine[Any, Any, None]]


def holder_name(holder: LeaseHolder) -> str:
    """Kubernetes' identity shape for events: host name and a unique id."""
    return f"{holder.host}_{holder.id}"


class Leadership:
    def __init__(
        self,
        leases: Sequence[NodeLease],
        settings: LeaseSettings,
        *,
        events: EventRecorder | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not leases:
            raise ValueError("leadership needs at least one node")
        self.leases = list(leases)
        self.settings = settings
        self._events = events
        self._sleep = sleep
        self.acting = False
        self.terms = 0
        """How many times this controller started acting."""
        self._acting_task: asyncio.Task[None] | None = None
        self._announced: dict[str, str] = {}
        """Per node, what was last logged about the lease (logged again only when it changes)."""

    def holds_all(self) -> bool:
        return all(lease.held is not None for lease in self.leases)

    def may_act(self, node: NodeName) -> bool:
        """The fence's question (fence.py): acting, and `node`'s lease valid right now."""
        return self.acting and all(lease.valid() for lease in self.leases if lease.node == node)

    def views(self) -> list[LeaseView]:
        return [lease.view() for lease in self.leases]

    async def run(self, start_acting: Action, stop_acting: Action) -> None:
        """Forever (until cancelled): standby and acting, as the module docstring says."""
        while True:
            await self.step(start_acting, stop_acting)
            await self._sleep(self.wait())

    async def step(self, start_acting: Action, stop_acting: Action) -> None:
        """One look: renew while acting, else try to acquire (tests call it between clock moves)."""
        if self.acting:
            await self._renew_all(stop_acting)
        else:
            await self._try_all(start_acting)

    def wait(self) -> float:
        """Until the next step: the retry period, or sooner when a deadline comes first."""
        wait = self.settings.retry_period_seconds
        for lease in self.leases:
            if lease.held is not None:
                left = lease.remaining()
                if left is not None:
                    wait = min(wait, max(0.0, left))
        return wait

    async def _try_all(self, start_acting: Action) -> None:
        for lease in self.leases:
            await lease.try_acquire()
            self._announce(lease)
        if self.holds_all():
            self.acting = True
            self.terms += 1
            for lease in self.leases:
                self._record(lease, f"{holder_name(lease.me)} became leader")
            log.info(
                "holding the lease of node(s) %s: acting",
                ", ".join(lease.node for lease in self.leases),
            )
            self._acting_task = spawn("acting", start_acting(), forever=False)
        elif any(lease.held is not None for lease in self.leases):
            await self._release_all()  # all or none: see the module docstring

    async def _renew_all(self, stop_acting: Action) -> None:
        lost = [lease for lease in self.leases if not await lease.renew()]
        if not lost:
            return
        for lease in lost:
            log.error("%s; stopping at once, pods keep running", lease.error)
            self._record(lease, f"{holder_name(lease.me)} stopped leading", EventType.WARNING)
        await self._stop(stop_acting)
        await self._release_all()

    async def _stop(self, stop_acting: Action) -> None:
        self.acting = False
        task, self._acting_task = self._acting_task, None
        if task is not None:
            await cancel_all([task])
        await stop_acting()

    async def _release_all(self) -> None:
        for lease in self.leases:
            await lease.release()

    async def shutdown(self, stop_acting: Action) -> None:
        """Stop acting, then give every lease back (SIGTERM)."""
        await self._stop(stop_acting)
        held = [lease.node for lease in self.leases if lease.held is not None]
        await self._release_all()
        if held:
            log.info("released the lease of node(s) %s", ", ".join(held))

    def _announce(self, lease: NodeLease) -> None:
        """Log who holds a lease we could not take: once, and again when that changes."""
        if lease.held is not None:
            self._announced.pop(lease.node, None)
            return
        seen = lease.seen
        if seen is not None and seen.holder is not None:
            text = (
                f"node {lease.node}: the lease is held by {seen.holder.describe()}; "
                "standing by (this controller does not act on the node)"
            )
        elif lease.error:
            text = f"node {lease.node}: cannot take the lease: {lease.error}"
        else:
            return
        key = seen.holder.id if seen is not None and seen.holder is not None else text
        if self._announced.get(lease.node) != key:
            self._announced[lease.node] = key
            log.warning("%s", text)

    def _record(self, lease: NodeLease, message: str, type: EventType = EventType.NORMAL) -> None:
        if self._events is not None:
            obj = ObjectReference("Lease", "default", f"{LEASE_NAME}-{lease.node}", "")
            self._events.record(obj, type, "LeaderElection", message, host=lease.node)
