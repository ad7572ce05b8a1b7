"""The registry's nodes as `NodeView`s: the Ready condition's state and reason, and resources.

Readiness maps onto Kubernetes' Ready condition as the node controller and kubelet report it:

- Ready: `True`, `KubeletReady`, "kubelet is posting ready status".
- never heard from since start: `Unknown`, `NodeStatusNeverUpdated`.
- heard from, then not Ready (its relists failed past the grace period): `Unknown`,
  `NodeStatusUnknown`, with the registry's message (the engine's last error) or Kubernetes' own
  "Kubelet stopped posting node status.": the engine, like a lost kubelet, says nothing, so the
  controller cannot tell a dead node from an unreachable one.

Trap: built on every API list and every scrape, so it only reads the registry's snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from controller.engine.nodes import NodeStatus
from controller.model.nodes import NodeResources, NodeView

MAX_PODS = 110
"""The kubelet's default max-pods: a node's pod capacity unless the nodes file says otherwise."""

_UID_NAMESPACE = uuid.UUID("6f0b1c1e-2c43-5b1a-9a59-5d0c1f3b8e11")
"""Namespace of the node uids (uuid5 of the node name): stable across controller restarts."""


def node_uid(name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, name))


def _readiness(status: NodeStatus) -> tuple[bool | None, str, str]:
    if status.ready:
        return True, "KubeletReady", "kubelet is posting ready status"
    if status.last_heartbeat is None:
        return None, "NodeStatusNeverUpdated", "Kubelet never posted node status."
    return None, "NodeStatusUnknown", status.message or "Kubelet stopped posting node status."


def _resources(status: NodeStatus) -> tuple[NodeResources, NodeResources]:
    """Capacity as the engine reports it; allocatable with the nodes file's overrides winning."""
    reported = status.capacity
    capacity = NodeResources(
        cpu_millis=reported.cpu_cores * 1000 if reported is not None else None,
        memory_bytes=reported.memory_bytes if reported is not None else None,
        pods=MAX_PODS,
    )
    overrides = status.overrides
    allocatable = NodeResources(
        cpu_millis=overrides.cpu_millis
        if overrides.cpu_millis is not None
        else capacity.cpu_millis,
        memory_bytes=(
            overrides.memory_bytes if overrides.memory_bytes is not None else capacity.memory_bytes
        ),
        pods=overrides.pods if overrides.pods is not None else capacity.pods,
    )
    return capacity, allocatable


def node_view(status: NodeStatus, created_at: float) -> NodeView:
    ready, reason, message = _readiness(status)
    capacity, allocatable = _resources(status)
    return NodeView(
        name=status.name,
        uid=node_uid(status.name),
        created_at=created_at,
        host_ip=status.host_ip,
        labels=status.labels,
        taints=status.taints,
        ready=ready,
        reason=reason,
        message=message,
        last_heartbeat=status.last_heartbeat,
        last_transition=status.last_transition,
        capacity=capacity,
        allocatable=allocatable,
        engine=status.engine,
    )


def node_views(statuses: Iterable[NodeStatus], created_at: float) -> list[NodeView]:
    """Every node, sorted by name (the registry's order)."""
    return [node_view(status, created_at) for status in statuses]
