"""Knowledge before action in the pod plan: nothing is done to a pod with anything on a node that
is not known, and no pod is created while some node was never listed."""

from __future__ import annotations

from controller.decide.podinputs import UNKNOWN_NODE_RECHECK_SECONDS, PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.scheduling import NodeInfo
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    ObservedVolume,
    RunState,
)
from controller.model.plan import PlanReason, RunContainer, StopContainers
from tests import factories

KEY = PodKey("default", "web")
REF = PodRef("default", "web", PodUid("uid-1"))
A = NodeName("node-a")
B = NodeName("node-b")


def sandbox(node: NodeName) -> ObservedContainer:
    identity = ContainerIdentity(
        REF, SANDBOX_CONTAINER_NAME, ContainerRole.SANDBOX, 0, "", "h", 1.0
    )
    return ObservedContainer(ContainerId("c1"), node, "podyard_POD_web", identity, RunState.RUNNING)


def inputs(
    *,
    desired: bool,
    containers: tuple[ObservedContainer, ...] = (),
    volumes: tuple[ObservedVolume, ...] = (),
    known: frozenset[NodeName] | None = None,
    may_create: bool = True,
) -> PodInputs:
    return PodInputs(
        key=KEY,
        desired=factories.desired(factories.pod("web")) if desired else None,
        containers=containers,
        volumes=volumes,
        nodes=(NodeInfo(A),),
        notes={},
        now=100.0,
        new_uid=PodUid("uid-new"),
        pause_images={A: "pause"},
        known_nodes=known,
        may_create=may_create,
    )


def test_an_undeclared_pod_on_a_known_node_is_torn_down() -> None:
    plan = compute_pod_plan(inputs(desired=False, containers=(sandbox(A),), known=frozenset({A})))
    assert PlanReason.DELETE_POD in plan.reasons
    assert any(isinstance(action, StopContainers) for action in plan.actions)


def test_an_undeclared_pod_on_a_node_not_known_is_left_alone() -> None:
    for known in (frozenset(), frozenset({B})):
        plan = compute_pod_plan(inputs(desired=False, containers=(sandbox(A),), known=known))
        assert plan.empty
        assert plan.requeue_after == UNKNOWN_NODE_RECHECK_SECONDS


def test_a_volume_on_a_node_not_known_is_not_removed() -> None:
    volume = ObservedVolume("podyard-web-scratch", A, REF, "scratch")
    plan = compute_pod_plan(inputs(desired=False, volumes=(volume,), known=frozenset({B})))
    assert plan.empty
    cleaned = compute_pod_plan(inputs(desired=False, volumes=(volume,), known=frozenset({A})))
    assert PlanReason.CLEAN_UP in cleaned.reasons


def test_a_declared_pod_on_a_node_not_known_gets_no_action_and_no_twin() -> None:
    plan = compute_pod_plan(inputs(desired=True, containers=(sandbox(B),), known=frozenset({A})))
    assert plan.empty
    assert not any(isinstance(action, RunContainer) for action in plan.actions)


def test_no_pod_is_created_before_every_node_was_listed() -> None:
    waiting = compute_pod_plan(inputs(desired=True, known=frozenset({A}), may_create=False))
    assert waiting.empty
    assert waiting.requeue_after == UNKNOWN_NODE_RECHECK_SECONDS
    created = compute_pod_plan(inputs(desired=True, known=frozenset({A})))
    assert PlanReason.CREATE_POD in created.reasons
