"""What a pod's status says of its init containers: the Initialized condition, the phase while
initializing, and the waiting reason of containers whose turn has not come.

Kubernetes' words: Initialized is False with reason `ContainersNotInitialized` and the message
`containers with incomplete status: [a b]` until every init container succeeded and every sidecar
started; the phase is Pending meanwhile, and Failed once a regular init container failed under
restartPolicy Never. A container not yet created while the pod has init containers waits in
`PodInitializing` (kubectl prints `Init:0/2` for those, `PodInitializing` for the apps).

Trap: a sidecar is restarted whatever the pod's policy, except once the pod is over (Succeeded or
Failed): then its end is final and it shows as terminated, not in CrashLoopBackOff.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller.decide.initcontainers import init_failed, init_restart_policy, walk
from controller.decide.instance import Instance
from controller.model.pod import Container, PodSpec, RestartPolicy
from controller.model.probes import ContainerProbeState
from controller.model.status import (
    ConditionType,
    ContainerStatus,
    PodCondition,
    PodPhase,
    Waiting,
    WaitingReason,
)

NOT_INITIALIZED = "ContainersNotInitialized"


@attrs.frozen
class InitProgress:
    initialized: bool
    failed: bool = False
    incomplete: tuple[str, ...] = ()
    """Init containers not done yet (not succeeded, or a sidecar not started), in order."""


def init_progress(
    spec: PodSpec, instance: Instance | None, probes: Mapping[str, ContainerProbeState]
) -> InitProgress:
    if not spec.init_containers:
        return InitProgress(initialized=True)
    names = tuple(c.name for c in spec.init_containers)
    sandbox = instance.sandbox if instance is not None else None
    if instance is None or sandbox is None:
        return InitProgress(initialized=False, incomplete=names)
    attempt = sandbox.identity.attempt
    progress = walk(spec, instance, attempt, probes)
    if progress.initialized:
        return InitProgress(initialized=True)
    pending = progress.to_sync[-1].name if progress.to_sync else names[0]
    incomplete = names[names.index(pending) :]
    failed = init_failed(spec, instance, attempt)
    return InitProgress(initialized=False, failed=failed, incomplete=incomplete)


def initialized_condition(
    scheduled: bool, progress: InitProgress, created: float | None
) -> PodCondition:
    if not scheduled or progress.initialized:
        return PodCondition(ConditionType.INITIALIZED, scheduled, created)
    message = f"containers with incomplete status: [{' '.join(progress.incomplete)}]"
    return PodCondition(ConditionType.INITIALIZED, False, created, NOT_INITIALIZED, message)


def init_status_policy(
    pod_policy: RestartPolicy, spec: Container, phase: PodPhase
) -> RestartPolicy:
    """The policy an init container's status is shown under (see the module's trap)."""
    if phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        return RestartPolicy.NEVER
    return init_restart_policy(pod_policy, spec)


def initializing(status: ContainerStatus) -> ContainerStatus:
    """A container whose turn has not come waits in PodInitializing, not ContainerCreating."""
    state = status.state
    if (
        isinstance(state, Waiting)
        and state.reason == WaitingReason.CONTAINER_CREATING.value
        and not state.message
    ):
        return attrs.evolve(status, state=Waiting(WaitingReason.POD_INITIALIZING.value))
    return status
