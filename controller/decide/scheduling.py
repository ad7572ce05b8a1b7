"""Binding a new pod to a node: kube-scheduler's default filters and scores, as a pure function.

Inputs are frozen facts. Per node (`NodeInfo`): readiness, labels, taints, what it offers pods
(`Allocatable`) and the pods assigned there (`AssignedPod`): those the engine shows, and those
placed but not observed yet (kube-scheduler's "assumed" pods; the caller must include them, or two
workers placing at once would both take the last room on a node). For the pod (`PodFacts`, made by
`pod_facts` from its spec): requests, host ports, nodeName, nodeSelector, node affinity and
tolerations.

`schedule` runs each node through the filters in kube-scheduler's order (decide.filters: NodeName,
TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit), stopping at the first that refuses;
the nodes left are scored as the default profile does (decide.scores) and the best wins, ties
broken by node name (kube-scheduler picks at random among equals; a name is deterministic). When no
node is left the message is kube-scheduler's FitError: each reason counted over the nodes that gave
it, written "<count> <reason>", and the parts sorted as strings, e.g.
`0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient memory.`

Traps:
- A node that is not Ready is never a candidate, whatever the pod tolerates; it counts once, under
  the reason kube-scheduler gives for it (an untolerated unreachable taint), also when its status
  already carries that taint.
- `spec.nodeName` bypasses every filter, as in Kubernetes, where the kubelet and not the scheduler
  takes such a pod; it must still name a node of this controller, and waits while it is not Ready.
- Requests are what pods ask, not what they use. A node whose capacity is unknown (its engine not
  read yet, no override) limits only the pod count.
- The pod's own key on a node (an old instance going away) takes nothing from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import attrs

from controller.decide import filters, scores
from controller.decide.containers import pod_host_ports
from controller.decide.requests import Requests, pod_requests
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName, PodKey
from controller.model.observed import HostPort, ObservedContainer, RunState
from controller.model.placement import NodeAffinity, Taint, Toleration

DEFAULT_MAX_PODS = 110
"""The kubelet's default max-pods: a node's pod count limit unless its settings say otherwise."""

NO_NODES = "no nodes available to schedule pods"
"""kube-scheduler's ErrNoNodesAvailable."""


@attrs.frozen
class Allocatable:
    """What a node offers pods; None where it is not known (that resource is then not checked)."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None
    pods: int = DEFAULT_MAX_PODS


@attrs.frozen
class AssignedPod:
    """A pod bound to a node, as scheduling counts it."""

    key: PodKey
    owner: str = ""
    requests: Requests = Requests()
    nonzero: Requests = Requests()
    """Requests with kube-scheduler's defaults for what a container leaves unset (scores only)."""
    host_ports: tuple[HostPort, ...] = ()


@attrs.frozen
class NodeInfo:
    name: NodeName
    ready: bool = True
    labels: Mapping[str, str] = attrs.field(factory=dict)
    taints: tuple[Taint, ...] = ()
    allocatable: Allocatable = Allocatable()
    pods: tuple[AssignedPod, ...] = ()
    _totals: _PodTotals = attrs.field(init=False, eq=False, repr=False)
    """What every filter and score reads of `pods`, added up once (kube-scheduler's NodeInfo
    keeps the same sums), so placing a pod reads each node's pods once, not once per plugin."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_totals", _PodTotals.of(self.pods))

    def requested(self) -> Requests:
        return self._totals.requested

    def nonzero_requested(self) -> Requests:
        return self._totals.nonzero

    def holds(self, key: PodKey) -> bool:
        return key in self._totals.keys

    def held_ports(self) -> tuple[HostPort, ...]:
        return self._totals.ports

    def owned_by(self, owner: str, namespace: str) -> int:
        """How many of its pods `owner` made in `namespace`."""
        return self._totals.owners.get((owner, namespace), 0)


@attrs.frozen
class _PodTotals:
    requested: Requests
    nonzero: Requests
    keys: frozenset[PodKey]
    ports: tuple[HostPort, ...]
    owners: Mapping[tuple[str, str], int]

    @classmethod
    def of(cls, pods: Sequence[AssignedPod]) -> _PodTotals:
        cpu = memory = nonzero_cpu = nonzero_memory = 0
        owners: Counter[tuple[str, str]] = Counter()
        for p in pods:
            cpu += p.requests.cpu_millis
            memory += p.requests.memory_bytes
            nonzero_cpu += p.nonzero.cpu_millis
            nonzero_memory += p.nonzero.memory_bytes
            owners[(p.owner, p.key.namespace)] += 1
        return cls(
            Requests(cpu, memory),
            Requests(nonzero_cpu, nonzero_memory),
            frozenset(p.key for p in pods),
            tuple(port for p in pods for port in p.host_ports),
            owners,
        )


@attrs.frozen
class PodFacts:
    """What scheduling reads of the pod to place."""

    key: PodKey
    owner: str = ""
    requests: Requests = Requests()
    nonzero: Requests = Requests()
    host_ports: tuple[HostPort, ...] = ()
    node_name: str | None = None
    node_selector: Mapping[str, str] = attrs.field(factory=dict)
    node_affinity: NodeAffinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    volume_nodes: frozenset[str] | None = None
    """Nodes holding the volumes of the pod's bound claims (VolumeBinding); None: no limit."""

    def assigned(self) -> AssignedPod:
        """The pod as it counts on the node it is placed on."""
        return AssignedPod(self.key, self.owner, self.requests, self.nonzero, self.host_ports)


