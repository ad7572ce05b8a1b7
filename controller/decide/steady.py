"""The steady pod: one instance running today's spec, its sandbox and every container running,
each container in the current sandbox, nothing to collect. Its plan is empty, and this module
says so without grouping instances.

Why a shortcut: most pods are steady most of the time, and after a controller restart every
running pod is planned once; grouping a pod into instances and walking the full sync costs about
three times this check. It is the kubelet's habit too (computePodActions finds "nothing to do"
before it builds anything).

The check is deliberately narrow: anything it does not fully understand (init containers or
sidecars, volumes, a deletion, a node not known or still draining, more than one sandbox or
attempt of a container, a container not running) sends the pod down the full path. It must agree
with the full path: on every input it accepts, `compute_pod_plan` without it returns an empty
plan (tests/unit/test_steady_plan.py checks that on generated pods).
"""

from __future__ import annotations

from controller.decide.podinputs import PodInputs
from controller.model.observed import ContainerRole, RunState


def is_steady(inputs: PodInputs) -> bool:
    """True when the full plan of `inputs` is empty for the reasons above (False: don't know)."""
    desired = inputs.desired
    if desired is None or inputs.deletion is not None or inputs.volumes:
        return False
    spec = desired.pod.spec
    containers = inputs.containers
    if (
        not spec.containers  # (validation forbids it) a pod of nothing is finished at once
        or spec.init_containers
        or spec.volumes
        or len(containers) != len(spec.containers) + 1
    ):
        return False
    sandbox = next((c for c in containers if c.identity.role is ContainerRole.SANDBOX), None)
    if sandbox is None:
        return False
    running = RunState.RUNNING
    node = sandbox.node
    identity = sandbox.identity
    if (
        sandbox.state is not running
        or identity.pod_spec_hash != desired.spec_hash
        or (inputs.known_nodes is not None and node not in inputs.known_nodes)
        or node in inputs.draining_nodes
    ):
        return False
    uid = identity.pod.uid
    attempt = identity.attempt
    names = {c.name for c in spec.containers}
    for container in containers:
        if container is sandbox:
            continue
        mine = container.identity
        if (
            mine.role is not ContainerRole.APP
            or container.state is not running
            or container.node != node
            or mine.pod.uid != uid
            or mine.sandbox_attempt != attempt
            or mine.container_name not in names
        ):
            return False
        names.discard(mine.container_name)  # a second container of one name fails the next check
    return not names
