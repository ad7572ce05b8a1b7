"""Sandbox backoff and container garbage collection, decided purely, with exact timings.

The pod's picture is built from the same configs the planner writes (so labels round-trip as on a
real engine), with states and times set by hand.
"""

from __future__ import annotations

import pytest

from controller.config import BackoffSettings
from controller.decide import containers as cfg
from controller.decide.podinputs import PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.sandboxes import create_failure_delay
from controller.decide.scheduling import NodeInfo
from controller.model import labels
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import FailureNote, ObservedContainer, RunState
from controller.model.plan import (
    ContainerConfig,
    Plan,
    RemoveContainer,
    RunContainer,
    StopContainers,
)
from tests.factories import container, desired, pod

NODE = NodeName("node-a")
PAUSE = "pause"
REF = PodRef("default", "web", PodUid("uid-1"))
BACKOFF = BackoffSettings(initial_seconds=10, max_seconds=300, reset_after_seconds=600)


def observe(
    config: ContainerConfig,
    state: RunState,
    at: float,
    *,
    ran: float | None = None,
    error: str = "",
) -> ObservedContainer:
    """The container as the engine would report it: created at `at`; if it ran, for `ran` s."""
    identity = labels.identity_from_labels(labels.identity_labels(config.identity))
    assert identity is not None
    return ObservedContainer(
        id=ContainerId(config.docker_name),
        node=NODE,
        docker_name=config.docker_name,
        identity=identity,
        state=state,
        image=config.image,
        exit_code=None if state is RunState.RUNNING else (128 if error else 1),
        error=error,
        created_at=at,
        started_at=at if ran is not None else None,
        finished_at=at + ran if ran is not None and state is RunState.EXITED else None,
        host_ports=labels.host_ports_from_labels(config.extra_labels),
    )


def failed_sandbox(d: DesiredPod, attempt: int, at: float, backoff: float) -> ObservedContainer:
    config = cfg.sandbox_config(d, REF, 1.0, attempt, PAUSE, backoff)
    return observe(config, RunState.CREATED, at, error="port is already allocated")


def app(d: DesiredPod, name: str, attempt: int, sandbox_attempt: int) -> ContainerConfig:
    spec = next(c for c in d.pod.spec.containers if c.name == name)
    return cfg.app_config(d, REF, 1.0, spec, attempt, sandbox_attempt, 0.0)


def plan_at(
    d: DesiredPod,
    containers: list[ObservedContainer],
    now: float,
    notes: dict[str, FailureNote] | None = None,
) -> Plan:
    return compute_pod_plan(
        PodInputs(
            key=PodKey("default", "web"),
            desired=d,
            containers=tuple(containers),
            volumes=(),
            nodes=(NodeInfo(NODE),),
            notes=notes or {},
            now=now,
            new_uid=PodUid("uid-new"),
            pause_images={NODE: PAUSE},
            backoff=BACKOFF,
        )
    )


def sandboxes_run(plan: Plan) -> list[ContainerConfig]:
    return [
        a.config
        for a in plan.actions
        if isinstance(a, RunContainer) and a.config.identity.container_name == "POD"
    ]


def removed(plan: Plan) -> set[str]:
    return {a.container_id for a in plan.actions if isinstance(a, RemoveContainer)}


WEB = desired(pod(containers=[container("app")]))


def test_first_dead_sandbox_is_replaced_at_once_and_removed_first() -> None:
    dead = failed_sandbox(WEB, 0, at=100.0, backoff=0.0)
    plan = plan_at(WEB, [dead], now=100.0)
    (new,) = sandboxes_run(plan)
    assert new.identity.attempt == 1
    assert new.identity.backoff_seconds == 0.0
    kinds = [type(a).__name__ for a in plan.actions]
    assert kinds.index("RemoveContainer") < kinds.index("RunContainer")
    assert removed(plan) == {dead.id}


@pytest.mark.parametrize(
    ("attempt", "previous", "delay"),
    [
        (1, 0.0, 10.0),
        (2, 10.0, 20.0),
        (3, 20.0, 40.0),
        (5, 80.0, 160.0),
        (6, 160.0, 300.0),
        (7, 300.0, 300.0),
    ],
    ids=lambda v: str(v),
)
def test_next_sandbox_waits_crash_loop_backoff_exactly(
    attempt: int, previous: float, delay: float
) -> None:
    dead = failed_sandbox(WEB, attempt, at=1000.0, backoff=previous)
    early = plan_at(WEB, [dead], now=1000.0 + delay - 0.5)
    assert early.empty, early
    assert early.requeue_after == pytest.approx(0.5)
    due = plan_at(WEB, [dead], now=1000.0 + delay)
    (new,) = sandboxes_run(due)
    assert new.identity.attempt == attempt + 1
    assert new.identity.backoff_seconds == delay  # carried on, for the count after a restart
    assert removed(due) == {dead.id}


