"""compute_pod_plan: one pod key's desired state vs. the engine -> the next steps.

The kubelet's computePodActions, for Podyard:

1. No desired pod: tear every instance down (SIGTERM, grace, SIGKILL, remove, volumes).
2. Instances whose pod spec hash differs from the manifest (a bare pod whose spec was edited) are torn
   down first; the replacement is created only once they are gone, so host ports are free.
3. No instance: create one (volumes, sandbox, containers) with the uid handed in (decide.podcreate:
   placing it is scheduling's; when no node can take it the plan says why and no sandbox is
   attempted).
4. The instance's sandbox is dead (never started, or died): rebuild the pod (stop containers, wait
   out the sandbox backoff, remove the dead sandbox, new sandbox, containers anew), unless the pod is
   finished or its policy is Never and its containers already ran.
5. Otherwise per container: start what was never started, restart the dead by policy once the
   backoff is due, leave the running alone. Init containers and sidecars come first, in order,
   and hold the app containers back until they are done (decide.initcontainers); a new or
   rebuilt sandbox is made alone when the pod has init containers, which then run in it anew.
6. All containers done for good: stop the sandbox (the kubelet does too), keep it for inspection.

A steady pod (one instance of today's spec, everything running in the current sandbox, nothing
to collect) is recognised first and gets the empty plan without any of the above (decide.steady).

Whatever the path, garbage collection runs first (decide.sandboxes): older sandboxes and all but
the latest container per name (plus one dead predecessor while the latest lives) are removed, so
no failure, however long, grows a pod's footprint on the engine.

Failures the engine does not record (image pulls, refused creates) come in as notes; a retry waits
out the ImagePullBackOff before trying again, so a bad image never hot-loops.

Knowledge before action (decide.podinputs): nothing is done to a key with something on a node
that is not known, or (unless it is being removed) on a node still draining after an outage; and
no pod is created while some node was never listed. The caller passes these facts in.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.decide import containers as cfg
from controller.decide.initcontainers import init_failed, init_restart_policy, stop_order, walk
from controller.decide.instance import Instance, group_instances, orphan_volumes
from controller.decide.podcreate import create_pod
from controller.decide.podinputs import (
    UNKNOWN_NODE_RECHECK_SECONDS,
    PlanBuilder,
    PodInputs,
    ensure_volumes,
    note_wait,
    on_draining_nodes,
    on_unknown_nodes,
    stop_action,
)
from controller.decide.restarts import exited, restart_delay, should_restart
from controller.decide.sandboxes import (
    garbage,
    sandbox_dead,
    sandbox_retry_delay,
    sandbox_retry_due,
)
from controller.decide.steady import is_steady
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerRole,
    ObservedContainer,
    RunState,
)
from controller.model.plan import (
    Plan,
    PlanReason,
    RemoveContainer,
    RemoveVolume,
    RunContainer,
    StartContainer,
)
from controller.model.pod import Container, RestartPolicy


def compute_pod_plan(inputs: PodInputs) -> Plan:
    out = PlanBuilder(inputs.key)
    if is_steady(inputs):
        return out.plan()  # the usual pod: nothing to do, found without the walk below
    if on_unknown_nodes(inputs):
        out.wake_in(UNKNOWN_NODE_RECHECK_SECONDS)  # never act on what may be a stale picture
        return out.plan()
    if inputs.desired is not None and on_draining_nodes(inputs):
        out.wake_in(UNKNOWN_NODE_RECHECK_SECONDS)  # the end of the drain requeues it sooner
        return out.plan()
    instances = group_instances(inputs.containers, inputs.volumes)
    if inputs.volumes:
        for volume in orphan_volumes(instances, inputs.volumes):
            out.add(PlanReason.CLEAN_UP, RemoveVolume(volume.node, volume.name))
    desired = inputs.desired
    deleted = _deleted_instances(inputs, instances)
    for instance in deleted:
        _teardown(out, instance, PlanReason.DELETE_POD, _deletion_grace(inputs))
    if deleted:
        instances = [i for i in instances if i not in deleted]
    if desired is None:
        for instance in instances:
            _teardown(out, instance, PlanReason.DELETE_POD)
        return out.plan()
    if deleted:
        return out.plan()  # the declared pod comes back as a new instance once this one is gone
    current = _current_instance(instances, desired.spec_hash)
    if len(instances) > 1 or current is None:
        stale = [i for i in instances if i is not current]
        for instance in stale:
            _teardown(out, instance, PlanReason.REPLACE_POD)
        if stale:
            return out.plan()
    if current is None:
        create_pod(out, inputs, desired)
    else:
        _sync(out, inputs, desired, current)
    return out.plan()


def _current_instance(instances: Sequence[Instance], spec_hash: str) -> Instance | None:
    """The instance that runs today's spec; with two (a crash mid-create), the one that is live."""
    if len(instances) == 1:
        return instances[0] if instances[0].spec_hash == spec_hash else None
    matching = [i for i in instances if i.spec_hash == spec_hash]
    if not matching:
        return None
    live = [i for i in matching if i.sandbox_alive()]
    return (live or matching)[-1]


