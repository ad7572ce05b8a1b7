"""The scheduler's picture of the nodes: each node's facts and the pods that count there.

Built per placement from the node registry (readiness, labels, taints with the unreachable ones
of a lost node, capacity and its overrides; a node draining what was replaced while it was away
takes no new pod, as one not Ready), the observed cache (pods the engines show) and the assumed pods (placed, not observed
yet; see engine.placement), as kube-scheduler's cache builds its NodeInfos.

A pod counts on its node while it is bound there and not finished, as in Kubernetes, where
Succeeded and Failed pods take nothing: a declared pod counts until all its containers ended for
good under its restart policy (a pod waiting out its sandbox backoff still counts); a pod that is
no longer declared (or runs an older spec) counts while something of it still runs. Its requests
come from its declaration when that matches what runs, else from the pod object on its sandbox
(read once per sandbox), else nothing is known and it counts as asking for nothing. Its host
ports are its sandbox's while that runs or is about to start (decide.scheduling.holds_ports).

Traps: allocatable is the override where the nodes file gives one, else the engine's `/info`;
an engine that reported 0 CPUs or bytes is "unknown", not "full". An assumed pod whose key is
already observed on its node is not counted twice.
"""

from __future__ import annotations

from collections import defaultdict

import attrs

from controller.decide.instance import Instance, group_instances
from controller.decide.pods import pod_finished
from controller.decide.requests import Requests, pod_requests
from controller.decide.scheduling import (
    DEFAULT_MAX_PODS,
    Allocatable,
    AssignedPod,
    NodeInfo,
    holds_ports,
)
from controller.engine.nodes import NodeRegistry, NodeStatus
from controller.engine.placement import AssumedPods
from controller.engine.podfactory import restore_from_sandbox
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import ObservedContainer


@attrs.frozen
class _Counted:
    containers: tuple[ObservedContainer, ...]
    desired: DesiredPod | None
    counts: tuple[tuple[NodeName, AssignedPod], ...]
    sandboxes: tuple[ContainerId, ...]


def allocatable(status: NodeStatus) -> Allocatable:
    overrides, capacity = status.overrides, status.capacity
    cpu = overrides.cpu_millis
    if cpu is None and capacity is not None and capacity.cpu_cores > 0:
        cpu = capacity.cpu_cores * 1000
    memory = overrides.memory_bytes
    if memory is None and capacity is not None and capacity.memory_bytes > 0:
        memory = capacity.memory_bytes
    pods = overrides.pods if overrides.pods is not None else DEFAULT_MAX_PODS
    return Allocatable(cpu, memory, pods)


class NodeInfoBuilder:
    def __init__(
        self,
        nodes: NodeRegistry,
        cache: ObservedCache,
        desired: DesiredStore,
        assumed: AssumedPods,
    ) -> None:
        self._nodes = nodes
        self._cache = cache
        self._desired = desired
        self._assumed = assumed
        self._restored: dict[ContainerId, tuple[Requests, Requests]] = {}
        """Requests read back from a sandbox's pod object, per sandbox (dropped when it goes)."""
        self._counted: dict[PodKey, _Counted] = {}
        """Per pod key, what it counts on which node, with the containers and the declaration
        it was worked out from: reused while both are the same objects (the cache hands back
        the same tuple while a pod's containers do not change), so a placement reworks only
        the pods that changed since the last one, not every pod."""

    def build(self) -> tuple[NodeInfo, ...]:
        observed = self._observed_pods()
        infos = []
        for status in self._nodes.all():
            pods = observed.get(status.name, [])
            here = {p.key for p in pods}
            pods += [p for p in self._assumed.on(status.name) if p.key not in here]
            infos.append(
                NodeInfo(
                    name=status.name,
                    ready=status.schedulable,  # a node back from an outage drains first
                    labels=status.labels,
                    taints=status.effective_taints,
                    allocatable=allocatable(status),
                    pods=tuple(pods),
                )
            )
        return tuple(infos)

    def _observed_pods(self) -> dict[NodeName, list[AssignedPod]]:
        sandboxes: set[ContainerId] = set()
        counted: dict[NodeName, list[AssignedPod]] = defaultdict(list)
        memo: dict[PodKey, _Counted] = {}
        for key in self._cache.keys_with_containers():
            containers = self._cache.containers_for(key)
            desired = self._desired.get(key)
            entry = self._counted.get(key)
            if entry is None or entry.containers is not containers or entry.desired is not desired:
                entry = self._count(key, containers, desired)
            memo[key] = entry
            sandboxes.update(entry.sandboxes)
            for node, pod in entry.counts:
                counted[node].append(pod)
        self._counted = memo
        for gone in self._restored.keys() - sandboxes:
            del self._restored[gone]
        return counted

    def _count(
        self,
        key: PodKey,
        containers: tuple[ObservedContainer, ...],
        desired: DesiredPod | None,
    ) -> _Counted:
        sandboxes = []
        counts = []
        for instance in group_instances(containers):
            sandbox = instance.sandbox
            if sandbox is not None:
                sandboxes.append(sandbox.id)
            pod = self._assigned(key, instance, desired)
            if pod is not None and instance.node is not None:
                counts.append((instance.node, pod))
        return _Counted(containers, desired, tuple(counts), tuple(sandboxes))

    def _assigned(
        self, key: PodKey, instance: Instance, desired: DesiredPod | None
    ) -> AssignedPod | None:
        sandbox = instance.sandbox
        if desired is not None and desired.spec_hash == instance.spec_hash:
            if pod_finished(desired, instance):
                return None
            requests, nonzero = pod_requests(desired.pod.spec)
        elif instance.running():
            requests, nonzero = self._requests_of(sandbox)
        else:
            return None
        ports = sandbox.host_ports if sandbox is not None and holds_ports(sandbox) else ()
        owner = next((c.identity.owner for c in instance.all_containers()), "")
        return AssignedPod(key, owner, requests, nonzero, ports)

    def _requests_of(self, sandbox: ObservedContainer | None) -> tuple[Requests, Requests]:
        if sandbox is None:
            return Requests(), Requests()
        known = self._restored.get(sandbox.id)
        if known is None:
            restored = restore_from_sandbox(sandbox)
            known = pod_requests(restored.pod.spec) if restored else (Requests(), Requests())
            self._restored[sandbox.id] = known
        return known
