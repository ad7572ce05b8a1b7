"""Node readiness, as far as this issue needs it: a node is Ready while its engine answers.

A relist that succeeds marks the node Ready; one that fails marks it NotReady with the reason.
Pods are only ever bound to Ready nodes (decide.scheduling).
"""

from __future__ import annotations

import attrs

from controller.model.meta import NodeName
from controller.model.observed import NodeCapacity


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


class NodeRegistry:
    def __init__(self, nodes: dict[NodeName, str]) -> None:
        """`nodes` maps each node name to the address its host ports are published on."""
        self._nodes = {name: NodeStatus(name, False, ip) for name, ip in nodes.items()}

    def mark(self, name: NodeName, ready: bool, now: float, message: str = "") -> bool:
        """Record a heartbeat or a failure; True when readiness changed."""
        old = self._nodes[name]
        self._nodes[name] = attrs.evolve(
            old, ready=ready, last_heartbeat=now if ready else old.last_heartbeat, message=message
        )
        return old.ready != ready

    def set_capacity(self, name: NodeName, capacity: NodeCapacity) -> None:
        self._nodes[name] = attrs.evolve(self._nodes[name], capacity=capacity)

    def ready(self) -> tuple[NodeName, ...]:
        return tuple(sorted(n for n, s in self._nodes.items() if s.ready))

    def get(self, name: NodeName) -> NodeStatus | None:
        return self._nodes.get(name)

    def all(self) -> list[NodeStatus]:
        return [self._nodes[n] for n in sorted(self._nodes)]
