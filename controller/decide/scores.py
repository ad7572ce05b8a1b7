"""kube-scheduler's default scores, normalized and weighted as its default profile does.

Each plugin scores every feasible node, its scores are normalized to 0..100 over those nodes, and
the node's total is the weighted sum:

- TaintToleration (weight 3): PreferNoSchedule taints the pod does not tolerate, fewer is better.
- NodeAffinity (weight 2): the summed weights of the preferred terms the node matches.
- PodTopologySpread (weight 2): the system default spreading by hostname (maxSkew 3), counting the
  pods of the same owner in the same namespace on each node; fewer is better. A bare pod (no
  owner) is not spread, as Kubernetes spreads only pods something selects.
- NodeResourcesFit, LeastAllocated (weight 1): the share of cpu and memory left free once the pod
  is added, with kube-scheduler's defaults for unset requests (see decide.requests).

Integer arithmetic as in kube-scheduler, so equal nodes score equal and the caller's tie-break by
name decides. Traps: a resource whose capacity is unknown scores 0, as a zero allocatable does in
Kubernetes; spreading uses the assumed pods too, or six pods placed at once would all pick the
node that was emptiest before any of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from controller.decide.filters import term_matches
from controller.model.meta import NodeName
from controller.model.placement import TaintEffect

if TYPE_CHECKING:
    from controller.decide.scheduling import NodeInfo, PodFacts

MAX_NODE_SCORE = 100
SYSTEM_DEFAULT_MAX_SKEW = 3
"""PodTopologySpread's system default constraint for kubernetes.io/hostname (ScheduleAnyway)."""

TAINT_WEIGHT = 3
AFFINITY_WEIGHT = 2
SPREAD_WEIGHT = 2
LEAST_ALLOCATED_WEIGHT = 1


def total(pod: PodFacts, nodes: Sequence[NodeInfo]) -> dict[NodeName, int]:
    """Each node's weighted score (higher is better)."""
    totals = dict.fromkeys((n.name for n in nodes), 0)
    for weight, plugin in _PLUGINS:
        for name, score in plugin(pod, nodes).items():
            totals[name] += weight * score
    return totals


def default_normalize(raw: Mapping[NodeName, int], reverse: bool) -> dict[NodeName, int]:
    """kube-scheduler's DefaultNormalizeScore."""
    highest = max(raw.values(), default=0)
    if highest == 0:
        return dict.fromkeys(raw, MAX_NODE_SCORE if reverse else 0)
    scaled = {name: MAX_NODE_SCORE * score // highest for name, score in raw.items()}
    return {n: MAX_NODE_SCORE - s for n, s in scaled.items()} if reverse else scaled


def prefer_no_schedule(pod: PodFacts, nodes: Sequence[NodeInfo]) -> dict[NodeName, int]:
    tolerations = [t for t in pod.tolerations if t.effect in (None, TaintEffect.PREFER_NO_SCHEDULE)]
    raw = {
        node.name: sum(
            1
            for taint in node.taints
            if taint.effect is TaintEffect.PREFER_NO_SCHEDULE
            and not any(t.tolerates(taint) for t in tolerations)
        )
        for node in nodes
    }
    return default_normalize(raw, reverse=True)


def preferred_affinity(pod: PodFacts, nodes: Sequence[NodeInfo]) -> dict[NodeName, int]:
    terms = (
        pod.node_affinity.preferred_during_scheduling_ignored_during_execution
        if pod.node_affinity is not None
        else ()
    )
    raw = {
        node.name: sum(term.weight for term in terms if term_matches(term.preference, node))
        for node in nodes
    }
    return default_normalize(raw, reverse=False)


def spread(pod: PodFacts, nodes: Sequence[NodeInfo]) -> dict[NodeName, int]:
    """PodTopologySpread's score for the hostname default constraint, then its normalization."""
    if not pod.owner:
        return dict.fromkeys((n.name for n in nodes), 0)
    weight = math.log(len(nodes) + 2)
    raw = {}
    for node in nodes:
        same = node.owned_by(pod.owner, pod.key.namespace)
        raw[node.name] = round(same * weight + (SYSTEM_DEFAULT_MAX_SKEW - 1))
    lowest, highest = min(raw.values()), max(raw.values())
    if highest == 0:
        return dict.fromkeys(raw, MAX_NODE_SCORE)
    return {
        name: MAX_NODE_SCORE * (highest + lowest - score) // highest for name, score in raw.items()
    }


def least_allocated(pod: PodFacts, nodes: Sequence[NodeInfo]) -> dict[NodeName, int]:
    scores = {}
    for node in nodes:
        requested = node.nonzero_requested() + pod.nonzero
        cpu = _free_share(requested.cpu_millis, node.allocatable.cpu_millis)
        memory = _free_share(requested.memory_bytes, node.allocatable.memory_bytes)
        scores[node.name] = (cpu + memory) // 2
    return scores


def _free_share(requested: int, capacity: int | None) -> int:
    if not capacity or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


_PLUGINS: tuple[
    tuple[int, Callable[[PodFacts, Sequence[NodeInfo]], Mapping[NodeName, int]]], ...
] = (
    (TAINT_WEIGHT, prefer_no_schedule),
    (AFFINITY_WEIGHT, preferred_affinity),
    (SPREAD_WEIGHT, spread),
    (LEAST_ALLOCATED_WEIGHT, least_allocated),
)
