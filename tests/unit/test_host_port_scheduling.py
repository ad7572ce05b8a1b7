"""Host ports as a scheduling fact: kube-scheduler's NodePorts filter, its message, the status."""

from __future__ import annotations

import json

import pytest

from controller.config import BackoffSettings, ImagePullSettings
from controller.decide import containers as cfg
from controller.decide.instance import group_instances
from controller.decide.podinputs import PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.scheduling import (
    AssignedPod,
    NodeInfo,
    Placement,
    PodFacts,
    holds_ports,
    schedule,
)
from controller.decide.status import compute_pod_status
from controller.model import labels
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import HostPort, ObservedContainer, RunState
from controller.model.plan import RunContainer
from controller.model.pod import ContainerPort, PortProtocol
from controller.model.status import ConditionType, PodPhase, Waiting
from tests.factories import container, desired, pod

A, B = NodeName("node-a"), NodeName("node-b")
WEB, OTHER = PodKey("default", "web"), PodKey("default", "other")
PORT = HostPort("127.0.0.1", 8080, "TCP")
NO_PORTS_1 = (
    "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
)


def node(name: NodeName, *ports: HostPort, key: PodKey = OTHER, ready: bool = True) -> NodeInfo:
    """A node where `key` holds `ports`."""
    return NodeInfo(name, ready, pods=(AssignedPod(key, host_ports=ports),) if ports else ())


def place(*nodes: NodeInfo) -> Placement:
    return schedule(PodFacts(WEB, host_ports=(PORT,)), nodes)


@pytest.mark.parametrize(
    ("other", "clash"),
    [
        (HostPort("127.0.0.1", 8080, "TCP"), True),
        (HostPort("0.0.0.0", 8080, "TCP"), True),  # a wildcard binding takes every address
        (HostPort("127.0.0.2", 8080, "TCP"), False),
        (HostPort("127.0.0.1", 8080, "UDP"), False),
        (HostPort("127.0.0.1", 8081, "TCP"), False),
    ],
    ids=str,
)
def test_port_clash_rule(other: HostPort, clash: bool) -> None:
    assert PORT.clashes(other) is clash
    assert other.clashes(PORT) is clash
    assert HostPort("0.0.0.0", 8080, "TCP").clashes(HostPort("127.0.0.9", 8080, "TCP"))


def test_a_taken_port_makes_the_pod_unschedulable_with_kubernetes_words() -> None:
    placement = place(node(A, PORT))
    assert placement.node is None
    assert placement.unschedulable == NO_PORTS_1


def test_the_message_counts_every_node() -> None:
    placement = place(node(A, PORT), node(B, PORT))
    assert placement.unschedulable == (
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."
    )


def test_a_node_with_the_port_free_is_chosen_even_if_busier() -> None:
    busy = NodeInfo(B, pods=tuple(AssignedPod(PodKey("default", f"p{i}")) for i in range(9)))
    assert place(node(A, PORT), busy).node == B


def test_the_pods_own_old_instance_does_not_block_it() -> None:
    assert place(node(A, PORT, key=WEB)).node == A


def test_a_node_not_ready_counts_as_unreachable_not_as_a_port_problem() -> None:
    assert place(node(A, PORT), NodeInfo(B, ready=False)).unschedulable == (
        "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports,"
        " 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }."
    )


def web_pod(name: str = "web", port: int = 8080, ip: str | None = None) -> DesiredPod:
    ports = (ContainerPort(80, host_port=port, host_ip=ip, protocol=PortProtocol.TCP),)
    return desired(pod(name, containers=[container("app", ports=ports)]))


def sandbox(name: str, state: RunState, error: str = "") -> ObservedContainer:
    d = web_pod(name)
    config = cfg.sandbox_config(d, PodRef("default", name, PodUid(f"uid-{name}")), 1.0, 0, "p")
    identity = labels.identity_from_labels(labels.identity_labels(config.identity))
    assert identity is not None
    return ObservedContainer(
        id=ContainerId(f"id-{name}"),
        node=A,
        docker_name=config.docker_name,
        identity=identity,
        state=state,
        error=error,
        host_ports=labels.host_ports_from_labels(config.extra_labels),
    )


def test_only_sandboxes_that_run_or_are_about_to_hold_ports() -> None:
    running = sandbox("a", RunState.RUNNING)
    created = sandbox("b", RunState.CREATED)
    failed = sandbox("c", RunState.CREATED, error="port is already allocated")
    exited = sandbox("d", RunState.EXITED)
    holding = [c for c in (running, created, failed, exited) if holds_ports(c)]
    assert [c.pod.name for c in holding] == ["a", "b"]
    assert all(c.host_ports == (PORT,) for c in holding)


def test_the_host_ports_label_round_trips_and_old_sandboxes_fall_back_to_the_manifest() -> None:
    ports = [HostPort("0.0.0.0", 53, "UDP"), PORT, HostPort("::1", 9000, "TCP")]
    text = labels.host_ports_label(ports)
    assert sorted(labels.host_ports_from_labels({labels.POD_HOST_PORTS: text})) == sorted(ports)
    manifest = {"spec": {"containers": [{"ports": [{"containerPort": 80, "hostPort": 8080}]}]}}
    old = {labels.POD_MANIFEST: json.dumps(manifest)}
    assert labels.host_ports_from_labels(old) == (PORT,)
    assert labels.host_ports_from_labels({labels.POD_MANIFEST: "{not json"}) == ()


def inputs(a: NodeInfo) -> PodInputs:
    return PodInputs(
        key=WEB,
        desired=web_pod(),
        containers=(),
        volumes=(),
        nodes=(a,),
        notes={},
        now=10.0,
        new_uid=PodUid("uid-web"),
        pause_images={A: "p"},
    )


def test_an_unschedulable_pod_gets_no_sandbox_and_a_retry() -> None:
    plan = compute_pod_plan(inputs(node(A, PORT)))
    assert plan.empty
    assert plan.unschedulable == NO_PORTS_1
    assert plan.requeue_after is not None
    assert plan.requeue_after <= 5.0
    placed = compute_pod_plan(inputs(NodeInfo(A)))
    assert placed.unschedulable == ""
    assert any(isinstance(a, RunContainer) for a in placed.actions)


def test_status_of_an_unschedulable_pod_is_pending_with_the_scheduler_message() -> None:
    status = compute_pod_status(
        web_pod(),
        None,
        {},
        10.0,
        None,
        BackoffSettings(),
        ImagePullSettings(),
        unschedulable=NO_PORTS_1,
    )
    assert status.phase is PodPhase.PENDING
    (scheduled,) = status.conditions
    assert scheduled.type is ConditionType.POD_SCHEDULED
    assert not scheduled.status
    assert (scheduled.reason, scheduled.message) == ("Unschedulable", NO_PORTS_1)
    assert status.container_statuses == ()


def test_status_of_a_pod_whose_sandbox_failed_says_why() -> None:
    failed = sandbox("web", RunState.CREATED, error="Bind for 127.0.0.1:8080 failed")
    (instance,) = group_instances([failed])
    status = compute_pod_status(
        web_pod(),
        instance,
        {},
        10.0,
        "127.0.0.1",
        BackoffSettings(),
        ImagePullSettings(),
    )
    assert status.phase is PodPhase.PENDING
    (app,) = status.container_statuses
    assert app.state == Waiting(
        "ContainerCreating", "Failed to create pod sandbox: Bind for 127.0.0.1:8080 failed"
    )
