"""Bounded failure on the fake engine: sandbox backoff, garbage collection, host port scheduling.

Backoff settings are shortened (1 s doubling to 8 s) so a thousand failures take little fake time;
the shape (first retry at once, then doubling to the cap) is the kubelet's.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from controller.config import BackoffSettings
from controller.model.desired import DesiredPod
from controller.model.errors import RuntimeFailure
from controller.model.events import Event, EventType
from controller.model.observed import HostPort, RunState
from controller.model.plan import ContainerConfig
from controller.model.pod import ContainerPort
from controller.model.status import ConditionType, PodPhase, Running, Waiting
from controller.runtime.fake import Exit
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

SHORT = BackoffSettings(initial_seconds=1, max_seconds=8, reset_after_seconds=60)
NO_PORTS = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
PORT = HostPort("127.0.0.1", 18080, "TCP")


@pytest.fixture
async def short() -> AsyncIterator[Harness]:
    h = Harness()
    h.backoff = SHORT
    h.engine = h._new_engine()
    yield h
    await h.engine.stop()


def sandbox_creates(h: Harness) -> list[tuple[float, str]]:
    """Record (fake time, docker name) of every sandbox create from now on."""
    creates: list[tuple[float, str]] = []
    create = h.runtime.create_container

    async def recording(config: ContainerConfig) -> object:
        if config.identity.container_name == "POD":
            creates.append((h.clock.now(), config.docker_name))
        return await create(config)

    h.runtime.create_container = recording  # type: ignore[method-assign, assignment]
    return creates


def since_first(creates: list[tuple[float, str]]) -> list[float]:
    return [round(t - creates[0][0], 6) for t, _ in creates]


def events(h: Harness, reason: str, name: str = "web") -> list[Event]:
    return [e for e in h.engine.events.list() if e.reason == reason and e.involved.name == name]


def web(name: str = "web", host_port: int | None = None) -> DesiredPod:
    ports = (ContainerPort(80, host_port=host_port),) if host_port else ()
    return desired(pod(name, containers=[container("app", ports=ports)]))


async def test_a_thousand_sandbox_failures_stay_bounded_and_back_off(short: Harness) -> None:
    h = short
    creates = sandbox_creates(h)
    h.runtime.sandbox_start_failures = 1000
    await h.start([web()])
    most = 0
    while h.runtime.sandbox_start_failures > 0:
        most = max(most, len(h.runtime.containers))
        assert len(h.runtime.containers) <= 1, h.runtime.containers  # the last dead sandbox only
        await h.advance(8)
    assert most == 1
    assert len(creates) == 1000
    gaps = [round(b[0] - a[0], 6) for a, b in itertools.pairwise(creates)]
    assert gaps[:6] == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert set(gaps[4:]) == {8.0}
    assert [name.rsplit("_", 1)[1] for _, name in creates[:3]] == ["0", "1", "2"]
    (failed,) = events(h, "FailedCreatePodSandBox")
    assert failed.type is EventType.WARNING
    assert failed.count == 1000
    assert failed.message == (
        "Failed to create pod sandbox: driver failed programming external connectivity: "
        "injected fault"
    )
    view = h.view()
    assert view.status.phase is PodPhase.PENDING
    (app,) = view.status.container_statuses
    assert isinstance(app.state, Waiting)
    assert app.state.reason == "ContainerCreating"
    assert app.state.message == failed.message
    await h.advance(8)  # the faults are over: the next attempt succeeds
    assert h.view().status.phase is PodPhase.RUNNING
    assert len(h.runtime.containers) == 2
    assert len(creates) == 1001


async def test_sandbox_backoff_survives_a_controller_restart(short: Harness) -> None:
    h = short
    creates = sandbox_creates(h)
    h.runtime.sandbox_start_failures = 5
    await h.start([web()])
    await h.advance(1 + 2 + 0.5)  # attempts at 0, 0, 1, 3; the next is due at 7
    assert since_first(creates) == [0.0, 0.0, 1.0, 3.0]
    await h.restart_controller()
    assert len(creates) == 4, "the restart retried before the backoff was due"
    await h.advance(3.4)
    assert len(creates) == 4
    await h.advance(0.1)
    assert since_first(creates) == [0.0, 0.0, 1.0, 3.0, 7.0]
    assert len(h.runtime.containers) == 1


async def test_sandbox_deaths_after_running_also_back_off(short: Harness) -> None:
    """A sandbox that keeps dying is rebuilt at once the first time, then after the backoff."""
    h = short
    h.runtime.behaviour = lambda c: Exit(0.5, 137) if c.identity.container_name == "POD" else None
    creates = sandbox_creates(h)
    await h.start([web()])
    await h.advance(20)
    times = since_first(creates)
    assert times[:5] == [0.0, 0.5, 2.0, 4.5, 9.0]  # died at 0.5, 1.0, 2.5, 5.0: +0, +1, +2, +4
    pod_containers = len(h.runtime.containers)
    assert pod_containers <= 1 + 2 * 1 + 1  # sandbox, app, its dead predecessor, a dead sandbox


async def test_the_port_clash_leaves_the_second_pod_pending_without_a_sandbox(
    harness: Harness,
) -> None:
    h = harness
    creates = sandbox_creates(h)
    await h.start([web("first", 18080)])
    await h.advance(1)
    h.engine.set_desired([web("first", 18080), web("second", 18080)])
    await h.settle()
    await h.advance(30)
    assert [n for _, n in creates if "_second_" in n] == []
    view = h.view("second")
    assert view.status.phase is PodPhase.PENDING
    (scheduled,) = view.status.conditions
    assert scheduled.type is ConditionType.POD_SCHEDULED
    assert (scheduled.status, scheduled.reason, scheduled.message) == (
        False,
        "Unschedulable",
        NO_PORTS,
    )
    (failed,) = events(h, "FailedScheduling", "second")
    assert (failed.type, failed.message, failed.count) == (EventType.WARNING, NO_PORTS, 1)
    assert events(h, "FailedCreatePodSandBox", "second") == []
    h.engine.set_desired([web("second", 18080)])  # the first pod goes: its port frees
    await h.settle()  # no timer needed: freeing the port requeues the waiting pod
    assert h.view("second").status.phase is PodPhase.RUNNING
    assert h.engine.reconciler.unschedulable.get(h.key("second")) == ""


async def test_pods_placed_at_once_never_race_for_one_port(harness: Harness) -> None:
    """Two workers deciding together: the port reserved by the first decision blocks the second."""
    h = harness
    h.runtime.create_latency = 20
    await h.start([web("one", 18080), web("two", 18080), web("three", 18080)])
    await h.advance(10)
    running = {
        v.pod.metadata.name for v in h.engine.pod_views() if v.status.phase.value == "Running"
    }
    assert len(running) == 1
    assert [e for e in h.engine.events.list() if e.reason == "FailedCreatePodSandBox"] == []
    assert len([e for e in h.engine.events.list() if e.reason == "FailedScheduling"]) == 2


async def test_a_port_held_outside_the_engine_fails_the_sandbox_until_it_frees(
    short: Harness,
) -> None:
    h = short
    h.runtime.held_ports.add(PORT)
    await h.start([web(host_port=PORT.port)])
    await h.advance(10)
    failed = events(h, "FailedCreatePodSandBox")  # one per attempt: Docker names the endpoint
    assert [e.count for e in failed] == [1, 1, 1, 1, 1]  # at 0, 0, 1, 3, 7
    for event in failed:
        assert "bind: address already in use" in event.message
        assert event.message.startswith("Failed to create pod sandbox: ")
    assert len(h.runtime.containers) <= 1
    assert h.view().status.phase is PodPhase.PENDING
    h.runtime.held_ports.clear()
    await h.advance(8)
    assert h.view().status.phase is PodPhase.RUNNING
    app = h.runtime.find("app", running=True)
    assert len(app) == 1
    assert isinstance(h.view().status.container_statuses[0].state, Running)
    assert [r.state for r in h.runtime.find("POD")] == [RunState.RUNNING]


async def test_a_refused_sandbox_create_backs_off_from_its_note(short: Harness) -> None:
    """A create the engine refuses leaves nothing behind: the note paces the retries."""
    h = short
    creates = sandbox_creates(h)
    h.runtime.refused_configs.add("POD")
    await h.start([web()])
    await h.advance(7.5)
    assert since_first(creates) == [0.0, 0.0, 1.0, 3.0, 7.0]
    assert h.runtime.containers == {}
    failed = events(h, "FailedCreatePodSandBox")
    assert sum(e.count for e in failed) == 5
    assert failed[0].message.startswith("Failed to create pod sandbox: invalid mount config")
    (app,) = h.view().status.container_statuses
    assert app.state == Waiting("ContainerCreating", failed[-1].message)
    h.runtime.refused_configs.clear()
    await h.advance(8)
    assert h.view().status.phase is PodPhase.RUNNING


async def test_an_engine_error_on_create_is_retried_soon_not_paced_as_the_pods_fault(
    harness: Harness,
) -> None:
    """An HTTP 5xx on create is the engine's failure: the queue retries it within a second
    (a Warning event says why), where a refused create waits out a 10 s CreateContainerError."""
    harness.runtime.faults["create"] = RuntimeFailure("node-a: creating web failed: HTTP 500")
    await harness.start([web()])
    await harness.advance(0.5)
    assert harness.view().status.phase is PodPhase.PENDING
    assert [e.message for e in events(harness, "Failed")][:1] == [
        "Error: node-a: creating web failed: HTTP 500"
    ]
    del harness.runtime.faults["create"]
    await harness.advance(1.0)
    assert harness.view().status.phase is PodPhase.RUNNING
