"""Node readiness and knowledge: what the controller may conclude about each node.

A relist that succeeds is a heartbeat and marks the node Ready; a node whose last heartbeat is
older than the monitor grace period is NotReady (nodelifecycle decides it, as Kubernetes' node
lifecycle controller does from the kubelet's heartbeats). Pods are only ever bound to schedulable
nodes: Ready, and not draining what was replaced while they were away (decide.scheduling).

Knowledge is apart from readiness: a node is *known* once a relist of it succeeded since start, or
since it was last unreachable (a node whose sandbox image is not ready yet is known, not Ready).
Trap: the cache keeps what an unreachable node last showed, and shows nothing for a node never
listed; neither is evidence that a pod is gone, so no deletion is decided for pods on a node that
is not known, and no pod is created before every node was listed once (it may run there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from controller.config import CapacityOverrides, NodeSettings
from controller.decide.nodelost import UNREACHABLE_TAINTS
from controller.model.meta import NodeName
from controller.model.observed import EngineInfo, NodeCapacity
from controller.model.placement import Taint

HOSTNAME_LABEL = "kubernetes.io/hostname"
"""Set on every node to its name, as the kubelet does: node affinity can pin a pod by it."""


@attrs.frozen
class NodeStatus:
    name: NodeName
    ready: bool
    host_ip: str
    last_heartbeat: float | None = None
    message: str = ""
    capacity: NodeCapacity | None = None
    """The engine host's CPU cores and memory, once read (Podyard reserves none: allocatable
    equals capacity)."""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    taints: tuple[Taint, ...] = ()
    overrides: CapacityOverrides = CapacityOverrides()
    """Capacity the nodes file sets, winning over what the engine reports."""
    last_transition: float | None = None
    """When `ready` last changed (None: never was Ready)."""
    last_failure: str = ""
    """Why the last relist failed (kept while the node answers again, for the NotReady story)."""
    written_off: bool = False
    """Never listed since start, and silent past the grace period and the eviction timeout:
    the controller acts without it (see nodelifecycle); pods it may hold are not recreated
    elsewhere, except a ReplicaSet's, which are replaced as if evicted."""
    draining: bool = False
    """Back after an outage, with pods replaced meanwhile still there: no pod is placed on it
    and nothing of its own pods runs again until those are gone (see nodelifecycle)."""

    @property
    def effective_taints(self) -> tuple[Taint, ...]:
        """The configured taints, and Kubernetes' unreachable taints while it is lost."""
        return self.taints + (UNREACHABLE_TAINTS if self.unreachable else ())

    @property
    def schedulable(self) -> bool:
        """New pods may be bound here: Ready, and not clearing what was replaced meanwhile."""
        return self.ready and not self.draining

    @property
    def unreachable(self) -> bool:
        """NotReady because the engine stopped answering (Kubernetes' unreachable taint), not
        because the node is still preparing."""
        return not self.ready and (self.last_heartbeat is not None or self.written_off)

    @property
    def engine(self) -> EngineInfo | None:
        """Who the node's engine is (ID, version, OS, kernel), read with its capacity."""
        return self.capacity.engine if self.capacity is not None else None


def node_status(settings: NodeSettings) -> NodeStatus:
    """A node as its settings describe it, not yet heard from."""
    name = NodeName(settings.name)
    labels = {HOSTNAME_LABEL: settings.name, **settings.labels}
    return NodeStatus(
        name,
        False,
        settings.host_ip,
        labels=labels,
        taints=settings.taints,
        overrides=settings.capacity,
    )


class _Statuses(dict[NodeName, NodeStatus]):
    """The statuses by node, telling `on_change` of every status written (a node's view reads
    its status only)."""

    on_change: Callable[[], None] | None = None

    def __setitem__(self, name: NodeName, status: NodeStatus) -> None:
        super().__setitem__(name, status)
        if self.on_change is not None:
            self.on_change()


class NodeRegistry:
    def __init__(self, nodes: Mapping[NodeName, str | NodeSettings]) -> None:
        """`nodes` maps each node name to its settings, or just to the address its host ports
        are published on."""
        self._nodes = _Statuses(
            {
                name: node_status(
                    given if isinstance(given, NodeSettings) else NodeSettings(name, host_ip=given)
                )
                for name, given in nodes.items()
            }
        )
        self._known: set[NodeName] = set()
        self._listed: set[NodeName] = set()
        """Nodes relisted successfully at least once since start (never forgotten)."""

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever a node's status is written (the engine's change signal)."""
        self._nodes.on_change = listener

    def relisted(self, name: NodeName) -> bool:
        """A relist of `name` succeeded; True when the node was not known before."""
        self._listed.add(name)
        if self._nodes[name].written_off:
            self._nodes[name] = attrs.evolve(self._nodes[name], written_off=False)
        if name in self._known:
            return False
        self._known.add(name)
        return True

    def unreachable(self, name: NodeName) -> None:
        """A relist of `name` failed: what the cache holds of it is no longer knowledge."""
        self._known.discard(name)

    def known(self) -> frozenset[NodeName]:
        """Nodes relisted successfully since start, or since they were last unreachable."""
        return frozenset(self._known)

    def all_listed(self) -> bool:
        """Every node was relisted successfully at least once since start, or written off."""
        return self._listed | self.written_off() >= self._nodes.keys()

    def never_listed(self) -> frozenset[NodeName]:
        return frozenset(self._nodes.keys() - self._listed)

    def written_off(self) -> frozenset[NodeName]:
        """Nodes never listed that the controller acts without (see `NodeStatus.written_off`)."""
        return frozenset(
            n for n, s in self._nodes.items() if s.written_off and n not in self._listed
        )

    def write_off(self, name: NodeName, now: float, message: str) -> None:
        self._nodes[name] = attrs.evolve(
            self._nodes[name], written_off=True, last_transition=now, message=message
        )

    def mark(self, name: NodeName, ready: bool, now: float, message: str = "") -> bool:
        """Record a heartbeat (Ready) or a verdict of NotReady; True when readiness changed."""
        old = self._nodes[name]
        changed = old.ready != ready
        self._nodes[name] = attrs.evolve(
            old,
            ready=ready,
            last_heartbeat=now if ready else old.last_heartbeat,
            message=message,
            last_transition=now if changed else old.last_transition,
        )
        return changed

    def failed(self, name: NodeName, message: str) -> None:
        """A relist failed: remember why, for the NotReady verdict (nodelifecycle gives it)."""
        self.unreachable(name)
        self._nodes[name] = attrs.evolve(self._nodes[name], last_failure=message)

    def set_draining(self, name: NodeName, draining: bool) -> None:
        self._nodes[name] = attrs.evolve(self._nodes[name], draining=draining)

    def draining(self) -> frozenset[NodeName]:
        return frozenset(n for n, s in self._nodes.items() if s.draining)

    def set_capacity(self, name: NodeName, capacity: NodeCapacity) -> None:
        self._nodes[name] = attrs.evolve(self._nodes[name], capacity=capacity)

    def ready(self) -> tuple[NodeName, ...]:
        return tuple(sorted(n for n, s in self._nodes.items() if s.ready))

    def get(self, name: NodeName) -> NodeStatus | None:
        return self._nodes.get(name)

    def all(self) -> list[NodeStatus]:
        return [self._nodes[n] for n in sorted(self._nodes)]
