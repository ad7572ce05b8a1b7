"""A pod with no instance yet: wait for knowledge, place it (decide.scheduling), make it.

No pod is created while some node was never listed (it may run there); a bare pod is not made
while a node that never answered is acted without (it may run there too; a ReplicaSet's pods are
replaced). Placing is scheduling's: when no node can take the pod the plan says why
(`unschedulable`) and no sandbox is attempted; so does a pod whose PersistentVolumeClaim is not
declared (kube-scheduler's `persistentvolumeclaim "x" not found`). A sandbox or container whose create failed before
waits out its backoff (`note_wait`).
"""

from __future__ import annotations

import attrs

from controller.decide import containers as cfg
from controller.decide.podinputs import (
    UNKNOWN_NODE_RECHECK_SECONDS,
    PlanBuilder,
    PodInputs,
    ensure_volumes,
    note_wait,
)
from controller.decide.scheduling import fit_error, pod_facts, schedule
from controller.model.desired import DesiredPod
from controller.model.meta import PodRef
from controller.model.observed import SANDBOX_CONTAINER_NAME
from controller.model.plan import PlanReason, RunContainer

UNSCHEDULABLE_RETRY_SECONDS = 5.0
"""How often a pod no node can take is tried again (a pod that stops or goes, freeing room,
requeues it sooner; so does a node that becomes known)."""


def create_pod(out: PlanBuilder, inputs: PodInputs, desired: DesiredPod) -> None:
    if not inputs.may_create:
        out.wake_in(UNKNOWN_NODE_RECHECK_SECONDS)  # it may run on a node not listed yet
        return
    if inputs.unlisted_nodes and not desired.owner:
        names = ", ".join(sorted(inputs.unlisted_nodes))
        out.unschedulable = (
            f"node(s) {names} not listed since the controller started: the pod may run there"
        )
        out.wake_in(UNKNOWN_NODE_RECHECK_SECONDS)
        return
    if inputs.claims.missing:  # VolumeBinding's PreFilter: unschedulable and unresolvable
        missing = f'persistentvolumeclaim "{inputs.claims.missing[0]}" not found'
        out.unschedulable = fit_error(len(inputs.nodes), {}, missing)
        out.wake_in(UNSCHEDULABLE_RETRY_SECONDS)  # a claim declared later requeues it sooner
        return
    facts = attrs.evolve(pod_facts(desired), volume_nodes=inputs.claims.nodes)
    placement = schedule(facts, inputs.nodes)
    node = placement.node
    if node is None:
        out.unschedulable = placement.unschedulable
        # nothing to bind to: node health, or a pod going away, requeues sooner
        out.wake_in(UNSCHEDULABLE_RETRY_SECONDS)
        return
    wait = note_wait(inputs, SANDBOX_CONTAINER_NAME)
    if wait > 0:
        out.wake_in(wait)
        return
    ref = PodRef(inputs.key.namespace, inputs.key.name, inputs.new_uid)
    ensure_volumes(out, desired, node, ref, set())
    sandbox = cfg.sandbox_config(desired, ref, inputs.now, 0, inputs.pause_image(node))
    out.add(PlanReason.CREATE_POD, RunContainer(node, sandbox))
    if desired.pod.spec.init_containers:
        return  # the init containers go first, one by one, once the sandbox runs (decide.pods)
    for container in desired.pod.spec.containers:
        wait = note_wait(inputs, container.name)
        if wait > 0:
            out.wake_in(wait)
            continue
        config = cfg.app_config(desired, ref, inputs.now, container, 0, 0, 0.0)
        out.add(PlanReason.CREATE_POD, RunContainer(node, config))
