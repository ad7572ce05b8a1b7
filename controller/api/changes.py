"""Change feeds for watches: resourceVersions, diffs and subscribers, without an object store.

Podyard keeps no versioned store: objects are rendered afresh from in-memory views. To serve
Kubernetes watches anyway, a `ChangeHub` holds, per resource, the last render of every object
(keyed by namespace/name) and a counter shared by all resources, like etcd's revision. `sync`
renders what is stale, diffs, and turns each difference into a `WatchEvent` (ADDED, MODIFIED,
DELETED) with its own new counter value. What is stale is what `mark` was told of (the engine's
change signal: a resource, or one pod's key, which re-renders that pod alone); a hub without a
signal (`signalled` false) treats everything as stale at every sync. Unchanged objects keep their
render, their stamped copy and their encoded text, so a list of an idle resource renders nothing.
A pod replaced under the same name (a new uid) is DELETED then ADDED, as Kubernetes reports it. Each object's `metadata.resourceVersion` is the value at which it
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

Traps: a list is only as fresh as the signals: a change the engine makes without signalling it
shows at the next resync (see `controller.api.watch`). Subscribers' queues are bounded, and one
that falls behind is dropped (see `controller.api.subscription`).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable

from controller.api.subscription import (
    JSON,
    QUEUE_LIMIT,
    EventType,
    Subscription,
    WatchEvent,
)

__all__ = ["QUEUE_LIMIT", "ChangeHub", "Expired", "ObjectKey", "Subscription", "WatchEvent"]

ObjectKey = tuple[str, str]

HISTORY_LIMIT = 200
"""Recent events kept per resource: enough for a client that listed a moment ago to watch on."""


class Expired(Exception):
    """The asked resourceVersion is not in the history (Kubernetes' 410 Gone)."""


def _key(obj: JSON) -> ObjectKey:
    meta = obj["metadata"]
    return (str(meta.get("namespace", "")), str(meta["name"]))


def _versioned(obj: JSON, version: int) -> JSON:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(version)}}