def _deleted_instances(inputs: PodInputs, instances: Sequence[Instance]) -> list[Instance]:
    """The instance the API asked to delete (by uid), if it is still there."""
    if inputs.deletion is None:
        return []
    return [i for i in instances if i.ref.uid == inputs.deletion.uid]


def _deletion_grace(inputs: PodInputs) -> int | None:
    return inputs.deletion.remaining(inputs.now) if inputs.deletion is not None else None


def _teardown(
    out: PlanBuilder, instance: Instance, reason: PlanReason, grace_override: int | None = None
) -> None:
    """Stop apps together with their grace (or what is left of the grace a deletion asked for),
    then the sandbox, then remove everything."""
    running_apps = [c for c in instance.all_apps() if c.state is RunState.RUNNING]
    for group in stop_order(running_apps):  # apps first, then sidecars in reverse order
        grace = max(c.identity.grace_seconds for c in group)
        if grace_override is not None:
            grace = grace_override
        out.add(reason, stop_action(group, grace, reason))
    running_sandboxes = [c for c in instance.sandboxes if c.state is RunState.RUNNING]
    if running_sandboxes:
        out.add(reason, stop_action(running_sandboxes, cfg.SANDBOX_STOP_GRACE, reason))
    for container in [*instance.all_apps(), *instance.sandboxes]:
        out.add(reason, RemoveContainer(container.node, container.id))
    for volume in instance.volumes:
        out.add(reason, RemoveVolume(volume.node, volume.name))


def pod_finished(desired: DesiredPod, instance: Instance) -> bool:
    """Every container has run and ended, and the restart policy restarts none of them."""
    policy = desired.pod.spec.restart_policy
    if policy is RestartPolicy.ALWAYS:
        return False  # nothing ends such a pod, not even a failed init container (it restarts)
    sandbox = instance.sandbox
    if sandbox is not None and init_failed(desired.pod.spec, instance, sandbox.identity.attempt):
        return True
    for container in desired.pod.spec.containers:
        latest = instance.latest(container.name)
        if latest is None or not exited(latest) or should_restart(policy, latest):
            return False
    return True


