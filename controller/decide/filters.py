"""kube-scheduler's default filters, in its order, each with its reasons word for word.

`refusals(pod, node)` runs NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit
and VolumeBinding (a bound claim's node only) and returns the reasons of the first that refuses (kube-scheduler stops at the first failing
plugin too, so a node counts under one plugin; NodeResourcesFit alone may give several reasons,
one per resource short). An empty tuple: the node can take the pod.

NodeAffinity's PreFilter is here as well (`affinity_node_names`): required terms that all name
nodes through `matchFields` (`metadata.name In [...]`) narrow the candidates before any filter
runs; the nodes left out count as "didn't satisfy plugin(s) [NodeAffinity]", and terms that
contradict each other refuse the pod outright ("pod affinity terms conflict").

Traps:
- Readiness is checked here, with the taints: a node that is not Ready is refused whatever the pod
  tolerates, under the first untolerated NoSchedule/NoExecute taint its status carries (the
  unreachable/not-ready taints node health puts there included) or, with none, under the
  unreachable taint kube-scheduler would report. Never both.
- The reasons "Insufficient cpu", "Insufficient memory" and "Too many pods" carry no "node(s)".
- An empty node selector term matches no node; nodeSelector and required terms must both hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from controller.decide.nodelost import UNREACHABLE_TAINTS
from controller.model.placement import (
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
    TaintEffect,
    Toleration,
)

if TYPE_CHECKING:
    from controller.decide.scheduling import NodeInfo, PodFacts

NODE_NAME = "node(s) didn't match the requested node name"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NOT_SATISFIED_NODE_AFFINITY = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
AFFINITY_CONFLICT = "pod affinity terms conflict"
NO_FREE_PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict"
"""VolumeBinding's reason for a node that does not hold a bound claim's volume."""

UNREACHABLE = UNREACHABLE_TAINTS[0]
"""What the node lifecycle controller puts on a node it cannot hear from (NoSchedule)."""

NODE_NAME_FIELD = "metadata.name"
"""The one field `matchFields` may name."""

_DO_NOT_SCHEDULE = frozenset({TaintEffect.NO_SCHEDULE, TaintEffect.NO_EXECUTE})


def untolerated_taint(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def refusals(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    for check in _FILTERS:
        refused = check(pod, node)
        if refused:
            return refused
    return ()


def node_name(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    return (NODE_NAME,) if pod.node_name and pod.node_name != node.name else ()


def first_untolerated(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]
) -> Taint | None:
    """The first NoSchedule/NoExecute taint no toleration tolerates (FindMatchingUntoleratedTaint)."""
    for taint in taints:
        if taint.effect in _DO_NOT_SCHEDULE and not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


def taint_toleration(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    taint = first_untolerated(node.taints, pod.tolerations)
    if taint is None and not node.ready:
        taint = UNREACHABLE  # never a candidate, even for a pod that tolerates everything
    return (untolerated_taint(taint),) if taint is not None else ()


def node_affinity(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    return () if required_affinity_matches(pod, node) else (NODE_AFFINITY,)


def required_affinity_matches(pod: PodFacts, node: NodeInfo) -> bool:
    """nodeSelector (every label equal) and the required terms (any one matching)."""
    if any(node.labels.get(key) != value for key, value in pod.node_selector.items()):
        return False
    required = (
        pod.node_affinity.required_during_scheduling_ignored_during_execution
        if pod.node_affinity is not None
        else None
    )
    if required is None:
        return True
    return any(term_matches(term, node) for term in required.node_selector_terms)


def term_matches(term: NodeSelectorTerm, node: NodeInfo) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False
    fields = {NODE_NAME_FIELD: node.name}
    return all(requirement_matches(r, node.labels) for r in term.match_expressions) and all(
        requirement_matches(r, fields) for r in term.match_fields
    )


def requirement_matches(requirement: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    value = labels.get(requirement.key)
    match requirement.operator:
        case NodeSelectorOperator.IN:
            return value is not None and value in requirement.values
        case NodeSelectorOperator.NOT_IN:
            return value is None or value not in requirement.values
        case NodeSelectorOperator.EXISTS:
            return value is not None
        case NodeSelectorOperator.DOES_NOT_EXIST:
            return value is None
        case NodeSelectorOperator.GT | NodeSelectorOperator.LT:
            if value is None or len(requirement.values) != 1:
                return False
            try:
                have, bound = int(value), int(requirement.values[0])
            except ValueError:
                return False
            return have > bound if requirement.operator is NodeSelectorOperator.GT else have < bound


def affinity_node_names(pod: PodFacts) -> frozenset[str] | None:
    """NodeAffinity's PreFilter: the only nodes the required terms allow, when every term names
    nodes with `metadata.name In`; None when some term leaves every node possible."""
    affinity = pod.node_affinity
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    if required is None or not required.node_selector_terms:
        return None
    names: set[str] = set()
    for term in required.node_selector_terms:
        term_names: set[str] | None = None
        for field in term.match_fields:
            if field.key == NODE_NAME_FIELD and field.operator is NodeSelectorOperator.IN:
                values = set(field.values)
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return frozenset(names)


def node_ports(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    """Kubernetes' NodePorts: a wanted port clashes with one held there (see HostPort.clashes)."""
    held = node.held_ports()
    taken = any(want.clashes(port) for want in pod.host_ports for port in held)
    return (NO_FREE_PORTS,) if taken else ()


def resources_fit(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    """Kubernetes' NodeResourcesFit (fitsRequest): the pod count, then cpu, then memory."""
    reasons = []
    allocatable = node.allocatable
    if len(node.pods) + 1 > allocatable.pods:
        reasons.append(TOO_MANY_PODS)
    want = pod.requests
    used = node.requested()
    cpu = allocatable.cpu_millis
    if want.cpu_millis > 0 and cpu is not None and want.cpu_millis > cpu - used.cpu_millis:
        reasons.append(INSUFFICIENT_CPU)
    memory = allocatable.memory_bytes
    if (
        want.memory_bytes > 0
        and memory is not None
        and want.memory_bytes > memory - used.memory_bytes
    ):
        reasons.append(INSUFFICIENT_MEMORY)
    return tuple(reasons)


def volume_binding(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    """A claim's volume lives on one node (the local driver): a pod of a bound claim goes there."""
    if pod.volume_nodes is not None and node.name not in pod.volume_nodes:
        return (VOLUME_NODE_CONFLICT,)
    return ()


_FILTERS: tuple[Callable[[PodFacts, NodeInfo], tuple[str, ...]], ...] = (
    node_name,
    taint_toleration,
    node_affinity,
    node_ports,
    resources_fit,
    volume_binding,
)
