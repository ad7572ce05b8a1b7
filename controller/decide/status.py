"""compute_pod_status: what a Kubernetes user sees in `status`, derived from the engine.

Phase follows the kubelet's getPhase: any container waiting for its first start -> Pending; any
running -> Running; all stopped -> Running if they will restart, else Succeeded when every one exited
0, Failed otherwise. A container waiting out its backoff counts as stopped (it has a lastState),
exactly as in Kubernetes, so a crash-looping pod stays Running.

A running container is ready when its readiness probe (if any) last succeeded and its startup probe
(if any) has passed; `started` is the startup probe's verdict. The prober supplies both per container
id; a container the prober has no word on yet is as Kubernetes shows it before its first probe: not
ready when it has a readiness or startup probe, ready otherwise.

A pod whose sandbox cannot be made waits in ContainerCreating with the engine's words
(`Failed to create pod sandbox: ...`), as its FailedCreatePodSandBox event says; a pod no node can
take is Pending with PodScheduled False, reason Unschedulable, and no container statuses, as
Kubernetes shows an unscheduled pod.

Terminated reasons come from the engine's record, never guessed: OOMKilled only when the engine
flagged an OOM kill (exit 137 from `docker kill` is an Error), ContainerCannotRun when it could not
start the process at all.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller.config import BackoffSettings, ImagePullSettings
from controller.decide.initstatus import (
    init_progress,
    init_status_policy,
    initialized_condition,
    initializing,
)
from controller.decide.instance import Instance
from controller.decide.restarts import (
    exit_code,
    exited,
    image_pull_delay,
    restart_due,
    should_restart,
)
from controller.model.desired import DesiredPod
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    FailureNote,
    ObservedContainer,
    RunState,
)
from controller.model.pod import Container, RestartPolicy
from controller.model.probes import ContainerProbeState
from controller.model.status import (
    ConditionType,
    ContainerState,
    ContainerStatus,
    PodCondition,
    PodPhase,
    PodStatus,
    Running,
    Terminated,
    TerminatedReason,
    Waiting,
    WaitingReason,
)


def terminated_state(container: ObservedContainer) -> Terminated:
    code = exit_code(container)
    if container.oom_killed:
        reason = TerminatedReason.OOM_KILLED
    elif container.failed_to_start:
        reason = TerminatedReason.CONTAINER_CANNOT_RUN
    elif code == 0:
        reason = TerminatedReason.COMPLETED
    else:
        reason = TerminatedReason.ERROR
    return Terminated(
        exit_code=code,
        reason=reason.value,
        started_at=container.started_at,
        finished_at=container.finished_at,
        message=container.error,
        container_id=container.id,
    )


def _note_state(note: FailureNote | None, now: float, pull: ImagePullSettings) -> Waiting:
    if note is None:
        return Waiting(WaitingReason.CONTAINER_CREATING.value)
    if note.reason == WaitingReason.ERR_IMAGE_PULL.value and now < note.at + image_pull_delay(
        note.failures, pull
    ):
        # Kubernetes shows ErrImagePull right after a failure, ImagePullBackOff while waiting.
        reason = (
            WaitingReason.ERR_IMAGE_PULL
            if now - note.at < 1.0
            else WaitingReason.IMAGE_PULL_BACK_OFF
        )
        return Waiting(reason.value, note.message)
    return Waiting(note.reason, note.message)


SANDBOX_FAILED = "Failed to create pod sandbox: "
"""Kubernetes' prefix of the FailedCreatePodSandBox message."""


def sandbox_problem(instance: Instance | None, notes: Mapping[str, FailureNote]) -> str:
    """Why the pod's sandbox is not running, in Kubernetes' words; "" when nothing is known."""
    sandbox = instance.sandbox if instance else None
    if sandbox is not None and sandbox.failed_to_start:
        return SANDBOX_FAILED + sandbox.error
    note = notes.get(SANDBOX_CONTAINER_NAME)
    if note is not None and (sandbox is None or sandbox.state is not RunState.RUNNING):
        return SANDBOX_FAILED + note.message
    return ""


def container_status(
    spec: Container,
    instance: Instance | None,
    policy: RestartPolicy,
    note: FailureNote | None,
    now: float,
    backoff: BackoffSettings,
    pull: ImagePullSettings,
    probes: Mapping[str, ContainerProbeState] | None = None,
    no_sandbox: str = "",
) -> ContainerStatus:
    latest = instance.latest(spec.name) if instance else None
    previous = instance.previous(spec.name) if instance else None
    last_state: ContainerState | None = (
        terminated_state(previous) if previous is not None and exited(previous) else None
    )
    if latest is None:
        if no_sandbox and note is None:
            creating = Waiting(WaitingReason.CONTAINER_CREATING.value, no_sandbox)
            return ContainerStatus(spec.name, spec.image, creating)
        return ContainerStatus(spec.name, spec.image, _note_state(note, now, pull))
    base = ContainerStatus(
        name=spec.name,
        image=spec.image,
        state=Waiting(WaitingReason.CONTAINER_CREATING.value),
        last_state=last_state,
        restart_count=latest.identity.attempt,
        image_id=latest.image_id,
        container_id=latest.id,
    )
    if latest.state is RunState.RUNNING:
        running = Running(latest.started_at or latest.created_at)
        probed = (probes or {}).get(latest.id) or _unprobed(spec)
        ready = probed.ready and probed.started
        return attrs.evolve(base, state=running, ready=ready, started=probed.started)
    if not exited(latest):
        return base
    ended = terminated_state(latest)
    if no_sandbox and should_restart(policy, latest):
        creating = Waiting(WaitingReason.CONTAINER_CREATING.value, no_sandbox)
        return attrs.evolve(base, state=creating, last_state=ended)
    if should_restart(policy, latest):
        due = restart_due(latest, backoff)
        if note is not None or now < due:
            wait = max(0, round(due - now))
            message = (
                f"back-off {wait}s restarting failed container={spec.name}"
                if note is None
                else note.message
            )
            reason = WaitingReason.CRASH_LOOP_BACK_OFF.value if note is None else note.reason
            return attrs.evolve(base, state=Waiting(reason, message), last_state=ended)
    return attrs.evolve(base, state=ended)


