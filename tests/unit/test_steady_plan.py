"""The steady-pod shortcut of the pod plan (decide.steady) agrees with the full path: on every
input it accepts, the full plan is empty; and the ordinary running pod does take it."""

from __future__ import annotations

from unittest import mock

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from controller.decide import pods
from controller.decide.podinputs import PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.scheduling import NodeInfo
from controller.decide.steady import is_steady
from controller.model.deletion import PodDeletion
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    ObservedVolume,
    RunState,
)
from controller.model.plan import Plan
from controller.model.pod import RestartPolicy
from tests import factories

KEY = PodKey("default", "web")
A = NodeName("node-a")
B = NodeName("node-b")
NOW = 1_000.0


def _observed(
    number: int,
    name: str,
    role: ContainerRole,
    *,
    pod_hash: str,
    uid: str = "u1",
    state: RunState = RunState.RUNNING,
    node: NodeName = A,
    attempt: int = 0,
    sandbox_attempt: int = 0,
    error: str = "",
) -> ObservedContainer:
    identity = ContainerIdentity(
        PodRef("default", "web", PodUid(uid)),
        name,
        role,
        attempt,
        "c",
        pod_hash,
        1.0,
        sandbox_attempt=sandbox_attempt,
    )
    exited = state is RunState.EXITED
    return ObservedContainer(
        ContainerId(f"{number:012x}"),
        node,
        f"podyard_{name}_{number}",
        identity,
        state,
        exit_code=number % 2 if exited else None,
        error=error,
        created_at=10.0 + number,
        started_at=11.0 + number if state is not RunState.CREATED else None,
        finished_at=NOW - 1.0 if exited else None,
    )


def _inputs(
    desired: DesiredPod | None,
    containers: tuple[ObservedContainer, ...],
    **fields: object,
) -> PodInputs:
    base = PodInputs(
        key=KEY,
        desired=desired,
        containers=containers,
        volumes=(),
        nodes=(NodeInfo(A), NodeInfo(B)),
        notes={},
        now=NOW,
        new_uid=PodUid("u-new"),
        pause_images={A: "pause", B: "pause"},
    )
    return attrs.evolve(base, **fields)


def _full_plan(inputs: PodInputs) -> Plan:
    with mock.patch.object(pods, "is_steady", return_value=False):
        return compute_pod_plan(inputs)


def _running_pod(names: tuple[str, ...]) -> tuple[DesiredPod, tuple[ObservedContainer, ...]]:
    desired = factories.desired(factories.pod("web", [factories.container(n) for n in names]))
    sandbox = _observed(
        0, SANDBOX_CONTAINER_NAME, ContainerRole.SANDBOX, pod_hash=desired.spec_hash
    )
    apps = tuple(
        _observed(i + 1, n, ContainerRole.APP, pod_hash=desired.spec_hash)
        for i, n in enumerate(names)
    )
    return desired, (sandbox, *apps)


def test_the_running_pod_is_steady_and_its_plan_is_empty() -> None:
    desired, containers = _running_pod(("web", "worker"))
    inputs = _inputs(desired, containers, known_nodes=frozenset({A}))
    assert is_steady(inputs)
    plan = compute_pod_plan(inputs)
    assert plan.empty
    assert plan == _full_plan(inputs)
    # its containers in any order (the cache lists a node's containers as the engine did)
    assert is_steady(attrs.evolve(inputs, containers=containers[::-1]))


def test_what_the_shortcut_leaves_to_the_full_path() -> None:
    desired, containers = _running_pod(("web", "worker"))
    sandbox, web, worker = containers
    crashed = attrs.evolve(worker, state=RunState.EXITED, exit_code=1, finished_at=NOW - 1)
    stale = attrs.evolve(web, identity=attrs.evolve(web.identity, sandbox_attempt=1))
    cases = {
        "a crashed container": (sandbox, web, crashed),
        "a container of an older sandbox": (sandbox, stale, worker),
        "a missing container": (sandbox, web),
        "a second sandbox": (sandbox, web, worker, attrs.evolve(sandbox, id=ContainerId("s2"))),
        "a dead sandbox": (attrs.evolve(sandbox, state=RunState.EXITED), web, worker),
    }
    for what, observed in cases.items():
        assert not is_steady(_inputs(desired, observed)), what
    assert not is_steady(_inputs(desired, containers, known_nodes=frozenset({B})))
    assert not is_steady(_inputs(desired, containers, draining_nodes=frozenset({A})))
    assert not is_steady(_inputs(desired, containers, deletion=PodDeletion(PodUid("u1"), 30, NOW)))
    assert not is_steady(_inputs(None, containers))
    edited = factories.desired(
        factories.pod("web", [factories.container("web"), factories.container("other")])
    )
    assert not is_steady(_inputs(edited, containers))


