"""A watcher's side of a change feed: the events and one subscriber's bounded queue of them.

`WatchEvent` is what the change hub (`controller.api.changes`) publishes; a `Subscription` is one
watch's queue, filtered by namespace and selector, with the selector's rewriting of events (an
object that starts matching arrives as ADDED, one that stops as DELETED).

Traps: queues are bounded; a subscriber that falls behind is dropped (its stream ends) rather
than letting memory grow. `end()` always leaves room for the end marker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import attrs

JSON = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]

QUEUE_LIMIT = 1000
"""Events waiting for one subscriber before it counts as too slow and is dropped."""


@attrs.frozen
class WatchEvent:
    type: EventType
    object: JSON
    resource_version: int
    previous: JSON | None = None
    """The object as it was before this event (for DELETED, its last state; None for ADDED):
    a selective watcher needs it to tell "stopped matching" from "never matched"."""
    lines: dict[str, bytes] = attrs.field(factory=dict, eq=False, repr=False)
    """The event as sent, per form (see `controller.api.watch`): encoded once for every watcher
    it reaches. An event rewritten for a selective watcher is a new event with its own."""


class Subscription:
    """One watcher's queue of events, filtered by namespace (None: all namespaces) and `selects`.

    With a selector, events are rewritten as the API server's watch cache does: an object that
    starts matching arrives as ADDED, one that stops matching as DELETED (with its new state), and
    one that never matched is never sent. The feed's diff stays the same for every watcher.
    """

    def __init__(
        self,
        namespace: str | None,
        limit: int = QUEUE_LIMIT,
        *,
        selects: Callable[[JSON], bool] | None = None,
    ) -> None:
        self.namespace = namespace
        self.selects = selects
        self.limit = limit
        self.dropped = False
        self.ended = False
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue(maxsize=limit + 1)

    def _passes(self, obj: JSON | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace", "") != self.namespace:
            return False
        return self.selects is None or self.selects(obj)

    def seen_as(self, event: WatchEvent) -> WatchEvent | None:
        """The event this watcher gets for `event`, or None when it concerns it not at all."""
        now = event.type != "DELETED" and self._passes(event.object)
        before = self._passes(event.previous)
        if now and before:
            return event
        if now:
            return event if event.type == "ADDED" else attrs.evolve(event, type="ADDED", lines={})
        if before:
            if event.type == "DELETED":
                return event
            return attrs.evolve(event, type="DELETED", lines={})
        return None

    def offer(self, event: WatchEvent) -> None:
        seen = None if self.ended else self.seen_as(event)
        if seen is None:
            return
        if self._queue.qsize() >= self.limit:
            self.dropped = True
            self.end()
            return
        self._queue.put_nowait(seen)

    def end(self) -> None:
        """Wake the reader with the end marker; the extra queue slot is kept for it."""
        if not self.ended:
            self.ended = True
            self._queue.put_nowait(None)

    async def next(self) -> WatchEvent | None:
        """The next event, or None once the subscription has ended."""
        return await self._queue.get()
