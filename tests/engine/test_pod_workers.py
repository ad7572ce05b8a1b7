"""Per-pod workers and per-node call slots, against the fake engine and fake time.

A pod that waits (a container ignoring SIGTERM in its grace period) holds only itself; the calls to
one engine never exceed its slots, and waits take none.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from controller.config import RuntimeSettings
from controller.engine.engine import Engine
from controller.engine.slots import SlottedRuntime
from controller.model.errors import EngineUnavailable
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import ObservedContainer, RunState
from controller.model.plan import ContainerConfig
from controller.runtime.fake import FakeRuntime, run_forever
from tests.engine.conftest import PAUSE, UNWATCHED_NODES, Harness, turns_until
from tests.factories import IMAGE, container, desired, pod


def engine_on(harness: Harness, runtime: FakeRuntime, calls_per_node: int) -> Engine:
    return Engine(
        {NodeName("node-a"): runtime},
        harness.clock,
        runtime=RuntimeSettings(
            pause_image=PAUSE, relist_interval_seconds=3600, calls_per_node=calls_per_node
        ),
        node_lifecycle=UNWATCHED_NODES,
        backoff=harness.backoff,
        metrics=harness.metrics,
    )


async def test_a_pod_in_a_long_grace_period_does_not_delay_another_pods_restart(
    harness: Harness,
) -> None:
    await harness.engine.stop()
    harness.engine = engine_on(harness, harness.runtime, calls_per_node=1)
    rt = harness.runtime
    rt.ignores_term.add("stubborn")
    slow = [pod(f"slow-{n}", [container("stubborn")], grace=30) for n in range(6)]
    web = pod("web", [container("app")])
    await harness.start([desired(p) for p in [*slow, web]])
    assert len(rt.find("stubborn", running=True)) == 6

    harness.engine.set_desired([desired(web)])  # the six are deleted: SIGTERM, then 30 s
    await turns_until(lambda: harness.engine.pod_workers.active() == 6, "six pods stopping")
    (app,) = rt.find("app", running=True)
    rt.exit(app.id, 137)  # docker kill
    await turns_until(lambda: len(rt.find("app", running=True)) == 1, "app running again")

    assert len(rt.find("stubborn", running=True)) == 6, "still in their grace period"
    assert harness.engine.pod_workers.active() == 6
    assert harness.view("web").status.container_statuses[0].restart_count == 1
    await harness.advance(31)
    assert rt.find("stubborn") == []  # killed after the grace period, then removed
    assert harness.engine.pod_workers.active() == 0


class CountingRuntime(FakeRuntime):
    """The fake engine, counting the calls in flight at once; each call takes a few loop turns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        self.peak = 0

    async def _counted(self, call: Any, *args: Any) -> Any:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await call(*args)
        finally:
            self.in_flight -= 1

    async def list_containers(self) -> list[ObservedContainer]:
        return await self._counted(super().list_containers)  # type: ignore[no-any-return]

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        return await self._counted(super().inspect_container, container_id)  # type: ignore[no-any-return]

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        return await self._counted(super().create_container, config)  # type: ignore[no-any-return]

    async def start_container(self, container_id: ContainerId) -> None:
        await self._counted(super().start_container, container_id)

    async def remove_container(self, container_id: ContainerId) -> None:
        await self._counted(super().remove_container, container_id)


async def test_calls_to_one_engine_never_exceed_its_slots_and_waits_take_none(
    harness: Harness,
) -> None:
    await harness.engine.stop()
    rt = CountingRuntime("node-a", harness.clock, images=[IMAGE, PAUSE], behaviour=run_forever)
    rt.ignores_term.add("stubborn")
    harness.runtime = rt
    harness.engine = engine_on(harness, rt, calls_per_node=3)
    stubborn = [pod(f"slow-{n}", [container("stubborn")], grace=30) for n in range(4)]
    await harness.start([desired(p) for p in stubborn])
    assert rt.peak == 3

    rt.peak = 0
    many = [pod(f"web-{n}", [container("a"), container("b")]) for n in range(20)]
    harness.engine.set_desired([desired(p) for p in many])  # the four stop, twenty come up
    await turns_until(
        lambda: len(rt.find("a", running=True)) == 20 and len(rt.find("b", running=True)) == 20,
        "twenty pods running while four wait out their grace period",
    )
    assert len(rt.find("stubborn", running=True)) == 4  # their stops hold no slot
    assert rt.peak == 3  # twenty pods at once, never more than three calls
    await harness.advance(31)
    assert rt.find("stubborn") == []
    assert all(r.state is RunState.RUNNING for r in rt.find("POD"))


async def test_a_call_that_finds_no_free_slot_in_time_fails_as_an_unreachable_engine(
    harness: Harness,
) -> None:
    release = asyncio.Event()

    class Hung(FakeRuntime):
        async def list_containers(self) -> list[ObservedContainer]:
            await release.wait()  # a frozen engine: the call holds its slot
            return await super().list_containers()

    slotted = SlottedRuntime(Hung("node-a", harness.clock), slots=1, wait_seconds=0.05)
    holding = asyncio.create_task(slotted.list_containers())
    await turns_until(lambda: slotted.in_flight == 1, "the slot taken")
    with pytest.raises(
        EngineUnavailable, match=r"no free call slot: the engine answered no call for 0\.05 s"
    ):
        await slotted.inspect_container(ContainerId("abc"))
    release.set()
    assert await holding == []
    assert await slotted.inspect_container(ContainerId("abc")) is None  # a free slot again
    assert slotted.in_flight == 0
