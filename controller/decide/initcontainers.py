"""Init containers and native sidecars: which may run now, and in what order they stop.

The kubelet's rules, per sandbox (a rebuilt sandbox runs every init container again):

- Init containers run one at a time, in order, each to completion (exit 0) before the next.
  A failed one is restarted with CrashLoopBackOff under Always and OnFailure (an init container
  restarts as OnFailure would: one that exited 0 never runs again); under Never the pod fails
  and no app container is ever made.
- A sidecar (an init container with `restartPolicy: Always`) starts in its place in that order;
  the next init container starts once the sidecar has started and passed its startup probe, if
  it has one. It is restarted whenever it exits, whatever the pod's policy.
- The app containers start once every init container succeeded and every sidecar started.
  Initialization is then done for this sandbox: a sidecar crashing later holds back no app.
- At teardown the app containers stop first, then the sidecars one by one in reverse order,
  then the sandbox.

Traps:
- "Done" is read from the engine: a regular init container's exited container of the current
  sandbox is its proof, so garbage collection keeps it (it is the latest of its name, which
  decide.sandboxes always keeps). An init container of an older sandbox proves nothing.
- An app container of the current sandbox means initialization finished earlier: the walk then
  never blocks again, even if an init container's record went missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from controller.decide.instance import Instance
from controller.decide.restarts import exit_code, exited
from controller.model.observed import ContainerRole, ObservedContainer, RunState
from controller.model.pod import Container, PodSpec, RestartPolicy
from controller.model.probes import ContainerProbeState


def current(instance: Instance, name: str, sandbox_attempt: int) -> ObservedContainer | None:
    """The latest container of `name` if it belongs to the sandbox `sandbox_attempt`."""
    latest = instance.latest(name)
    if latest is None or latest.identity.sandbox_attempt != sandbox_attempt:
        return None
    return latest


def succeeded(container: ObservedContainer | None) -> bool:
    return container is not None and exited(container) and exit_code(container) == 0


def init_restart_policy(pod_policy: RestartPolicy, spec: Container) -> RestartPolicy:
    """A sidecar restarts always; a regular init container as OnFailure, unless the pod says Never."""
    if spec.is_sidecar:
        return RestartPolicy.ALWAYS
    return RestartPolicy.NEVER if pod_policy is RestartPolicy.NEVER else RestartPolicy.ON_FAILURE


@attrs.frozen
class InitWalk:
    """The result of walking the init containers in order for the current sandbox."""

    to_sync: tuple[Container, ...]
    """Init containers (sidecars and at most one regular one) the planner looks after now."""
    initialized: bool
    """Every init container is done and every sidecar started: the app containers may run."""


_NOTHING_TO_INITIALIZE = InitWalk((), True)


def walk(
    spec: PodSpec,
    instance: Instance,
    sandbox_attempt: int,
    probes: Mapping[str, ContainerProbeState],
) -> InitWalk:
    if not spec.init_containers:
        return _NOTHING_TO_INITIALIZE  # most pods: nothing to walk
    apps_began = any(current(instance, c.name, sandbox_attempt) for c in spec.containers)
    to_sync: list[Container] = []
    for init in spec.init_containers:
        mine = current(instance, init.name, sandbox_attempt)
        if init.is_sidecar:
            to_sync.append(init)
            if not apps_began and not _sidecar_has_started(init, mine, probes):
                return InitWalk(tuple(to_sync), False)
            continue
        if apps_began or succeeded(mine):
            continue
        to_sync.append(init)
        return InitWalk(tuple(to_sync), False)
    return InitWalk(tuple(to_sync), True)


def _sidecar_has_started(
    spec: Container, container: ObservedContainer | None, probes: Mapping[str, ContainerProbeState]
) -> bool:
    """Started, and past its startup probe if it has one (the prober's word; none yet: not)."""
    if container is None or container.started_at is None:
        return False
    if spec.startup_probe is None:
        return True
    state = probes.get(container.id)
    return container.state is RunState.RUNNING and state is not None and state.started


def init_failed(spec: PodSpec, instance: Instance, sandbox_attempt: int) -> bool:
    """Under Never, a regular init container of this sandbox failed: the pod is Failed."""
    if spec.restart_policy is not RestartPolicy.NEVER:
        return False
    for init in spec.init_containers:
        if init.is_sidecar:
            continue
        mine = current(instance, init.name, sandbox_attempt)
        if mine is not None and exited(mine) and exit_code(mine) != 0:
            return True
    return False


def stop_order(containers: Sequence[ObservedContainer]) -> list[list[ObservedContainer]]:
    """Running containers grouped in the order they are stopped: apps (and a regular init
    container) together, then each sidecar alone, the last in `initContainers` first; sandboxes not here."""
    first = [c for c in containers if c.identity.role in (ContainerRole.APP, ContainerRole.INIT)]
    sidecars = [c for c in containers if c.identity.role is ContainerRole.SIDECAR]
    sidecars.sort(key=lambda c: (c.identity.init_index, c.started_at or c.created_at), reverse=True)
    return ([first] if first else []) + [[s] for s in sidecars]
