"""Pod calls make way for a lease renewal that is slow to come back from the same engine.

Why: a renewal is a `start` of the lease container (engine/lease.py), answered by the dockerd that
is also creating and starting pods. With hundreds of pods coming up, the node's call slots keep
that dockerd saturated, a start waits behind the work, and a renewal that does not come back within
the renew deadline costs the lease: the controller stops acting (pods keep running) and takes the
lease back a moment later. A 500-pod bring-up lost it 15 times that way.

So once a renewal has been pending for `close_after` seconds (the lease's retry period, 2 s by
default: one attempt timed out, where a calm engine answers in milliseconds), the gate closes: the node's call slots (callslots.py) hand no slot to a pod's call. The urgent lane
(the relist, a ping) is still served, and the calls already in the engine finish, so the engine
drains and answers the renewal. The gate opens again when the renewal goes through, when the lease
is lost or given back, and at the latest `ceiling` seconds after it closed (a renewal that never
settles must not stop the node's pods for good).

"Pending" spans retries: a renewal attempt that failed and is tried again soon leaves it pending.

One gate per node, made beside the lease and shared by every engine term: the lease outlives the
engine it fences, and a new term's slots must see a gate that is already closed. The slots register
themselves (weakly: a finished term's slots go away with it) to be told when it opens.

Times are the event loop's, like the slots' own, so the engine tests' virtual time drives both.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from controller.model.meta import NodeName

log = logging.getLogger(__name__)

CLOSE_AFTER_SECONDS = 2.0
"""A renewal pending this long closes the gate. Not less: a saturated engine often takes a second
or two to start a container, and holding every pod call back at each such renewal would cost the
bring-up more than the lease it protects. Not much more: the rest of the renew deadline (8 s) must
be enough for the calls in flight to finish and the renewal to go through."""


class GateListener(Protocol):
    def gate_opened(self) -> None: ...


class RenewalGate:
    """Closed while the node's lease renewal is slow; the call slots hold pod calls meanwhile."""

    def __init__(
        self, node: NodeName, ceiling: float, close_after: float = CLOSE_AFTER_SECONDS
    ) -> None:
        self.node = node
        self.ceiling = ceiling
        self.close_after = close_after
        self.closed = False
        self.closings = 0
        """How many times the gate closed (a metric: podyard_lease_slow_renewals_total)."""
        self.closed_seconds = 0.0
        """How long it was closed in all, not counting a closing still going on."""
        self._pending = False
        self._closing: asyncio.TimerHandle | None = None
        self._forced_open: asyncio.TimerHandle | None = None
        self._closed_at = 0.0
        self._listeners: weakref.WeakSet[GateListener] = weakref.WeakSet()

    def listen(self, listener: GateListener) -> None:
        """`listener.gate_opened()` is called each time the gate opens (held weakly)."""
        self._listeners.add(listener)

    def pending(self) -> None:
        """A renewal was sent (or is being tried again): close the gate if it is still pending
        `close_after` seconds from its first attempt. Idempotent while pending."""
        if self._pending:
            return
        self._pending = True
        loop = asyncio.get_running_loop()
        self._closing = loop.call_later(self.close_after, self._close)

    def settled(self) -> None:
        """The renewal went through, or the lease was lost or released: open the gate."""
        self._pending = False
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        self._open("the renewal settled")

    def _close(self) -> None:
        self._closing = None
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        self.closed = True
        self.closings += 1
        self._closed_at = loop.time()
        self._forced_open = loop.call_later(self.ceiling, self._open, "its ceiling passed")
        log.info(
            "node %s: the lease renewal is slow (over %g s): pod calls wait until it settles",
            self.node,
            self.close_after,
        )

    def _open(self, why: str) -> None:
        if self._forced_open is not None:
            self._forced_open.cancel()
            self._forced_open = None
        if not self.closed:
            return
        self.closed = False
        held = asyncio.get_running_loop().time() - self._closed_at
        self.closed_seconds += held
        log.info("node %s: pod calls go on after %.1f s (%s)", self.node, held, why)
        for listener in list(self._listeners):
            listener.gate_opened()