class Feed:
    """One resource: its last render, its recent events, its subscribers and what is stale."""

    def __init__(
        self,
        render: Callable[[], list[JSON]],
        floor: int,
        render_keys: Callable[[set[ObjectKey]], list[JSON]] | None = None,
        topics: frozenset[str] = frozenset(),
    ) -> None:
        self.render = render
        self.render_keys = render_keys
        """Renders only the objects of the given keys (absent ones are gone), when the resource
        can; a change signalled with a key then costs one object's render, not the resource's."""
        self.topics = topics
        self.raw: dict[ObjectKey, JSON] = {}
        self.current: dict[ObjectKey, JSON] = {}
        self.history: deque[WatchEvent] = deque()
        self.floor = floor
        """Every event after this version is in `history`."""
        self.subscribers: set[Subscription] = set()
        self.stale = True
        """A full render is due: nothing rendered yet, or a change signalled without a key."""
        self.stale_keys: set[ObjectKey] = set()
        self.listing: list[JSON] | None = None
        """`current`'s values in list order, kept until the next change."""
        self.encoded: dict[ObjectKey, tuple[JSON, bytes]] = {}
        """Per object, its JSON text (with the object it encodes): reused by lists until it
        changes."""
        self.renders = 0
        """Renders of this resource (full or by key): what an idle resource must not grow."""

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
    """The counter and the feeds of every watched resource.

    `signalled` says that `mark` hears of every change (see `mark`); without it, every sync
    renders the resource afresh, as nothing says what is stale.
    """

    def __init__(self, seed: int | None = None, *, signalled: bool = False) -> None:
        self.counter = start_seed() if seed is None else seed
        self.feeds: dict[str, Feed] = {}
        self.signalled = signalled

    def add(
        self,
        resource: str,
        render: Callable[[], list[JSON]],
        *,
        render_keys: Callable[[set[ObjectKey]], list[JSON]] | None = None,
        topics: frozenset[str] = frozenset(),
    ) -> None:
        self.feeds[resource] = Feed(render, self.counter, render_keys, topics)

    def mark(self, topic: str | None = None, key: ObjectKey | None = None) -> None:
        """Something the feeds of `topic` read has changed (None: every feed, in full). A feed
        that renders by key and gets one re-renders that key only."""
        for feed in self.feeds.values():
            if topic is not None and topic not in feed.topics:
                continue
            if key is not None and feed.render_keys is not None:
                feed.stale_keys.add(key)
            else:
                feed.stale = True

    def sync(self, resource: str) -> tuple[list[JSON], int]:
        """Render what is stale of `resource` and publish what changed; its objects (list
        order: do not modify) and the counter."""
        feed = self.feeds[resource]
        if feed.stale or not self.signalled:
            self._sync_all(feed)
        elif feed.stale_keys:
            self._sync_keys(feed)
        if feed.listing is None:
            feed.listing = list(feed.current.values())
        return feed.listing, self.counter

    def _sync_all(self, feed: Feed) -> None:
        feed.renders += 1
        rendered = {_key(obj): obj for obj in feed.render()}
        feed.stale = False  # only now: a render that fails leaves it stale for the next sync
        feed.stale_keys.clear()
        for key in [k for k in feed.raw if k not in rendered]:
            self._publish(feed, "DELETED", key, feed.current[key])
        for key, obj in rendered.items():
            self._diff(feed, key, obj)
        if list(feed.current) != list(rendered):
            feed.current = {key: feed.current[key] for key in rendered}
            feed.listing = None

    def _sync_keys(self, feed: Feed) -> None:
        assert feed.render_keys is not None
        keys = set(feed.stale_keys)
        feed.renders += 1
        rendered = {_key(obj): obj for obj in feed.render_keys(keys)}
        feed.stale_keys -= keys  # only now: a render that fails leaves them stale
        added = False
        for key in keys | rendered.keys():
            obj = rendered.get(key)
            if obj is None:
                if key in feed.raw:
                    self._publish(feed, "DELETED", key, feed.current[key])
                continue
            added |= self._diff(feed, key, obj)
        if added:  # lists keep the full render's order: by namespace, then name
            feed.current = dict(sorted(feed.current.items()))
            feed.listing = None

    def _diff(self, feed: Feed, key: ObjectKey, obj: JSON) -> bool:
        """Publish how `obj` differs from the last render; True when its key was (re)added."""
        before = feed.raw.get(key)
        if before is None:
            self._publish(feed, "ADDED", key, obj)
            return True
        if before is obj or before == obj:
            return False
        if _uid(before) != _uid(obj):
            self._publish(feed, "DELETED", key, feed.current[key])
            self._publish(feed, "ADDED", key, obj)
            return True
        self._publish(feed, "MODIFIED", key, obj)
        return False

    def sync_watched(self) -> None:
        """Sync the resources someone watches. The others lose nothing by waiting: their next
        sync (a list, or a new watch) renders what is stale and finds every change."""
        for resource, feed in self.feeds.items():
            if feed.subscribers:
                self.sync(resource)

    def encode(self, resource: str, obj: JSON) -> bytes:
        """`obj` (one of `sync`'s objects) as JSON text, encoded once per change."""
        feed = self.feeds[resource]
        key = _key(obj)
        held = feed.encoded.get(key)
        if held is not None and held[0] is obj:
            return held[1]
        text = json.dumps(obj, separators=(",", ":")).encode()
        feed.encoded[key] = (obj, text)
        return text

    def _publish(self, feed: Feed, kind: EventType, key: ObjectKey, obj: JSON) -> None:
        self.counter += 1
        versioned = _versioned(obj, self.counter)
        previous = None if kind == "ADDED" else feed.current.get(key)
        feed.listing = None
        feed.encoded.pop(key, None)
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
