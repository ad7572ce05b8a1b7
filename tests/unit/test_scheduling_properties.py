"""Invariants of the scheduler over random nodes and pods (Hypothesis).

Whatever the nodes and the pod: a chosen node is Ready, has room for the pod's requests and one
more pod, carries no taint the pod does not tolerate that forbids scheduling, and matches its
nodeSelector and required affinity; the choice does not depend on the order the nodes come in;
pods placed one after the other (each counting where it went, as assumed pods do) never overcommit
a node; and k x n pods of one owner on n equal empty nodes end exactly k per node. The checks
here are written apart from the filters, so a filter that lies is caught.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.decide.requests import Requests
from controller.decide.scheduling import (
    Allocatable,
    AssignedPod,
    NodeInfo,
    PodFacts,
    schedule,
)
from controller.model.meta import NodeName, PodKey
from controller.model.placement import (
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
    TaintEffect,
    Toleration,
    TolerationOperator,
)

MI = 1024 * 1024
TAINTS = [
    Taint("gpu", TaintEffect.NO_SCHEDULE, "yes"),
    Taint("maintenance", TaintEffect.NO_EXECUTE),
    Taint("spot", TaintEffect.PREFER_NO_SCHEDULE),
    Taint("node.kubernetes.io/unreachable", TaintEffect.NO_SCHEDULE),
]
TOLERATIONS = [
    Toleration("gpu", TolerationOperator.EQUAL, "yes"),
    Toleration("gpu", TolerationOperator.EQUAL, "no"),
    Toleration("maintenance", TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE),
    Toleration(operator=TolerationOperator.EXISTS),
]
DISKS = ["ssd", "hdd"]

requests = st.builds(
    Requests,
    st.integers(0, 2000).map(lambda m: m - m % 50),
    st.integers(0, 8).map(lambda n: n * 64 * MI),
)


@st.composite
def nodes(draw: st.DrawFn) -> list[NodeInfo]:
    count = draw(st.integers(1, 5))
    out = []
    for i in range(count):
        name = NodeName(f"n{i}")
        pods = tuple(
            AssignedPod(
                PodKey("default", f"{name}-p{j}"), draw(st.sampled_from(["", "RS/a"])), r, r
            )
            for j, r in enumerate(draw(st.lists(requests, max_size=3)))
        )
        labels = {"kubernetes.io/hostname": name}
        disk = draw(st.sampled_from([None, *DISKS]))
        if disk:
            labels["disk"] = disk
        out.append(
            NodeInfo(
                name,
                ready=draw(st.booleans()),
                labels=labels,
                taints=tuple(draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique=True))),
                allocatable=Allocatable(
                    draw(st.sampled_from([None, 1000, 2000, 4000])),
                    draw(st.sampled_from([None, 256 * MI, 1024 * MI])),
                    draw(st.integers(1, 5)),
                ),
                pods=pods,
            )
        )
    return out


@st.composite
def pods(draw: st.DrawFn) -> PodFacts:
    selector = draw(st.sampled_from([{}, {"disk": "ssd"}]))
    affinity = None
    disks = draw(st.lists(st.sampled_from(DISKS), max_size=2, unique=True))
    if disks:
        requirement = NodeSelectorRequirement("disk", NodeSelectorOperator.IN, tuple(disks))
        affinity = NodeAffinity(NodeSelector((NodeSelectorTerm((requirement,)),)))
    r = draw(requests)
    return PodFacts(
        PodKey("default", "new"),
        owner=draw(st.sampled_from(["", "RS/a"])),
        requests=r,
        nonzero=r,
        node_selector=selector,
        node_affinity=affinity,
        tolerations=tuple(draw(st.lists(st.sampled_from(TOLERATIONS), max_size=2))),
    )


def tolerated(taint: Taint, tolerations: tuple[Toleration, ...]) -> bool:
    for t in tolerations:
        if t.effect is not None and t.effect is not taint.effect:
            continue
        if t.operator is TolerationOperator.EXISTS and (not t.key or t.key == taint.key):
            return True
        if t.key == taint.key and t.value == taint.value:
            return True
    return False


def assert_fits(pod: PodFacts, node: NodeInfo) -> None:
    assert node.ready
    for taint in node.taints:
        if taint.effect is not TaintEffect.PREFER_NO_SCHEDULE:
            assert tolerated(taint, pod.tolerations), taint
    for key, value in pod.node_selector.items():
        assert node.labels.get(key) == value
    if pod.node_affinity is not None:
        required = pod.node_affinity.required_during_scheduling_ignored_during_execution
        assert required is not None
        (term,) = required.node_selector_terms
        (expression,) = term.match_expressions
        assert node.labels.get("disk") in expression.values
    assert len(node.pods) + 1 <= node.allocatable.pods
    used = sum((p.requests for p in node.pods), Requests())
    cpu, memory = node.allocatable.cpu_millis, node.allocatable.memory_bytes
    if cpu is not None:
        assert pod.requests.cpu_millis == 0 or used.cpu_millis + pod.requests.cpu_millis <= cpu
    if memory is not None:
        assert (
            pod.requests.memory_bytes == 0
            or used.memory_bytes + pod.requests.memory_bytes <= memory
        )


@settings(max_examples=300)
@given(nodes(), pods(), st.randoms(use_true_random=False))
def test_a_chosen_node_always_fits_and_the_choice_ignores_node_order(
    cluster: list[NodeInfo], pod: PodFacts, rng: object
) -> None:
    placement = schedule(pod, cluster)
    shuffled = list(cluster)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert schedule(pod, shuffled) == placement
    assert schedule(pod, cluster) == placement
    if placement.node is None:
        assert placement.unschedulable.startswith(f"0/{len(cluster)} nodes are available: ")
        counted = Counter(
            part.split(" ", 1)[1]
            for part in placement.unschedulable.split(": ", 1)[1].rstrip(".").split(", ")
        )
        assert counted  # every refusal has its reason
        return
    assert_fits(pod, next(n for n in cluster if n.name == placement.node))


@settings(max_examples=100)
@given(nodes(), st.lists(pods(), min_size=1, max_size=12))
def test_pods_placed_one_after_the_other_never_overcommit(
    cluster: list[NodeInfo], wanted: list[PodFacts]
) -> None:
    by_name = {n.name: n for n in cluster}
    for number, pod in enumerate(wanted):
        pod = PodFacts(
            PodKey("default", f"new-{number}"),
            pod.owner,
            pod.requests,
            pod.nonzero,
            node_selector=pod.node_selector,
            node_affinity=pod.node_affinity,
            tolerations=pod.tolerations,
        )
        placement = schedule(pod, list(by_name.values()))
        if placement.node is None:
            continue
        node = by_name[placement.node]
        assert_fits(pod, node)
        by_name[node.name] = NodeInfo(
            node.name,
            node.ready,
            node.labels,
            node.taints,
            node.allocatable,
            (*node.pods, pod.assigned()),
        )


@settings(max_examples=60)
@given(
    st.integers(1, 5),
    st.integers(1, 6),
    requests,
    st.sampled_from([Allocatable(), Allocatable(64000, 1 << 40, 110)]),
)
def test_k_times_n_pods_of_one_owner_spread_exactly(
    n: int, k: int, asks: Requests, room: Allocatable
) -> None:
    cluster = {NodeName(f"n{i}"): NodeInfo(NodeName(f"n{i}"), allocatable=room) for i in range(n)}
    for number in range(k * n):
        pod = PodFacts(PodKey("default", f"web-{number}"), "ReplicaSet/web", asks, asks)
        node = schedule(pod, list(cluster.values())).node
        assert node is not None
        info = cluster[node]
        cluster[node] = NodeInfo(node, allocatable=room, pods=(*info.pods, pod.assigned()))
    assert sorted(len(info.pods) for info in cluster.values()) == [k] * n
