"""A node as the API and the metrics show it: Kubernetes' Node, flattened into one frozen view.

The engine builds one `NodeView` per node from its registry (`engine.nodeviews`); the API renders
it as a core/v1 Node and the metrics as `kube_node_*`, so both say the same thing. Pure data: the
Ready condition's three states are decided where the view is built, not here.

Trap: `capacity` is what the engine reports (cores and memory from `/info`, and the kubelet's 110
pods); `allocatable` is what scheduling may use: the same, with the nodes file's `capacity`
overrides winning. Unknown amounts are None (an engine never reached), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller import __version__
from controller.model.observed import EngineInfo
from controller.model.placement import Taint

KUBE_VERSION = f"v1.32.0-podyard.{__version__}"
"""The Kubernetes version the API speaks (`/version`), shown as every node's kubelet version."""


@attrs.frozen
class NodeResources:
    """Amounts of a node's resources, each None while unknown."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None
    pods: int | None = None


@attrs.frozen
class NodeView:
    name: str
    uid: str
    """Stable per node name, so a client that saw the node knows it again after a restart."""
    created_at: float
    """Unix seconds: when this controller first served the node (its start)."""
    host_ip: str
    labels: Mapping[str, str] = attrs.field(factory=dict)
    taints: tuple[Taint, ...] = ()
    ready: bool | None = None
    """The Ready condition: True, False, or None for Unknown (the engine stopped answering, or
    never did)."""
    reason: str = ""
    """Kubernetes' reason for the Ready condition (`KubeletReady`, `NodeStatusUnknown`, ...)."""
    message: str = ""
    last_heartbeat: float | None = None
    last_transition: float | None = None
    capacity: NodeResources = NodeResources()
    allocatable: NodeResources = NodeResources()
    engine: EngineInfo | None = None
