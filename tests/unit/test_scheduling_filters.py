"""kube-scheduler's filters one by one: what each refuses, in its words, and the FitError message."""

from __future__ import annotations

import pytest

from controller.decide.requests import Requests, pod_requests
from controller.decide.scheduling import (
    Allocatable,
    AssignedPod,
    NodeInfo,
    PodFacts,
    fit_error,
    pod_facts,
    schedule,
)
from controller.model.meta import NodeName, PodKey
from controller.model.observed import HostPort
from controller.model.placement import (
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
    Taint,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from controller.model.pod import PodSpec, ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from tests.factories import container, desired, pod

N1, N2, N3 = NodeName("n1"), NodeName("n2"), NodeName("n3")
WEB = PodKey("default", "web")
MI = 1024 * 1024
GPU = Taint("gpu", TaintEffect.NO_SCHEDULE, "yes")


def facts(**fields: object) -> PodFacts:
    return PodFacts(WEB, **fields)  # type: ignore[arg-type]


def required(*requirements: NodeSelectorRequirement, fields: bool = False) -> NodeAffinity:
    term = (
        NodeSelectorTerm(match_fields=requirements)
        if fields
        else NodeSelectorTerm(match_expressions=requirements)
    )
    return NodeAffinity(NodeSelector((term,)))


def message(pod: PodFacts, *nodes: NodeInfo) -> str:
    placement = schedule(pod, nodes)
    assert placement.node is None
    return placement.unschedulable


def test_the_issue_example_is_counted_and_sorted_as_kube_scheduler_does() -> None:
    small = Allocatable(memory_bytes=64 * MI)
    nodes = (
        NodeInfo(N1, labels={"disk": "ssd"}, allocatable=small),
        NodeInfo(N2, labels={"disk": "ssd"}, allocatable=small),
        NodeInfo(N3, labels={"disk": "hdd"}),
    )
    pod = facts(requests=Requests(memory_bytes=128 * MI), node_selector={"disk": "ssd"})
    # FitError sorts "<count> <reason>" as strings: "1 node(s)..." before "2 Insufficient...".
    assert message(pod, *nodes) == (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "2 Insufficient memory."
    )


def test_insufficient_memory_and_cpu_are_both_reasons_of_one_node() -> None:
    node = NodeInfo(N1, allocatable=Allocatable(cpu_millis=1000, memory_bytes=100 * MI))
    pod = facts(requests=Requests(cpu_millis=1500, memory_bytes=200 * MI))
    assert message(pod, node) == (
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    )


def test_requests_of_pods_already_there_count_and_a_pod_that_fits_exactly_is_placed() -> None:
    used = AssignedPod(PodKey("default", "db"), requests=Requests(memory_bytes=60 * MI))
    node = NodeInfo(N1, allocatable=Allocatable(memory_bytes=100 * MI), pods=(used,))
    assert schedule(facts(requests=Requests(memory_bytes=40 * MI)), [node]).node == N1
    assert message(facts(requests=Requests(memory_bytes=41 * MI)), node) == (
        "0/1 nodes are available: 1 Insufficient memory."
    )


def test_unknown_capacity_limits_only_the_pod_count() -> None:
    pod = facts(requests=Requests(cpu_millis=10**6, memory_bytes=10**15))
    assert schedule(pod, [NodeInfo(N1)]).node == N1
    full = NodeInfo(N1, allocatable=Allocatable(pods=1), pods=(AssignedPod(PodKey("a", "b")),))
    assert message(pod, full) == "0/1 nodes are available: 1 Too many pods."


def test_an_untolerated_taint_is_named_with_key_and_value() -> None:
    assert message(facts(), NodeInfo(N1, taints=(GPU,))) == (
        "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: yes}."
    )


@pytest.mark.parametrize(
    "toleration",
    [
        Toleration("gpu", TolerationOperator.EQUAL, "yes", TaintEffect.NO_SCHEDULE),
        Toleration("gpu", TolerationOperator.EXISTS),
        Toleration(operator=TolerationOperator.EXISTS),
    ],
    ids=["equal", "exists", "everything"],
)
def test_a_tolerated_taint_lets_the_pod_in(toleration: Toleration) -> None:
    assert schedule(facts(tolerations=(toleration,)), [NodeInfo(N1, taints=(GPU,))]).node == N1


def test_no_execute_refuses_and_prefer_no_schedule_only_scores() -> None:
    evict = Taint("maintenance", TaintEffect.NO_EXECUTE)
    assert message(facts(), NodeInfo(N1, taints=(evict,))) == (
        "0/1 nodes are available: 1 node(s) had untolerated taint {maintenance: }."
    )
    soft = Taint("spot", TaintEffect.PREFER_NO_SCHEDULE, "true")
    assert schedule(facts(), [NodeInfo(N1, taints=(soft,))]).node == N1
    assert schedule(facts(), [NodeInfo(N1, taints=(soft,)), NodeInfo(N2)]).node == N2


def test_a_node_not_ready_is_unreachable_even_for_a_pod_tolerating_everything() -> None:
    everything = facts(tolerations=(Toleration(operator=TolerationOperator.EXISTS),))
    down = NodeInfo(N1, ready=False)
    expected = "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }."
    assert message(everything, down) == expected
    assert message(facts(), down) == expected


def test_a_not_ready_node_carrying_its_taint_is_counted_once() -> None:
    tainted = NodeInfo(
        N1, ready=False, taints=(Taint("node.kubernetes.io/unreachable", TaintEffect.NO_EXECUTE),)
    )
    assert message(facts(), tainted, NodeInfo(N2, ready=False)) == (
        "0/2 nodes are available: 2 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }."
    )


def test_node_selector_needs_every_label() -> None:
    node = NodeInfo(N1, labels={"disk": "ssd", "zone": "a"})
    assert schedule(facts(node_selector={"disk": "ssd"}), [node]).node == N1
    assert message(facts(node_selector={"disk": "ssd", "zone": "b"}), node) == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    )