def test_a_sandbox_that_ran_long_enough_restarts_the_count() -> None:
    config = cfg.sandbox_config(WEB, REF, 1.0, 6, PAUSE, 300.0)
    died = observe(config, RunState.EXITED, at=0.0, ran=600.0)
    (new,) = sandboxes_run(plan_at(WEB, [died], now=600.0))
    assert new.identity.backoff_seconds == 0.0


def test_refused_sandbox_creates_back_off_from_the_note() -> None:
    assert [create_failure_delay(n, BACKOFF) for n in range(1, 9)] == [
        0.0,
        10.0,
        20.0,
        40.0,
        80.0,
        160.0,
        300.0,
        300.0,
    ]
    note = FailureNote("CreateContainerError", "no such network", at=50.0, failures=3)
    waiting = plan_at(WEB, [], now=69.0, notes={"POD": note})
    assert waiting.empty
    assert waiting.requeue_after == pytest.approx(1.0)
    assert sandboxes_run(plan_at(WEB, [], now=70.0, notes={"POD": note}))


def test_running_apps_of_a_dead_sandbox_are_stopped_and_dead_ones_collected() -> None:
    two = desired(pod(containers=[container("a"), container("b")]))
    sandbox = cfg.sandbox_config(two, REF, 1.0, 3, PAUSE, 10.0)
    dead_sandbox = observe(sandbox, RunState.EXITED, at=100.0, ran=5.0)
    a_old = observe(app(two, "a", 0, 2), RunState.EXITED, at=10.0, ran=1.0)
    a_prev = observe(app(two, "a", 1, 3), RunState.EXITED, at=100.0, ran=1.0)
    a_now = observe(app(two, "a", 2, 3), RunState.RUNNING, at=102.0, ran=0.0)
    b_old = observe(app(two, "b", 0, 2), RunState.EXITED, at=10.0, ran=1.0)
    b_now = observe(app(two, "b", 1, 3), RunState.EXITED, at=100.0, ran=5.0)
    plan = plan_at(two, [dead_sandbox, a_old, a_prev, a_now, b_old, b_now], now=106.0)
    stops = [a for a in plan.actions if isinstance(a, StopContainers)]
    assert [s.container_ids for s in stops] == [(a_now.id,)]
    # a_prev stays while a_now is alive in this plan; next pass, a_now is dead and a_prev goes
    assert removed(plan) == {a_old.id, b_old.id}
    assert not sandboxes_run(plan)  # 20 s backoff from 105: due at 125
    assert plan.requeue_after == pytest.approx(19.0)


def test_a_crash_looping_container_keeps_one_dead_predecessor_at_most() -> None:
    sandbox = observe(cfg.sandbox_config(WEB, REF, 1.0, 0, PAUSE), RunState.RUNNING, 1.0, ran=0)
    lineage = [observe(app(WEB, "app", n, 0), RunState.EXITED, 10.0 * n, ran=1.0) for n in range(5)]
    waiting = plan_at(WEB, [sandbox, *lineage], now=41.5)  # the latest is in backoff
    assert removed(waiting) == {c.id for c in lineage[:-1]}
    restarted = observe(app(WEB, "app", 5, 0), RunState.RUNNING, 100.0, ran=0.0)
    running = plan_at(WEB, [sandbox, lineage[-1], restarted], now=101.0)
    assert running.empty  # the dead predecessor is lastState and `logs --previous`


def test_old_sandboxes_and_their_leftovers_go() -> None:
    old = observe(cfg.sandbox_config(WEB, REF, 1.0, 0, PAUSE), RunState.EXITED, 1.0, ran=1.0)
    never_started = observe(app(WEB, "app", 0, 0), RunState.CREATED, 1.0)
    new = observe(cfg.sandbox_config(WEB, REF, 1.0, 1, PAUSE), RunState.RUNNING, 5.0, ran=0.0)
    current = observe(app(WEB, "app", 1, 1), RunState.RUNNING, 5.0, ran=0.0)
    plan = plan_at(WEB, [old, never_started, new, current], now=6.0)
    assert removed(plan) == {old.id, never_started.id}
    assert not [a for a in plan.actions if isinstance(a, RunContainer)]