@attrs.frozen
class Placement:
    """Where a new pod goes. `node` None: `unschedulable` says why no node can take it, or is
    empty when the pod only waits (pinned to a node that is not Ready: node health requeues)."""

    node: NodeName | None
    unschedulable: str = ""


def pod_facts(desired: DesiredPod) -> PodFacts:
    spec = desired.pod.spec
    requests, nonzero = pod_requests(spec)
    affinity = spec.affinity.node_affinity if spec.affinity is not None else None
    return PodFacts(
        key=desired.key,
        owner=desired.owner,
        requests=requests,
        nonzero=nonzero,
        host_ports=pod_host_ports(desired),
        node_name=spec.node_name,
        node_selector=spec.node_selector,
        node_affinity=affinity,
        tolerations=spec.tolerations,
    )


def schedule(pod: PodFacts, nodes: Sequence[NodeInfo]) -> Placement:
    """The node for `pod`, or why there is none."""
    nodes = [_without(node, pod.key) for node in nodes]
    if pod.node_name:
        return _pinned(pod.node_name, nodes)
    if not nodes:
        return Placement(None, NO_NODES)
    named = filters.affinity_node_names(pod)
    if named is not None and not named:
        return Placement(None, fit_error(len(nodes), {}, filters.AFFINITY_CONFLICT))
    candidates = nodes if named is None else [n for n in nodes if n.name in named]
    reasons: Counter[str] = Counter()
    if len(candidates) < len(nodes):
        reasons[filters.NOT_SATISFIED_NODE_AFFINITY] += len(nodes) - len(candidates)
    feasible = []
    for node in candidates:
        refused = filters.refusals(pod, node)
        reasons.update(refused)
        if not refused:
            feasible.append(node)
    if not feasible:
        return Placement(None, fit_error(len(nodes), reasons))
    totals = scores.total(pod, feasible)
    best = min(feasible, key=lambda node: (-totals[node.name], node.name))
    return Placement(best.name)


def fit_error(nodes: int, reasons: Mapping[str, int], pre_filter: str = "") -> str:
    """kube-scheduler's FitError.Error(): `0/N nodes are available: <count> <reason>, ... .`"""
    message = f"0/{nodes} nodes are available:"
    if pre_filter:
        return f"{message} {pre_filter}."
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    return f"{message} {', '.join(parts)}." if parts else message


def _pinned(name: str, nodes: Sequence[NodeInfo]) -> Placement:
    node = next((n for n in nodes if n.name == name), None)
    if node is None:
        known = ", ".join(sorted(n.name for n in nodes))
        return Placement(None, f'spec.nodeName: node "{name}" is not a node here (nodes: {known})')
    return Placement(node.name if node.ready else None)


def _without(node: NodeInfo, key: PodKey) -> NodeInfo:
    if not node.holds(key):
        return node
    return attrs.evolve(node, pods=tuple(p for p in node.pods if p.key != key))


def holds_ports(container: ObservedContainer) -> bool:
    """A sandbox holds its host ports while it runs or is about to start; a dead one holds
    nothing (the engine freed them): a pod waiting out its sandbox backoff may lose its port."""
    if not container.is_sandbox:
        return False
    starting = container.state is RunState.CREATED and not container.failed_to_start
    return container.state is RunState.RUNNING or starting
