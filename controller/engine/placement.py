"""What placing pods needs beyond the engine's picture: reserved host ports, unschedulable pods.

`PortReservations` is kube-scheduler's assumed pods for host ports: a pod whose plan creates a
sandbox holds its ports from the moment it is decided until the plan is applied (by then the
sandbox is in the observed cache, or it failed and holds nothing). Decisions of other pods taken
meanwhile by other workers see the reservation, so two pods never pick the same free port at once.
Reserve synchronously right after deciding, before the first await, or the guard is void.

`UnschedulablePods` remembers, per pod, why no node can take it, for the pod's status and so the
`FailedScheduling` event is recorded once per change of reason, not on every retry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from controller.decide.scheduling import PortUse
from controller.model.meta import NodeName, PodKey
from controller.model.observed import ContainerRole, HostPort
from controller.model.plan import Plan, RunContainer


class PortReservations:
    def __init__(self) -> None:
        self._held: dict[PodKey, tuple[NodeName, tuple[HostPort, ...]]] = {}

    def reserve_for(self, plan: Plan) -> bool:
        """Hold the host ports of every sandbox `plan` creates; True when something was held."""
        for action in plan.actions:
            if not isinstance(action, RunContainer):
                continue
            config = action.config
            if config.identity.role is not ContainerRole.SANDBOX or not config.ports:
                continue
            ports = tuple(HostPort(p.host_ip, p.host_port, p.protocol.value) for p in config.ports)
            self._held[plan.key] = (action.node, ports)
            return True
        return False

    def release(self, key: PodKey) -> None:
        self._held.pop(key, None)

    def merged_with(
        self, observed: Mapping[NodeName, Sequence[PortUse]]
    ) -> dict[NodeName, list[PortUse]]:
        """The observed ports in use plus the reserved ones, per node."""
        merged: dict[NodeName, list[PortUse]] = defaultdict(list)
        for node, uses in observed.items():
            merged[node].extend(uses)
        for key, (node, ports) in self._held.items():
            merged[node].extend(PortUse(key, port) for port in ports)
        return merged


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
