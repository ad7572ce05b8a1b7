"""What every step of a pod's plan reads and writes: the inputs, the plan being built, and the
small helpers the create, sync and rebuild paths share (see decide.pods).

Knowledge before action: a key with a container or volume on a node that is not known (not
relisted since start or since it was unreachable) gets no action at all, only a wait, since what
the cache shows of that node may be stale; a key with something on a node still removing what was
replaced while it was away waits too, unless the pod is being removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from controller.config import BackoffSettings, ImagePullSettings
from controller.decide import containers as cfg
from controller.decide.restarts import image_pull_delay
from controller.decide.sandboxes import create_failure_delay
from controller.decide.scheduling import NodeInfo
from controller.model.claims import ClaimFacts
from controller.model.deletion import PodDeletion
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    FailureNote,
    ObservedContainer,
    ObservedVolume,
)
from controller.model.plan import Action, EnsureVolume, Plan, PlanReason, StopContainers
from controller.model.probes import ContainerProbeState
from controller.model.status import WaitingReason


@attrs.frozen
class PodInputs:
    """Everything one decision reads; frozen snapshots taken by the reconciler."""

    key: PodKey
    desired: DesiredPod | None
    containers: tuple[ObservedContainer, ...]
    volumes: tuple[ObservedVolume, ...]
    nodes: tuple[NodeInfo, ...]
    """Every node with the pods assigned there, the assumed ones included (see
    decide.scheduling); only read to place a pod that has nothing on any node."""
    notes: Mapping[str, FailureNote]
    now: float
    new_uid: PodUid
    pause_images: Mapping[NodeName, str]
    """Sandbox image per node (the configured one, or the node's locally built fallback)."""
    backoff: BackoffSettings = BackoffSettings()
    image_pull: ImagePullSettings = ImagePullSettings()
    known_nodes: frozenset[NodeName] | None = None
    """Nodes whose containers the cache reflects (relisted since start, or since they were last
    unreachable); None: all of them. Nothing is done to a pod with anything on another node."""
    may_create: bool = True
    """Every node was listed at least once since start, so a pod not seen does not exist."""
    unlisted_nodes: frozenset[NodeName] = frozenset()
    """Nodes never listed since start that the controller acts without: a bare pod not seen
    may run there, so it is not made elsewhere (a ReplicaSet's pods are replaced)."""
    draining_nodes: frozenset[NodeName] = frozenset()
    claims: ClaimFacts = ClaimFacts()
    """The pod's PersistentVolumeClaims: any not declared, the nodes of those bound."""
    """Nodes back from an outage still removing the pods replaced meanwhile: a pod with
    something there waits, unless it is being removed (see engine.nodelifecycle)."""
    probes: Mapping[str, ContainerProbeState] = attrs.field(factory=dict)
    """The prober's word per container id: a sidecar with a startup probe holds back the next
    init container until it passed (decide.initcontainers)."""
    deletion: PodDeletion | None = None
    """The API's request to delete one instance (by uid): torn down with what is left of the
    grace asked for; a pod still declared then gets a new instance (see decide.pods)."""

    def pause_image(self, node: NodeName) -> str:
        return self.pause_images.get(node) or next(iter(self.pause_images.values()))


class PlanBuilder:
    """Collects actions, reasons and the earliest wake-up while the planner walks the pod."""

    def __init__(self, key: PodKey) -> None:
        self.key = key
        self.actions: list[Action] = []
        self.reasons: list[PlanReason] = []
        self.wake: float | None = None
        self.unschedulable = ""

    def add(self, reason: PlanReason, *actions: Action) -> None:
        if not actions:
            return
        self.actions.extend(actions)
        if reason not in self.reasons:
            self.reasons.append(reason)

    def wake_in(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.wake = seconds if self.wake is None else min(self.wake, seconds)

    def plan(self) -> Plan:
        return Plan(
            self.key, tuple(self.actions), tuple(self.reasons), self.wake, self.unschedulable
        )


UNKNOWN_NODE_RECHECK_SECONDS = 5.0
"""How soon a pod held for want of knowledge is looked at again (a node that becomes known
requeues every pod sooner)."""


def on_unknown_nodes(inputs: PodInputs) -> frozenset[NodeName]:
    """Nodes holding something of this pod that are not known now."""
    known = inputs.known_nodes
    if known is None:
        return frozenset()
    nodes = {c.node for c in inputs.containers}
    if inputs.volumes:
        nodes |= {v.node for v in inputs.volumes}
    if nodes <= known:
        return frozenset()  # the usual case, without a new set for every pod
    return frozenset(nodes - known)


def on_draining_nodes(inputs: PodInputs) -> bool:
    """The pod has something on a node that is still removing what was replaced meanwhile."""
    if not inputs.draining_nodes:
        return False
    return any(c.node in inputs.draining_nodes for c in inputs.containers)


def stop_action(
    containers: Sequence[ObservedContainer], grace: int, reason: PlanReason
) -> StopContainers:
    ids = tuple(ContainerId(c.id) for c in containers)
    return StopContainers(containers[0].node, ids, grace, reason.value)


def ensure_volumes(
    out: PlanBuilder, desired: DesiredPod, node: NodeName, ref: PodRef, have: set[str]
) -> None:
    for volume in desired.pod.spec.volumes:
        if volume.empty_dir is None or volume.name in have:
            continue
        memory, size = cfg.memory_volume_size(desired, volume.name)
        name = cfg.volume_docker_name(ref, volume.name)
        out.add(PlanReason.CREATE_POD, EnsureVolume(node, ref, volume.name, name, size, memory))


PULL_FAILURES = frozenset(
    {WaitingReason.ERR_IMAGE_PULL.value, WaitingReason.ERR_IMAGE_NEVER_PULL.value}
)


def note_wait(inputs: PodInputs, name: str) -> float:
    """Seconds still to wait before retrying a container whose pull or create failed; 0 = go.

    Pulls wait out ImagePullBackOff; a sandbox the engine refused to create waits out the sandbox
    backoff (its first retry at once, as after a sandbox that died)."""
    note = inputs.notes.get(name)
    if note is None:
        return 0.0
    if name == SANDBOX_CONTAINER_NAME and note.reason not in PULL_FAILURES:
        delay = create_failure_delay(note.failures, inputs.backoff)
    else:
        delay = image_pull_delay(note.failures, inputs.image_pull)
    return max(0.0, note.at + delay - inputs.now)
