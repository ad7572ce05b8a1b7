"""PLEG: keeps the observed cache equal to one engine, and enqueues the pods that changed.

Two inputs, as the kubelet's generic PLEG plus Docker's event stream:
- the event stream (a hint): each container event re-reads that one container;
- a periodic full relist (the truth): repairs anything an event missed, and is run again after every
  reconnect of the stream, because Docker's event ring is small and lost on a daemon restart.

Both loops catch what a single relist or event raises, count it (`on_error`) and carry on: one
bad container or one broken call never ends the watching of a node. `last_relisted_at` feeds the
`pleg` health check.

Trap: a relist is a snapshot taken while workers act. Installed as it is, it would drop a container the
executor made after the snapshot was read, and the next decision would make the pod a second time
under a new uid. The cache numbers its writes, and a relist keeps whatever was written after it began.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from controller.config import RuntimeSettings
from controller.engine.claims import ClaimBook
from controller.engine.events import EventRecorder
from controller.engine.nodes import NodeRegistry
from controller.engine.ports import RELIST, Clock, ContainerRuntime, MetricsSink, NoMetrics
from controller.engine.stores import ObservedCache
from controller.model.errors import RuntimeFailure
from controller.model.events import EventType, ObjectReference
from controller.model.meta import NodeName, PodKey
from controller.model.observed import RunState, RuntimeEvent

log = logging.getLogger(__name__)

ErrorSink = Callable[[str, str, BaseException], None]
"""Told (task name, what failed, the error) about an error a loop caught and carried on after."""

EVENT_CLOCK_SLACK = 0.05
"""Seconds: Docker stamps an event a little after the state change it reports."""


class NodeWatcher:
    def __init__(
        self,
        runtime: ContainerRuntime,
        cache: ObservedCache,
        nodes: NodeRegistry,
        enqueue: Callable[[PodKey], None],
        settings: RuntimeSettings,
        clock: Clock,
        on_ready: Callable[[], None] = lambda: None,
        events: EventRecorder | None = None,
        metrics: MetricsSink | None = None,
        on_known: Callable[[NodeName], None] = lambda node: None,
        on_error: ErrorSink | None = None,
        claims: ClaimBook | None = None,
        read_elsewhere: Callable[[RuntimeEvent], bool] = lambda event: False,
    ) -> None:
        self.runtime = runtime
        self._read_elsewhere = read_elsewhere
        """True for an event whose container the executor reads itself (see `_on_event`)."""
        self._claims = claims
        self._on_error: ErrorSink = on_error or _log_error
        self._metrics: MetricsSink = metrics or NoMetrics()
        self._connections = 0
        """Event-stream (re)connections seen; every one after the first is a reconnect."""
        self._cache = cache
        self._nodes = nodes
        self._enqueue = enqueue
        self._settings = settings
        self._clock = clock
        self._on_ready = on_ready
        self._on_known = on_known
        """Called when a relist succeeds for a node that was not known (see nodes.py), right
        after the cache holds its containers and before anything else runs."""
        self._events = events
        self._relist_lock = asyncio.Lock()
        self.failing_since: float | None = None
        """Clock time of the first failed relist in the current run of failures; None if the last
        relist succeeded."""
        self.prepared = True
        """False until the node's sandbox image is resolved; the node is not Ready before."""
        self.relists_total = 0
        self.last_relist_seconds = 0.0
        self.last_relisted_at: float | None = None
        """Clock time the last successful relist began; None before the first."""

    async def relist(self) -> bool:
        """Read the whole engine; True on success. Serialized: one relist at a time per node."""
        node = self.runtime.node
        async with self._relist_lock:
            started = self._clock.now()
            elapsed = time.monotonic()
            since = self._cache.mark()
            try:
                containers, volumes, claim_volumes = await asyncio.gather(
                    self.runtime.list_containers(),
                    self.runtime.list_volumes(),
                    self.runtime.list_claim_volumes(),
                )
            except RuntimeFailure as failure:
                # no action on its pods until a relist succeeds; NotReady is nodelifecycle's
                # verdict, once the heartbeats stayed away for the grace period
                self._nodes.failed(node, str(failure))
                if self.failing_since is None:
                    self.failing_since = self._clock.now()
                    log.warning("node %s: relist failed, trying again soon: %s", node, failure)
                return False
            self.failing_since = None
            if not self.prepared:
                if self._nodes.mark(node, False, self._clock.now(), "sandbox image not prepared"):
                    self._node_event(node, "NodeNotReady")
            elif self._nodes.mark(node, True, self._clock.now()):
                log.info("node %s is Ready", node)
                self._node_event(node, "NodeReady")
                self._on_ready()  # pods waiting for a node are looked at again now
            if self._claims is not None:
                self._claims.replace_node(node, claim_volumes, started)
            for key in self._cache.replace_node(node, containers, volumes, since):
                self._enqueue(key)
            if self._nodes.relisted(node):
                self._on_known(node)  # no await between: nothing acts on a half-known node
            self.relists_total += 1
            self.last_relisted_at = started
            self.last_relist_seconds = self._clock.now() - started
            self._metrics.relisted(node, time.monotonic() - elapsed, self._clock.now())
            return True

    def _node_event(self, node: NodeName, reason: str) -> None:
        if self._events is not None:
            record_node_event(self._events, node, reason)

    @property
    def relist_task(self) -> str:
        return f"relist:{self.runtime.node}"

    @property
    def events_task(self) -> str:
        return f"events:{self.runtime.node}"

    async def relist_forever(self) -> None:
        """Relist every interval; after a failure (counted if it is an error) relist again soon,
        the wait doubling from `relist_retry_seconds` back up to the interval."""
        interval = self._settings.relist_interval_seconds
        retry = self._settings.relist_retry_seconds
        while True:
            ok = False
            try:
                ok = await self.relist()
            except Exception as exc:
                self._on_error(self.relist_task, "relist", exc)
            if ok:
                retry = self._settings.relist_retry_seconds
                await asyncio.sleep(interval)
            else:  # soon again, backing off to the interval: the node's pods wait for it
                await asyncio.sleep(min(retry, interval))
                retry = min(retry * 2, interval)

    async def watch_events(self) -> None:
        """Follow the event stream; one event that fails to apply is counted and skipped (the
        next relist repairs what it missed). The stream itself failing ends the task, for its
        supervisor to restart."""
        async for event in self.runtime.events():
            try:
                if event.action == RELIST:
                    self._connections += 1
                    if self._connections > 1:
                        self._metrics.event_stream_reconnected(self.runtime.node)
                    await self.relist()
                    continue
                await self._on_event(event)
            except Exception as exc:
                self._on_error(self.events_task, f"{event.action} event", exc)

    async def _on_event(self, event: RuntimeEvent) -> None:
        if self._already_seen(event) or self._read_elsewhere(event):
            return
        try:
            observed = await self.runtime.inspect_container(event.container_id)
        except RuntimeFailure as failure:
            log.debug("inspect after %s event failed: %s", event.action, failure)
            return
        if observed is not None:
            self._enqueue(self._cache.upsert(observed))
            return
        key = self._cache.remove(self.runtime.node, event.container_id)
        if key is None and event.pod is not None:
            key = event.pod.key
        if key is not None:
            self._enqueue(key)

    def _already_seen(self, event: RuntimeEvent) -> bool:
        """True when the cache already reflects the event (the executor re-read the container
        after acting), so re-reading it would only double the engine calls of a bring-up."""
        cached = self._cache.get(self.runtime.node, event.container_id)
        if cached is None or not event.time_ns:
            return False
        when = event.time_ns / 1e9 - EVENT_CLOCK_SLACK
        if event.action == "create":
            return True
        if event.action == "start":
            return cached.state is RunState.RUNNING and (cached.started_at or 0) >= when
        return False


def record_node_event(events: EventRecorder, node: NodeName, reason: str) -> None:
    """The kubelet's NodeReady / NodeNotReady events (Normal, as Kubernetes records them)."""
    obj = ObjectReference("Node", "", node, node)
    message = f"Node {node} status is now: {reason}"
    events.record(obj, EventType.NORMAL, reason, message, host=node)


def _log_error(task: str, what: str, exc: BaseException) -> None:
    log.error("task %s: %s failed; carrying on", task, what, exc_info=exc)