@pytest.mark.parametrize(
    ("operator", "values", "matches"),
    [
        (NodeSelectorOperator.IN, ("ssd", "nvme"), True),
        (NodeSelectorOperator.IN, ("hdd",), False),
        (NodeSelectorOperator.NOT_IN, ("hdd",), True),
        (NodeSelectorOperator.NOT_IN, ("ssd",), False),
        (NodeSelectorOperator.EXISTS, (), True),
        (NodeSelectorOperator.DOES_NOT_EXIST, (), False),
    ],
    ids=str,
)
def test_match_expressions(
    operator: NodeSelectorOperator, values: tuple[str, ...], matches: bool
) -> None:
    pod = facts(node_affinity=required(NodeSelectorRequirement("disk", operator, values)))
    placed = schedule(pod, [NodeInfo(N1, labels={"disk": "ssd"})])
    assert (placed.node == N1) is matches


@pytest.mark.parametrize(
    ("operator", "bound", "matches"),
    [
        (NodeSelectorOperator.GT, "3", True),
        (NodeSelectorOperator.GT, "4", False),
        (NodeSelectorOperator.LT, "5", True),
        (NodeSelectorOperator.LT, "4", False),
    ],
    ids=str,
)
def test_gt_and_lt_compare_integers(
    operator: NodeSelectorOperator, bound: str, matches: bool
) -> None:
    pod = facts(node_affinity=required(NodeSelectorRequirement("cores", operator, (bound,))))
    assert (schedule(pod, [NodeInfo(N1, labels={"cores": "4"})]).node == N1) is matches
    assert schedule(pod, [NodeInfo(N1, labels={"cores": "four"})]).node is None


def test_the_terms_are_ored_and_an_empty_term_matches_nothing() -> None:
    ssd = NodeSelectorTerm((NodeSelectorRequirement("disk", NodeSelectorOperator.IN, ("ssd",)),))
    empty = NodeSelectorTerm()
    pod = facts(node_affinity=NodeAffinity(NodeSelector((empty, ssd))))
    nodes = [NodeInfo(N1, labels={"disk": "hdd"}), NodeInfo(N2, labels={"disk": "ssd"})]
    assert schedule(pod, nodes).node == N2
    assert schedule(facts(node_affinity=NodeAffinity(NodeSelector((empty,)))), nodes).node is None


def test_match_fields_narrow_the_nodes_first_as_node_affinity_prefilter_does() -> None:
    only_n2 = required(
        NodeSelectorRequirement("metadata.name", NodeSelectorOperator.IN, ("n2",)), fields=True
    )
    nodes = (NodeInfo(N1), NodeInfo(N2, taints=(GPU,)), NodeInfo(N3))
    assert message(facts(node_affinity=only_n2), *nodes) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {gpu: yes}, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    )
    assert schedule(facts(node_affinity=only_n2), [NodeInfo(N1), NodeInfo(N2)]).node == N2
    not_n1 = required(
        NodeSelectorRequirement("metadata.name", NodeSelectorOperator.NOT_IN, ("n1",)), fields=True
    )
    assert schedule(facts(node_affinity=not_n1), [NodeInfo(N1), NodeInfo(N2)]).node == N2