UNSCHEDULABLE = "Unschedulable"
"""The PodScheduled condition's reason for a pod no node can take (Kubernetes' word)."""


def _unprobed(spec: Container) -> ContainerProbeState:
    """Before the first probe result: a readiness probe starts out failing, a startup probe not
    yet passed (Kubernetes' initial values)."""
    started = spec.startup_probe is None
    return ContainerProbeState(ready=spec.readiness_probe is None, started=started)


def phase(statuses: tuple[ContainerStatus, ...], policy: RestartPolicy) -> PodPhase:
    waiting = running = stopped = succeeded = 0
    for status in statuses:
        state = status.state
        if isinstance(state, Running):
            running += 1
        elif isinstance(state, Terminated):
            stopped += 1
            succeeded += state.exit_code == 0
        elif isinstance(status.last_state, Terminated):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return PodPhase.PENDING
    if running:
        return PodPhase.RUNNING
    if stopped:
        if policy is RestartPolicy.ALWAYS:
            return PodPhase.RUNNING
        if stopped == succeeded:
            return PodPhase.SUCCEEDED
        return PodPhase.FAILED if policy is RestartPolicy.NEVER else PodPhase.RUNNING
    return PodPhase.PENDING


def compute_pod_status(
    desired: DesiredPod,
    instance: Instance | None,
    notes: Mapping[str, FailureNote],
    now: float,
    host_ip: str | None,
    backoff: BackoffSettings,
    pull: ImagePullSettings,
    probes: Mapping[str, ContainerProbeState] | None = None,
    unschedulable: str = "",
) -> PodStatus:
    """The pod's status; `unschedulable` is the scheduler's message for a pod no node can take."""
    spec = desired.pod.spec
    if instance is None and unschedulable:
        condition = PodCondition(
            ConditionType.POD_SCHEDULED, False, None, UNSCHEDULABLE, unschedulable
        )
        return PodStatus(phase=PodPhase.PENDING, conditions=(condition,))
    no_sandbox = sandbox_problem(instance, notes)
    statuses = tuple(
        container_status(
            c,
            instance,
            spec.restart_policy,
            notes.get(c.name),
            now,
            backoff,
            pull,
            probes,
            no_sandbox,
        )
        for c in spec.containers
    )
    init = init_progress(spec, instance, probes or {})
    pod_phase = phase(statuses, spec.restart_policy)
    if spec.init_containers:  # the kubelet's default waiting reason for such a pod
        statuses = tuple(initializing(s) for s in statuses)
    if not init.initialized:
        pod_phase = PodPhase.FAILED if init.failed else PodPhase.PENDING
    init_statuses = tuple(
        initializing(
            container_status(
                c,
                instance,
                init_status_policy(spec.restart_policy, c, pod_phase),
                notes.get(c.name),
                now,
                backoff,
                pull,
                probes,
                no_sandbox,
            )
        )
        for c in spec.init_containers
    )
    sidecar_statuses = [
        s for s, c in zip(init_statuses, spec.init_containers, strict=True) if c.is_sidecar
    ]
    sandbox = instance.sandbox if instance else None
    scheduled = instance is not None
    readiness = (*statuses, *sidecar_statuses)  # sidecars count in ContainersReady, as in 1.29+
    all_ready = bool(statuses) and all(s.ready for s in readiness)
    if pod_phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        all_ready = False
    transition = _last_transition(instance, probes or {})
    created = instance.created_at if instance else None
    reason = "" if all_ready else "ContainersNotReady"
    message = "" if all_ready else _not_ready_message(readiness)
    conditions = (
        PodCondition(ConditionType.POD_SCHEDULED, scheduled, created),
        initialized_condition(scheduled, init, created),
        *(
            PodCondition(kind, all_ready, transition, reason, message)
            for kind in (ConditionType.CONTAINERS_READY, ConditionType.READY)
        ),
    )
    pod_ip = sandbox.ip if sandbox is not None and sandbox.state is RunState.RUNNING else None
    return PodStatus(
        phase=pod_phase,
        conditions=conditions,
        container_statuses=statuses,
        init_container_statuses=init_statuses,
        pod_ip=pod_ip,
        host_ip=host_ip if scheduled else None,
        start_time=instance.created_at if instance else None,
    )


def _last_transition(
    instance: Instance | None, probes: Mapping[str, ContainerProbeState]
) -> float | None:
    if instance is None:
        return None
    times = [
        t for c in instance.all_containers() for t in (c.started_at, c.finished_at) if t is not None
    ]
    times += [
        changed
        for c in instance.all_containers()
        if (state := probes.get(c.id)) is not None and (changed := state.changed_at) is not None
    ]
    return max(times) if times else instance.created_at


def _not_ready_message(statuses: tuple[ContainerStatus, ...]) -> str:
    names = [s.name for s in statuses if not s.ready]
    return f"containers with unready status: [{' '.join(names)}]" if names else ""