@st.composite
def pod_inputs(draw: st.DrawFn) -> PodInputs:
    """A pod near steady: each container may be perturbed one way or another."""
    names = draw(st.sampled_from([("web",), ("web", "worker"), ("a", "b", "c")]))
    policy = draw(st.sampled_from(list(RestartPolicy)))
    spec_pod = factories.pod("web", [factories.container(n) for n in names], restart_policy=policy)
    if draw(st.integers(0, 9)) == 0:
        init = (factories.container("init"),)
        spec_pod = attrs.evolve(spec_pod, spec=attrs.evolve(spec_pod.spec, init_containers=init))
    if draw(st.integers(0, 9)) == 0:
        spec_pod = attrs.evolve(
            spec_pod, spec=attrs.evolve(spec_pod.spec, volumes=(factories.scratch_volume(),))
        )
    desired = factories.desired(spec_pod)
    pod_hash = desired.spec_hash if draw(st.integers(0, 9)) else "older"
    often = 30  # each perturbation is rare, so that a fair share of the pods are steady
    states = st.sampled_from([RunState.RUNNING] * often + [RunState.EXITED, RunState.CREATED])
    uids = st.sampled_from(["u1"] * often + ["u2"])
    nodes = st.sampled_from([A] * often + [B])
    attempts = st.sampled_from([0] * often + [1])
    containers = [
        _observed(
            0,
            SANDBOX_CONTAINER_NAME,
            ContainerRole.SANDBOX,
            pod_hash=pod_hash,
            state=draw(states),
            uid=draw(uids),
            node=draw(nodes),
            attempt=draw(attempts),
            error=draw(st.sampled_from([""] * often + ["cannot run"])),
        )
    ]
    app_names = list(names)
    if draw(st.integers(0, 9)) == 0:
        app_names.append(draw(st.sampled_from([*names, "gone", "init"])))
    for i, name in enumerate(app_names):
        if draw(st.integers(0, often)) == 0:
            continue  # missing
        role = draw(st.sampled_from([ContainerRole.APP] * often + [ContainerRole.INIT]))
        containers.append(
            _observed(
                i + 1,
                name,
                role,
                pod_hash=draw(st.sampled_from([pod_hash, "other"])),
                state=draw(states),
                uid=draw(uids),
                node=draw(nodes),
                attempt=draw(attempts),
                sandbox_attempt=draw(attempts),
            )
        )
    if draw(st.booleans()):
        containers = draw(st.permutations(containers))
    volumes: tuple[ObservedVolume, ...] = ()
    if draw(st.integers(0, 9)) == 0:
        volumes = (ObservedVolume("v1", A, PodRef("default", "web", PodUid("u1")), "scratch"),)
    return _inputs(
        draw(st.sampled_from([desired] * 9 + [None])),
        tuple(containers),
        volumes=volumes,
        known_nodes=draw(st.sampled_from([None, frozenset({A}), frozenset({A, B})])),
        draining_nodes=draw(st.sampled_from([frozenset(), frozenset(), frozenset({B})])),
        deletion=draw(st.sampled_from([None] * 9 + [PodDeletion(PodUid("u1"), 30, NOW)])),
    )


@settings(max_examples=400, deadline=None)
@given(pod_inputs())
def test_the_shortcut_agrees_with_the_full_plan(inputs: PodInputs) -> None:
    full = _full_plan(inputs)
    assert compute_pod_plan(inputs) == full
    steady = is_steady(inputs)
    event("steady" if steady else "not steady")
    if steady:
        assert full.empty, full
