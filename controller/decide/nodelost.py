"""A pod on a node that stopped answering: how long it stays, and what its status says meanwhile.

Kubernetes' node lifecycle controller, as Podyard does it:
- The node is NotReady once its heartbeats (successful relists) stayed away for the grace period;
  it then carries the `node.kubernetes.io/unreachable` taints (NoSchedule keeps new pods away,
  NoExecute starts the eviction clock).
- Its pods turn Ready=False at once (MarkPodsNotReady): nobody knows whether they still serve.
- A pod owned by a ReplicaSet is evicted (deleted, so its owner replaces it elsewhere) once it has
  stayed past its toleration of the unreachable taint: the pod's own toleration when it has one
  (the smallest `tolerationSeconds` of those matching; none set means it stays for ever), else the
  configured eviction timeout (Kubernetes adds a 300 s toleration to every pod that has none).
- From then on the pod's phase is Unknown, reason NodeLost; a bare pod stays bound (Kubernetes
  does not move it either) and runs again when the node returns.

Pure: the engine hands in the node's facts and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controller.model.placement import Taint, TaintEffect, Toleration
from controller.model.status import ConditionType, PodPhase, PodStatus

UNREACHABLE_TAINT_KEY = "node.kubernetes.io/unreachable"
"""The taint an unreachable node carries, word for word as Kubernetes names it."""

UNREACHABLE_TAINTS = (
    Taint(UNREACHABLE_TAINT_KEY, TaintEffect.NO_SCHEDULE),
    Taint(UNREACHABLE_TAINT_KEY, TaintEffect.NO_EXECUTE),
)

NODE_LOST = "NodeLost"
"""The pod status reason once its node is given up on (Kubernetes' NodeLost)."""


def eviction_delay(tolerations: Iterable[Toleration], default_seconds: float) -> float | None:
    """Seconds a pod stays on an unreachable node; None: it tolerates the node for ever.

    Kubernetes' getMinTolerationTime over the tolerations that match the NoExecute taint."""
    taint = UNREACHABLE_TAINTS[1]
    matching = [t for t in tolerations if t.tolerates(taint)]
    if not matching:
        return default_seconds
    limits = [t.toleration_seconds for t in matching if t.toleration_seconds is not None]
    if not limits:
        return None
    return float(max(0, min(limits)))


def evict_at(
    tolerations: Iterable[Toleration], not_ready_since: float, default_seconds: float
) -> float | None:
    """Clock time at which a pod on a node NotReady since `not_ready_since` is evicted."""
    delay = eviction_delay(tolerations, default_seconds)
    return None if delay is None else not_ready_since + delay


@attrs.frozen
class LostNode:
    """What the status of a pod on a NotReady node needs to know of the node."""

    name: str
    not_ready_since: float
    given_up: bool
    """The eviction deadline of this pod passed (or, for one that tolerates for ever, never)."""


def lost_pod_status(status: PodStatus, pod_name: str, node: LostNode) -> PodStatus:
    """The status a pod on a NotReady node shows: Ready and ContainersReady False from the moment
    the node is NotReady; once given up on, phase Unknown (NodeLost). Containers keep the state
    last seen, and are no longer ready."""
    conditions = tuple(
        attrs.evolve(c, status=False, last_transition_time=node.not_ready_since)
        if c.type in (ConditionType.READY, ConditionType.CONTAINERS_READY) and c.status
        else c
        for c in status.conditions
    )
    containers = tuple(attrs.evolve(c, ready=False) for c in status.container_statuses)
    lost = attrs.evolve(status, conditions=conditions, container_statuses=containers)
    if not node.given_up or status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        return lost
    message = f"Node {node.name} which was running pod {pod_name} is unresponsive"
    return attrs.evolve(lost, phase=PodPhase.UNKNOWN, reason=NODE_LOST, message=message)