def _sync(out: PlanBuilder, inputs: PodInputs, desired: DesiredPod, instance: Instance) -> None:
    sandbox = instance.sandbox
    node = instance.node
    if node is None:
        return
    _collect_garbage(out, instance)
    finished = pod_finished(desired, instance)
    if finished:  # sidecars still running stop in reverse order, then the sandbox
        running = [c for c in instance.running() if not c.is_sandbox]
        for group in stop_order(running):
            grace = max(c.identity.grace_seconds for c in group)
            out.add(PlanReason.COMPLETE_POD, stop_action(group, grace, PlanReason.COMPLETE_POD))
        sandboxes = [c for c in instance.running() if c.is_sandbox]
        if sandboxes:
            out.add(
                PlanReason.COMPLETE_POD,
                stop_action(sandboxes, cfg.SANDBOX_STOP_GRACE, PlanReason.COMPLETE_POD),
            )
        return
    if sandbox_dead(sandbox):
        _rebuild(out, inputs, desired, instance, node)
        return
    assert sandbox is not None  # sandbox_dead covers None
    if sandbox.state is RunState.CREATED:
        out.add(PlanReason.START, StartContainer(sandbox.node, sandbox.id))
        return
    if desired.pod.spec.volumes:
        have = {v.volume_name for v in instance.volumes}
        ensure_volumes(out, desired, node, instance.ref, have)
    spec = desired.pod.spec
    init = walk(spec, instance, sandbox.identity.attempt, inputs.probes)
    for container in init.to_sync:
        policy = init_restart_policy(spec.restart_policy, container)
        _sync_container(out, inputs, desired, instance, container, sandbox, policy)
    if init.initialized:
        for container in spec.containers:
            _sync_container(out, inputs, desired, instance, container, sandbox, spec.restart_policy)
    _drop_unknown_containers(out, desired, instance)


def _collect_garbage(out: PlanBuilder, instance: Instance) -> None:
    stop, remove = garbage(instance)
    for container in stop:
        grace = cfg.SANDBOX_STOP_GRACE if container.is_sandbox else container.identity.grace_seconds
        out.add(PlanReason.CLEAN_UP, stop_action([container], grace, PlanReason.CLEAN_UP))
    for container in remove:
        out.add(PlanReason.CLEAN_UP, RemoveContainer(container.node, container.id))


def _drop_unknown_containers(out: PlanBuilder, desired: DesiredPod, instance: Instance) -> None:
    spec = desired.pod.spec
    names = {c.name for c in spec.containers}
    if spec.init_containers:
        names.update(c.name for c in spec.init_containers)
    for name, lineage in instance.apps.items():
        if name in names:
            continue
        running = [c for c in lineage if c.state is RunState.RUNNING]
        if running:
            out.add(
                PlanReason.CLEAN_UP,
                stop_action(running, running[0].identity.grace_seconds, PlanReason.CLEAN_UP),
            )
        for container in lineage:
            out.add(PlanReason.CLEAN_UP, RemoveContainer(container.node, container.id))


def _rebuild(
    out: PlanBuilder, inputs: PodInputs, desired: DesiredPod, instance: Instance, node: NodeName
) -> None:
    """The sandbox died or never started: the whole pod restarts in a new one, as the kubelet does,
    once the sandbox backoff is due; the dead sandbox is removed in the same breath."""
    policy = desired.pod.spec.restart_policy
    ran_before = bool(instance.all_apps())
    latest_apps = [instance.latest(name) for name in instance.apps]
    running_apps = [c for c in latest_apps if c is not None and c.state is RunState.RUNNING]
    if running_apps:
        grace = desired.pod.spec.termination_grace_period_seconds
        out.add(
            PlanReason.REBUILD_SANDBOX, stop_action(running_apps, grace, PlanReason.REBUILD_SANDBOX)
        )
    if policy is RestartPolicy.NEVER and ran_before:
        return  # the pod ends Failed: nothing of it may run again
    old = instance.sandbox
    due = sandbox_retry_due(old, inputs.backoff)
    wait = max(due - inputs.now, note_wait(inputs, SANDBOX_CONTAINER_NAME))
    if wait > 0:
        out.wake_in(wait)
        return
    if old is not None:  # it carried the count; its successor carries it on
        out.add(PlanReason.CLEAN_UP, RemoveContainer(old.node, old.id))
    attempt = (
        old.identity.attempt + 1
        if old
        else 1 + max((c.identity.sandbox_attempt for c in instance.all_apps()), default=-1)
    )
    have = {v.volume_name for v in instance.volumes}
    ensure_volumes(out, desired, node, instance.ref, have)
    created_at = instance.created_at or inputs.now
    sandbox = cfg.sandbox_config(
        desired,
        instance.ref,
        created_at,
        attempt,
        inputs.pause_image(node),
        sandbox_retry_delay(old, inputs.backoff),
    )
    out.add(PlanReason.REBUILD_SANDBOX, RunContainer(node, sandbox))
    if desired.pod.spec.init_containers:
        return  # init runs again in the new sandbox first: the next sync walks it (decide.init)
    for container in desired.pod.spec.containers:
        latest = instance.latest(container.name)
        if (
            latest is not None
            and policy is RestartPolicy.ON_FAILURE
            and exited(latest)
            and not should_restart(policy, latest)
        ):
            continue  # succeeded under OnFailure: stays done
        next_attempt = latest.identity.attempt + 1 if latest else 0
        backoff = latest.identity.backoff_seconds if latest else 0.0
        config = cfg.app_config(
            desired, instance.ref, created_at, container, next_attempt, attempt, backoff
        )
        out.add(PlanReason.REBUILD_SANDBOX, RunContainer(node, config))


