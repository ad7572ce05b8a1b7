"""Leadership: act while holding the leases of a majority of the engines; stand by otherwise.

`run` loops forever, one step every `retry_period_seconds`:

* **standby**: try to acquire each node's lease (lease.py), all at once. When a strict majority
  of them is held (all of one or two nodes, two of three), `start_acting` runs as a task of its
  own (a slow engine start never delays a renewal) and an event `LeaderElection` ("<holder>
  became leader") is recorded. While another controller holds a lease, it is logged once per
  holder (who, which folder, which API), and served by `views`. Less than a majority is given
  back at once, so two controllers never hold a few nodes each and wait for each other forever.
* **acting**: renew each lease held, and try again to acquire the others (a node back from an
  outage). A lease lost on one node (its engine died, or did not answer within the deadline)
  fences that node only (`may_act` says no; fence.py): the engine treats it as unreachable and
  the node lifecycle moves its ReplicaSets' pods. Below a majority, `stop_acting` runs at once
  (the engine's tasks are cancelled, every pod keeps running), the other leases are given back,
  and the loop is back in standby.

Why a majority: a controller cut off from some engines cannot tell their death from its own
isolation; another controller may hold them. Two controllers can never both hold a majority, so
never both act, and a dead host (one of three) does not stop the one that acts. With two nodes a
majority is both: one node's death stops the controller there, as a single-node lease would.

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
from controller.engine.renewalgate import RenewalGate
from controller.engine.tasks import cancel_all, spawn
from controller.model.events import EventType, ObjectReference
from controller.model.lease import LEASE_NAME, LeaseHolder, LeaseView
from controller.model.meta import NodeName

log = logging.getLogger(__name__)

FAILED_RENEWAL_SPEEDUP = 4
"""After a failed renewal the next comes this many times sooner than the retry period: a lease is
lost only when every try within the renew deadline failed, so more tries make a flaky engine far
less likely to cost it (with the defaults, about 16 tries instead of 4)."""

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

    def holds_majority(self) -> bool:
        held = sum(lease.held is not None for lease in self.leases)
        return held > len(self.leases) // 2

    def may_act(self, node: NodeName) -> bool:
        """The fence's question (fence.py): acting, and `node`'s lease valid right now."""
        return self.acting and all(lease.valid() for lease in self.leases if lease.node == node)

    def renewal_gates(self) -> dict[NodeName, RenewalGate]:
        """Each node's gate, for the engine's call slots: pod calls make way for a slow renewal."""
        return {lease.node: lease.gate for lease in self.leases}

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
        if any(lease.renewal_failing or lease.acquire_failing for lease in self.leases):
            # several tries before the deadline, not three; and a lease nobody else holds is
            # not left untaken for long because one call of a flaky engine failed
            wait = wait / FAILED_RENEWAL_SPEEDUP
        for lease in self.leases:
            if lease.held is not None:
                left = lease.remaining()
                if left is not None:
                    wait = min(wait, max(0.0, left))
        return wait

    async def _acquire(self, leases: Sequence[NodeLease]) -> list[NodeLease]:
        """Try each lease at once (a hung engine delays no other); those acquired now."""
        got = await asyncio.gather(*(lease.try_acquire() for lease in leases))
        for lease in leases:
            self._announce(lease)
        return [lease for lease, ok in zip(leases, got, strict=True) if ok]

    async def _try_all(self, start_acting: Action) -> None:
        await self._acquire(self.leases)
        if self.holds_majority():
            self.acting = True
            self.terms += 1
            held = [lease for lease in self.leases if lease.held is not None]
            for lease in held:
                self._record(lease, f"{holder_name(lease.me)} became leader")
            log.info(
                "holding the lease of node(s) %s: acting",
                ", ".join(lease.node for lease in held),
            )
            self._acting_task = spawn("acting", start_acting(), forever=False)
        elif any(lease.held is not None for lease in self.leases):
            await self._release_all()  # a majority or none: see the module docstring

    async def _renew_all(self, stop_acting: Action) -> None:
        held = [lease for lease in self.leases if lease.held is not None]
        renewed = await asyncio.gather(*(lease.renew() for lease in held))
        lost = [lease for lease, ok in zip(held, renewed, strict=True) if not ok]
        for lease in lost:
            log.error("%s; no change to node %s until it is held again", lease.error, lease.node)
            self._record(
                lease,
                f"{holder_name(lease.me)} stopped leading node {lease.node}",
                EventType.WARNING,
            )
        if not self.holds_majority():  # at once: no engine call may come before the stop
            log.error(
                "holding the lease of less than a majority of the nodes: stopping at once, "
                "pods keep running"
            )
            await self._stop(stop_acting)
            await self._release_all()
            return
        back = await self._acquire(
            [lease for lease in self.leases if lease.held is None and lease not in lost]
        )
        for lease in back:
            log.info("node %s: holding its lease again", lease.node)
            self._record(lease, f"{holder_name(lease.me)} became leader")

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
