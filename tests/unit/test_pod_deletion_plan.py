"""A delete asked through the API reaches the pod's plan as an input: the instance it names (by
uid) is torn down with what is left of the grace asked for, a declared pod then gets a new
instance, and another uid is never touched."""

from __future__ import annotations

import pytest

from controller.decide.podinputs import PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.scheduling import NodeInfo
from controller.model.deletion import PodDeletion
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    RunState,
)
from controller.model.plan import PlanReason, RunContainer, StopContainers
from tests import factories

KEY = PodKey("default", "web")
UID = PodUid("uid-1")
REF = PodRef("default", "web", UID)
A = NodeName("node-a")
DESIRED = factories.desired(factories.pod("web", grace=30))


def observed(name: str, role: ContainerRole, cid: str) -> ObservedContainer:
    identity = ContainerIdentity(
        REF,
        name,
        role,
        0,
        DESIRED.container_hashes.get(name, ""),
        DESIRED.spec_hash,
        1.0,
        grace_seconds=30,
    )
    return ObservedContainer(ContainerId(cid), A, f"podyard_{name}_web", identity, RunState.RUNNING)


RUNNING = (
    observed(SANDBOX_CONTAINER_NAME, ContainerRole.SANDBOX, "s1"),
    observed("app", ContainerRole.APP, "a1"),
)


def inputs(deletion: PodDeletion | None, *, declared: bool, now: float = 100.0) -> PodInputs:
    return PodInputs(
        key=KEY,
        desired=DESIRED if declared else None,
        containers=RUNNING,
        volumes=(),
        nodes=(NodeInfo(A),),
        notes={},
        now=now,
        new_uid=PodUid("uid-new"),
        pause_images={A: "pause"},
        deletion=deletion,
    )


def app_stop(plan_inputs: PodInputs) -> StopContainers:
    plan = compute_pod_plan(plan_inputs)
    stops = [a for a in plan.actions if isinstance(a, StopContainers)]
    return next(s for s in stops if ContainerId("a1") in s.container_ids)


@pytest.mark.parametrize("declared", [True, False], ids=["bare-pod", "owned-pod"])
def test_the_grace_asked_for_overrides_the_pods_own(declared: bool) -> None:
    assert app_stop(inputs(PodDeletion(UID, 1, 100.0), declared=declared)).grace_seconds == 1
    assert app_stop(inputs(PodDeletion(UID, 0, 100.0), declared=declared)).grace_seconds == 0
    assert app_stop(inputs(PodDeletion(UID, 90, 100.0), declared=declared)).grace_seconds == 90


def test_without_a_request_an_undeclared_pod_stops_with_its_own_grace() -> None:
    assert app_stop(inputs(None, declared=False)).grace_seconds == 30


def test_a_decision_taken_later_uses_what_is_left_of_the_grace() -> None:
    deletion = PodDeletion(UID, 30, 100.0)
    assert app_stop(inputs(deletion, declared=True, now=112.5)).grace_seconds == 18
    assert app_stop(inputs(deletion, declared=True, now=200.0)).grace_seconds == 0


def test_a_declared_pod_is_torn_down_first_and_not_made_again_in_the_same_plan() -> None:
    plan = compute_pod_plan(inputs(PodDeletion(UID, 5, 100.0), declared=True))
    assert plan.reasons == (PlanReason.DELETE_POD,)
    assert not any(isinstance(a, RunContainer) for a in plan.actions)


def test_once_the_deleted_instance_is_gone_the_declared_pod_is_made_anew() -> None:
    gone = PodInputs(
        key=KEY,
        desired=DESIRED,
        containers=(),
        volumes=(),
        nodes=(NodeInfo(A),),
        notes={},
        now=120.0,
        new_uid=PodUid("uid-new"),
        pause_images={A: "pause"},
        deletion=PodDeletion(UID, 5, 100.0),
    )
    plan = compute_pod_plan(gone)
    assert PlanReason.CREATE_POD in plan.reasons
    runs = [a for a in plan.actions if isinstance(a, RunContainer)]
    assert runs
    assert all(r.config.identity.pod.uid == "uid-new" for r in runs)


def test_a_request_for_another_uid_changes_nothing() -> None:
    plan = compute_pod_plan(inputs(PodDeletion(PodUid("uid-0"), 0, 100.0), declared=True))
    assert plan.empty


def test_a_second_delete_only_shortens_the_grace_left() -> None:
    first = PodDeletion(UID, 30, 100.0)
    assert first.shortened(60, 110.0) is first
    shorter = first.shortened(1, 110.0)
    assert (shorter.grace_seconds, shorter.requested_at) == (1, 110.0)
    assert first.remaining(100.4) == 30
    assert first.remaining(129.5) == 1
