"""Change feeds for watches: resourceVersions, diffs and subscribers, without an object store.

Podyard keeps no versioned store: objects are rendered afresh from in-memory views. To serve
Kubernetes watches anyway, a `ChangeHub` holds, per resource, the last render of every object
(keyed by namespace/name) and a counter shared by all resources, like etcd's revision. `sync`
renders again, diffs, and turns each difference into a `WatchEvent` (ADDED, MODIFIED, DELETED)
with its own new counter value; a pod replaced under the same name (a new uid) is DELETED then
ADDED, as Kubernetes reports it. Each object's `metadata.resourceVersion` is the value at which it
last changed, and a list is consistent with the counter it reports because list handlers sync
before answering (a sync runs without awaiting, so nothing interleaves).

A bounded history of recent events per resource lets a client that listed at version N watch from
N with no gap and no duplicate; a version older than the history, or from another controller run
(above the counter), is `Expired`, which Kubernetes clients answer by listing again.

The counter does not start at 0: it starts at the controller's start time in microseconds
(`start_seed`). Versions therefore never repeat across runs: a run would need more than one change
per microsecond of its life to reach the next run's seed. A client that resumes, after a restart,
from a version of an earlier run asks for a version below the new floor and gets 410, instead of
silently missing the changes the new run numbered with the same values.

Traps: subscriber queues are bounded; a subscriber that falls behind is dropped (its stream ends)
rather than letting memory grow. `end()` always leaves room for the end marker.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Literal

import attrs

JSON = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
ObjectKey = tuple[str, str]

HISTORY_LIMIT = 200
"""Recent events kept per resource: enough for a client that listed a moment ago to watch on."""

QUEUE_LIMIT = 1000
"""Events waiting for one subscriber before it counts as too slow and is dropped."""


class Expired(Exception):
    """The asked resourceVersion is not in the history (Kubernetes' 410 Gone)."""


@attrs.frozen
class WatchEvent:
    type: EventType
    object: JSON
    resource_version: int
    previous: JSON | None = None
    """The object as it was before this event (for DELETED, its last state; None for ADDED):
    a selective watcher needs it to tell "stopped matching" from "never matched"."""


def _key(obj: JSON) -> ObjectKey:
    meta = obj["metadata"]
    return (str(meta.get("namespace", "")), str(meta["name"]))


def _versioned(obj: JSON, version: int) -> JSON:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(version)}}


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
            return event if event.type == "ADDED" else attrs.evolve(event, type="ADDED")
        if before:
            return event if event.type == "DELETED" else attrs.evolve(event, type="DELETED")
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


class Feed:
    """One resource: its last render, its recent events and its subscribers."""

    def __init__(self, render: Callable[[], list[JSON]], floor: int) -> None:
        self.render = render
        self.raw: dict[ObjectKey, JSON] = {}
        self.current: dict[ObjectKey, JSON] = {}
        self.history: deque[WatchEvent] = deque()
        self.floor = floor
        """Every event after this version is in `history`."""
        self.subscribers: set[Subscription] = set()

    def record(self, event: WatchEvent) -> None:
        self.history.append(event)
        while len(self.history) > HISTORY_LIMIT:
            self.floor = self.history.popleft().resource_version
        for subscriber in list(self.subscribers):
            subscriber.offer(event)
            if subscriber.ended:
                self.subscribers.discard(subscriber)


def start_seed() -> int:
    """The first resourceVersion of a run: wall time in microseconds (see the module docstring).

    Trap: a wall clock stepped back between two runs by more than a run's lifetime could make
    versions meet again; clients would then see 410 less often, never a wrong object.
    """
    return time.time_ns() // 1000


class ChangeHub:
    """The counter and the feeds of every watched resource."""

    def __init__(self, seed: int | None = None) -> None:
        self.counter = start_seed() if seed is None else seed
        self.feeds: dict[str, Feed] = {}

    def add(self, resource: str, render: Callable[[], list[JSON]]) -> None:
        self.feeds[resource] = Feed(render, self.counter)

    def sync(self, resource: str) -> tuple[list[JSON], int]:
        """Render `resource`, publish what changed; its objects (render order) and the counter."""
        feed = self.feeds[resource]
        rendered = {_key(obj): obj for obj in feed.render()}
        for key in [k for k in feed.raw if k not in rendered]:
            self._publish(feed, "DELETED", key, feed.current[key])
        for key, obj in rendered.items():
            before = feed.raw.get(key)
            if before is None:
                self._publish(feed, "ADDED", key, obj)
            elif before != obj and _uid(before) != _uid(obj):
                self._publish(feed, "DELETED", key, feed.current[key])
                self._publish(feed, "ADDED", key, obj)
            elif before != obj:
                self._publish(feed, "MODIFIED", key, obj)
        order = list(rendered)
        return [feed.current[key] for key in order], self.counter

    def sync_watched(self) -> None:
        """Sync the resources someone watches. The others lose nothing by waiting: their next
        sync (a list, or a new watch) diffs against the last render and finds every change."""
        for resource, feed in self.feeds.items():
            if feed.subscribers:
                self.sync(resource)

    def _publish(self, feed: Feed, kind: EventType, key: ObjectKey, obj: JSON) -> None:
        self.counter += 1
        versioned = _versioned(obj, self.counter)
        previous = None if kind == "ADDED" else feed.current.get(key)
        if kind == "DELETED":
            feed.raw.pop(key, None)
            feed.current.pop(key, None)
        else:
            feed.raw[key] = obj
            feed.current[key] = versioned
        feed.record(WatchEvent(kind, versioned, self.counter, previous))

    def subscribe(
        self,
        resource: str,
        namespace: str | None,
        since: int | None,
        *,
        selects: Callable[[JSON], bool] | None = None,
    ) -> tuple[list[WatchEvent], Subscription]:
        """Events to send first, then a live subscription; `since` None means "from now, in full".

        Without `since` the first events are every current object as ADDED; with it, the
        history's events after `since` (none when it is the current version). Either way only
        what the namespace and `selects` let through, as the subscription will (`seen_as`).
        """
        objects, counter = self.sync(resource)
        feed = self.feeds[resource]
        subscription = Subscription(namespace, selects=selects)
        if since is None:
            first: Iterable[WatchEvent] = (
                WatchEvent("ADDED", obj, int(obj["metadata"]["resourceVersion"])) for obj in objects
            )
        elif feed.floor <= since <= counter:
            first = (event for event in feed.history if event.resource_version > since)
        else:
            raise Expired(f"too old resource version: {since} ({counter})")
        feed.subscribers.add(subscription)
        seen = (subscription.seen_as(event) for event in first)
        return [event for event in seen if event is not None], subscription

    def unsubscribe(self, resource: str, subscription: Subscription) -> None:
        self.feeds[resource].subscribers.discard(subscription)

    def close(self) -> None:
        """End every subscription (the server is shutting down)."""
        for feed in self.feeds.values():
            for subscriber in feed.subscribers:
                subscriber.end()
            feed.subscribers.clear()


def _uid(obj: JSON) -> object:
    return obj["metadata"].get("uid")