def _sync_container(
    out: PlanBuilder,
    inputs: PodInputs,
    desired: DesiredPod,
    instance: Instance,
    spec: Container,
    sandbox: ObservedContainer,
    policy: RestartPolicy,
) -> None:
    """`spec` is one of the pod's own containers (names are unique across them: validation)."""
    name = spec.name
    latest = instance.latest(name)  # older ones are _collect_garbage's
    sandbox_attempt = sandbox.identity.attempt
    if latest is None:
        wait = note_wait(inputs, name)
        if wait > 0:
            out.wake_in(wait)
            return
        config = cfg.app_config(
            desired, instance.ref, instance.created_at, spec, 0, sandbox_attempt, 0.0
        )
        out.add(PlanReason.CREATE_POD, RunContainer(sandbox.node, config))
        return
    stale = latest.identity.sandbox_attempt != sandbox_attempt
    if latest.state is RunState.RUNNING:
        if stale:  # joined a sandbox that is gone: it no longer shares the pod's namespaces
            grace = latest.identity.grace_seconds
            out.add(
                PlanReason.REBUILD_SANDBOX, stop_action([latest], grace, PlanReason.REBUILD_SANDBOX)
            )
        return
    if latest.state is RunState.CREATED and not latest.failed_to_start:
        if not stale:
            out.add(PlanReason.START, StartContainer(latest.node, latest.id))
        else:
            out.add(PlanReason.CLEAN_UP, RemoveContainer(latest.node, latest.id))
        return
    rerun = latest.identity.role is ContainerRole.INIT
    if stale and (rerun or should_restart(policy, latest)):
        # a new sandbox runs it again at once, as a rebuild does: its init containers (the old
        # run proves nothing) and, after them, what the policy restarts
        config = cfg.app_config(
            desired,
            instance.ref,
            instance.created_at,
            spec,
            latest.identity.attempt + 1,
            sandbox_attempt,
            0.0 if rerun else latest.identity.backoff_seconds,
        )
        out.add(PlanReason.REBUILD_SANDBOX, RunContainer(latest.node, config))
        return
    if not should_restart(policy, latest):
        return
    delay = restart_delay(latest, inputs.backoff)
    due = (latest.finished_at or latest.started_at or latest.created_at) + delay
    wait = max(due - inputs.now, note_wait(inputs, name))
    if wait > 0:
        out.wake_in(wait)
        return
    config = cfg.app_config(
        desired,
        instance.ref,
        instance.created_at,
        spec,
        latest.identity.attempt + 1,
        sandbox_attempt,
        delay,
    )
    out.add(PlanReason.RESTART, RunContainer(latest.node, config))
