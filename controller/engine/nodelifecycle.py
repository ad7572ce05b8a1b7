"""Node lifecycle: NotReady from missing heartbeats, eviction from a lost node, and its return.

kube-controller-manager's node lifecycle controller and taint eviction, for Docker engines:
- A successful relist is the node's heartbeat. A node whose last heartbeat is older than the
  monitor grace period is NotReady (a NodeNotReady event; its pods turn Ready=False, each with a
  `NodeNotReady` event), and gets no new pods. Failing calls alone do not make it NotReady: one
  bad relist is not a lost host.
- Past each pod's eviction deadline (decide.nodelost), a ReplicaSet's pod there is evicted: its
  ReplicaSet deletes it and makes a replacement on a schedulable node (`TaintManagerEviction`).
  A bare pod stays bound and reported Unknown; nothing of a pod on an unknown node is touched.
- No pod is evicted while no node at all is Ready (Kubernetes' "full disruption"): there is
  nowhere to go, and a lone engine frozen for a minute must not come back with every
  ReplicaSet pod replaced.
- When the node is listed again, the pods evicted meanwhile are removed there *before anything
  else*: the node is draining (no pod placed on it, and no pod of its own restarted) until none of
  them has a container left, so no owner ever runs more replicas than it wants.

Trap: "knowledge before action" holds per node: eviction only removes pods from the desired
state; their containers are torn down by their pod workers once the node is known again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from controller.config import NodeLifecycleSettings
from controller.decide.nodelost import LostNode, evict_at
from controller.engine.events import EventRecorder
from controller.engine.nodes import NodeRegistry, NodeStatus
from controller.engine.pleg import record_node_event
from controller.engine.ports import Clock
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.desired import DesiredPod
from controller.model.events import EventType, ObjectReference
from controller.model.meta import NodeName, PodKey

log = logging.getLogger(__name__)

Evict = Callable[[PodKey], bool]
"""Deletes a pod its owner will replace; False when the pod has no such owner."""


class NodeLifecycle:
    def __init__(
        self,
        nodes: NodeRegistry,
        cache: ObservedCache,
        desired: DesiredStore,
        clock: Clock,
        settings: NodeLifecycleSettings,
        *,
        evict: Evict,
        forget: Callable[[PodKey], None],
        requeue: Callable[[PodKey], None],
        requeue_all: Callable[[], None],
        events: EventRecorder | None = None,
    ) -> None:
        self._nodes = nodes
        self._cache = cache
        self._desired = desired
        self._clock = clock
        self.settings = settings
        self._evict = evict
        self._forget = forget
        self.on_written_off: Callable[[], None] = lambda: None
        """Called when a node never listed is written off (the engine may settle without it)."""
        self.started_at: float | None = None
        """When the engine started: a node never listed is silent since then."""
        self._written_off: set[NodeName] = set()
        self._requeue = requeue
        self._requeue_all = requeue_all
        self._events = events
        self.evicted: dict[NodeName, set[PodKey]] = {}
        """Per node, the pods evicted from it whose containers may still be there."""
        self.evictions_paused = False
        """No node is Ready: nothing is evicted (Kubernetes' full disruption), since there is
        nowhere to move pods to and the fault is likelier the controller's own connectivity."""

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(self.settings.check_interval_seconds)

    def check(self) -> None:
        """One look at every node: heartbeats, eviction deadlines, drains."""
        now = self._clock.now()
        for status in self._nodes.all():
            self._check_heartbeat(status, now)
        nodes = self._nodes.all()
        disrupted = not any(s.ready for s in nodes)
        if not disrupted:
            self._write_off_silent(now)
        if disrupted != self.evictions_paused:
            self.evictions_paused = disrupted
            if disrupted:
                log.warning("no node is Ready: evictions paused until one is (full disruption)")
        for status in nodes:
            if status.unreachable and not disrupted:
                self._evict_due(status, now)
            if status.draining:
                self._check_drain(status.name)

    def _write_off_silent(self, now: float) -> None:
        """A node silent since start, past the grace period and the eviction timeout, no longer
        holds up the others: without this, one dead host would keep a restarted controller
        from acting anywhere."""
        if self.started_at is None:
            return
        wait = self.settings.monitor_grace_seconds + self.settings.pod_eviction_timeout_seconds
        if now - self.started_at < wait:
            return
        silent = [n for n in self._nodes.never_listed() if n not in self._written_off]
        for node in sorted(silent):
            message = f"not listed since the controller started {now - self.started_at:.0f}s ago"
            self._nodes.write_off(node, now, message)
            self._written_off.add(node)
            log.warning(
                "node %s: %s; acting without it (its ReplicaSets' pods are replaced "
                "elsewhere, its bare pods wait for it)",
                node,
                message,
            )
            if self._events is not None:
                record_node_event(self._events, node, "NodeNotReady")
        if silent:
            self.on_written_off()

    def _check_heartbeat(self, status: NodeStatus, now: float) -> None:
        heartbeat = status.last_heartbeat
        if not status.ready or heartbeat is None:
            return
        if now - heartbeat < self.settings.monitor_grace_seconds:
            return
        reason = status.last_failure or "no successful relist"
        message = f"Docker engine stopped answering: {reason}"
        if not self._nodes.mark(status.name, False, now, message):
            return
        log.warning(
            "node %s is NotReady: last heartbeat %.0fs ago: %s",
            status.name,
            now - heartbeat,
            reason,
        )
        if self._events is not None:
            record_node_event(self._events, status.name, "NodeNotReady")
        for key in sorted(self._cache.keys_on(status.name)):
            self._pod_event(key, EventType.WARNING, "NodeNotReady", "Node is not ready", status)
            self._requeue(key)  # its status turns Ready=False; its owner sees fewer ready

    def _evict_due(self, status: NodeStatus, now: float) -> None:
        since = status.last_transition
        if since is None:
            return
        for key in sorted(self._cache.keys_on(status.name)):
            desired = self._desired.get(key)
            if desired is None or not desired.owner:
                continue
            at = evict_at(
                desired.pod.spec.tolerations, since, self.settings.pod_eviction_timeout_seconds
            )
            if at is None or now < at or not self._evict(key):
                continue
            self.evicted.setdefault(status.name, set()).add(key)
            log.warning("node %s: evicting %s/%s", status.name, key.namespace, key.name)
            message = f"Marking for deletion Pod {key.namespace}/{key.name}"
            self._pod_event(key, EventType.NORMAL, "TaintManagerEviction", message, status)

    def node_known(self, node: NodeName) -> None:
        """The node was listed again after an outage: clear what was replaced meanwhile first."""
        if node in self._written_off:  # its ReplicaSet pods were replaced without being seen
            self._written_off.discard(node)
            for key in self._cache.keys_on(node):
                if self._desired.get(key) is None and self._owned(key):
                    self._forget(key)
                    self.evicted.setdefault(node, set()).add(key)
        left = self._left_behind(node)
        if not left:
            self.evicted.pop(node, None)
            return
        self._nodes.set_draining(node, True)
        log.info(
            "node %s is back: removing %d pod(s) replaced while it was away, first", node, len(left)
        )
        for key in sorted(left):
            self._requeue(key)

    def _owned(self, key: PodKey) -> bool:
        return any(c.identity.owner for c in self._cache.containers_for(key) if c.is_sandbox)

    def _left_behind(self, node: NodeName) -> set[PodKey]:
        on_node = self._cache.keys_on(node)
        return {
            key
            for key in self.evicted.get(node, set())
            if key in on_node and self._desired.get(key) is None
        }

    def _check_drain(self, node: NodeName) -> None:
        if self._left_behind(node):
            return
        self.evicted.pop(node, None)
        self._nodes.set_draining(node, False)
        log.info("node %s: the pods replaced while it was away are gone", node)
        self._requeue_all()  # its own pods, and pods waiting for room, act now

    def lost(self, node: NodeName | None, desired: DesiredPod | None) -> LostNode | None:
        """What a pod's status must say of its node, when the node is NotReady from silence."""
        status = self._nodes.get(node) if node else None
        if status is None or not status.unreachable or status.last_transition is None:
            return None
        since = status.last_transition
        if desired is None:
            return LostNode(status.name, since, given_up=True)
        at = evict_at(
            desired.pod.spec.tolerations, since, self.settings.pod_eviction_timeout_seconds
        )
        return LostNode(status.name, since, given_up=at is not None and self._clock.now() >= at)

    def _pod_event(
        self, key: PodKey, type: EventType, reason: str, message: str, node: NodeStatus
    ) -> None:
        if self._events is None:
            return
        uid = next((c.pod.uid for c in self._cache.containers_for(key) if c.is_sandbox), "")
        obj = ObjectReference("Pod", key.namespace, key.name, uid)
        self._events.record(obj, type, reason, message, host=node.name)
