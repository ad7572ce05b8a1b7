"""What placing pods needs beyond the engine's picture: assumed pods, and unschedulable pods.

`AssumedPods` is kube-scheduler's assumed pods: a pod whose plan creates a sandbox counts on its
node (requests, host ports, owner for spreading) from the moment it is decided until the plan is
applied; by then its sandbox is in the observed cache, or creating it failed and it holds nothing.
Decisions other workers take meanwhile see it, so six pods placed at once spread 2/2/2 and never
overcommit a node, and two pods never pick the same free port. Assume synchronously right after
deciding, before the first await, or the guard is void.

`UnschedulablePods` remembers, per pod, why no node can take it, for the pod's status and so the
`FailedScheduling` event is recorded once per change of reason, not on every retry.
"""

from __future__ import annotations

from controller.decide.scheduling import AssignedPod, pod_facts
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName, PodKey
from controller.model.observed import ContainerRole
from controller.model.plan import Plan, RunContainer


class AssumedPods:
    def __init__(self) -> None:
        self._held: dict[PodKey, tuple[NodeName, AssignedPod]] = {}

    def assume_for(self, plan: Plan, desired: DesiredPod | None) -> bool:
        """Count the pod on the node where `plan` creates its sandbox; True when it does."""
        if desired is None:
            return False
        for action in plan.actions:
            if isinstance(action, RunContainer) and (
                action.config.identity.role is ContainerRole.SANDBOX
            ):
                self._held[plan.key] = (action.node, pod_facts(desired).assigned())
                return True
        return False

    def forget(self, key: PodKey) -> None:
        self._held.pop(key, None)

    def on(self, node: NodeName) -> list[AssignedPod]:
        return [pod for where, pod in self._held.values() if where == node]


class UnschedulablePods:
    def __init__(self) -> None:
        self._why: dict[PodKey, str] = {}

    def get(self, key: PodKey) -> str:
        return self._why.get(key, "")

    def waiting(self) -> list[PodKey]:
        """Pods no node can take, the longest waiting first."""
        return list(self._why)

    def update(self, key: PodKey, message: str) -> bool:
        """Record the pod's current verdict ("" = schedulable); True when the reason is new."""
        previous = self._why.get(key, "")
        if message:
            self._why[key] = message
        else:
            self._why.pop(key, None)
        return bool(message) and message != previous