def test_conflicting_match_fields_are_a_prefilter_verdict() -> None:
    term = NodeSelectorTerm(
        match_fields=(
            NodeSelectorRequirement("metadata.name", NodeSelectorOperator.IN, ("n1",)),
            NodeSelectorRequirement("metadata.name", NodeSelectorOperator.IN, ("n2",)),
        )
    )
    pod = facts(node_affinity=NodeAffinity(NodeSelector((term,))))
    assert message(pod, NodeInfo(N1), NodeInfo(N2)) == (
        "0/2 nodes are available: pod affinity terms conflict."
    )


def test_filters_run_in_order_and_stop_at_the_first_refusal() -> None:
    port = HostPort("127.0.0.1", 80)
    holder = AssignedPod(PodKey("default", "other"), host_ports=(port,))
    node = NodeInfo(N1, taints=(GPU,), labels={}, pods=(holder,))
    pod = facts(host_ports=(port,), node_selector={"disk": "ssd"})
    assert (
        message(pod, node) == "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: yes}."
    )


def test_preferred_affinity_picks_among_nodes_that_fit() -> None:
    prefer = NodeAffinity(
        preferred_during_scheduling_ignored_during_execution=(
            PreferredSchedulingTerm(
                10,
                NodeSelectorTerm(
                    (NodeSelectorRequirement("disk", NodeSelectorOperator.IN, ("ssd",)),)
                ),
            ),
        )
    )
    nodes = [NodeInfo(N1), NodeInfo(N2, labels={"disk": "ssd"})]
    assert schedule(facts(node_affinity=prefer), nodes).node == N2


def test_pods_of_one_owner_spread_and_bare_pods_go_to_the_least_loaded() -> None:
    mine = AssignedPod(
        PodKey("default", "web-a"), owner="ReplicaSet/web", nonzero=Requests(100, 200 * MI)
    )
    theirs = tuple(AssignedPod(PodKey("other", f"x{i}"), owner="ReplicaSet/web") for i in range(3))
    nodes = [NodeInfo(N1, pods=(mine,)), NodeInfo(N2, pods=theirs)]
    # same owner name in another namespace is another owner: spreading looks at n1's one pod
    assert schedule(facts(owner="ReplicaSet/web"), nodes).node == N2
    with_room = [
        NodeInfo(N1, allocatable=Allocatable(1000, 1024 * MI), pods=(mine,)),
        NodeInfo(N2, allocatable=Allocatable(1000, 1024 * MI)),
    ]
    assert schedule(facts(nonzero=Requests(100, 200 * MI)), with_room).node == N2


def test_node_name_pins_without_filters_and_waits_for_a_node_not_ready() -> None:
    tainted = NodeInfo(N1, taints=(GPU,), allocatable=Allocatable(pods=0))
    assert schedule(facts(node_name="n1"), [tainted, NodeInfo(N2)]).node == N1
    waiting = schedule(facts(node_name="n1"), [NodeInfo(N1, ready=False)])
    assert (waiting.node, waiting.unschedulable) == (None, "")
    unknown = schedule(facts(node_name="n9"), [NodeInfo(N1), NodeInfo(N2)])
    assert unknown.node is None
    assert unknown.unschedulable == 'spec.nodeName: node "n9" is not a node here (nodes: n1, n2)'


def test_fit_error_format() -> None:
    assert fit_error(3, {"Insufficient memory": 2, "Too many pods": 1}) == (
        "0/3 nodes are available: 1 Too many pods, 2 Insufficient memory."
    )
    assert schedule(facts(), []).unschedulable == "no nodes available to schedule pods"


def test_requests_pod_level_wins_per_resource_and_limits_default_requests() -> None:
    def resources(cpu: str | None = None, memory: str | None = None) -> ResourceRequirements:
        return ResourceRequirements(
            limits=ResourceList(
                cpu=Quantity.parse(cpu) if cpu else None,
                memory=Quantity.parse(memory) if memory else None,
            )
        )

    a = container("a", resources=resources(cpu="250m", memory="64Mi"))
    b = container("b")
    spec = PodSpec(containers=(a, b))
    assert pod_requests(spec) == (
        Requests(250, 64 * MI),
        Requests(350, 64 * MI + 200 * MI),
    )
    # a pod-level limit alone: the request defaults to the containers' sum where one asks
    pod_level = PodSpec(containers=(a, b), resources=resources(memory="128Mi"))
    assert pod_requests(pod_level) == (Requests(250, 64 * MI), Requests(350, 64 * MI))
    alone = PodSpec(containers=(b,), resources=resources(cpu="2", memory="128Mi"))
    assert pod_requests(alone) == (Requests(2000, 128 * MI), Requests(2000, 128 * MI))
    d = desired(pod("web", containers=[a, b]))
    assert pod_facts(d).requests == Requests(250, 64 * MI)
