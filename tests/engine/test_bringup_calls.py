"""Engine calls per pod at bring-up, counted on the fake engine: a fixed number, whatever the pods.

The direct way to make a pod of a sandbox and two containers is six calls (three creates, three
starts). The engine adds one inspect per container (the executor reads what it started, so the
next decision sees it) and nothing else per pod: the events of its own creates and starts are not
read again, and the relist is one call per node, not per pod.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from controller.engine.engine import Engine
from controller.model.meta import ContainerId
from controller.model.plan import ContainerConfig
from controller.runtime.fake import FakeRuntime, run_forever
from tests.engine.conftest import PAUSE, Harness
from tests.factories import IMAGE, container, desired, pod


def calls_by_kind(calls: list[str]) -> Counter[str]:
    return Counter(call.split(" ", 1)[0] for call in calls)


async def bring_up(harness: Harness, pods: int) -> Counter[str]:
    engine: Engine = harness.engine
    harness.runtime.calls.clear()
    await harness.start(
        [desired(pod(f"p{n}", [container("c0"), container("c1")])) for n in range(pods)]
    )
    views = engine.pod_views()
    assert len(views) == pods
    assert all(v.status.phase.value == "Running" for v in views)
    return calls_by_kind(harness.runtime.calls)


async def test_a_bring_up_costs_three_calls_per_container_and_one_relist(
    harness: Harness,
) -> None:
    calls = await bring_up(harness, 40)
    containers = 40 * 3
    assert calls["create"] == containers
    assert calls["start"] == containers
    assert calls["inspect"] == containers  # the executor's read; events are not read again
    # the relists of start-up (before any worker, the event stream's first connection, the
    # periodic loop's first pass): per node, not per pod
    assert calls["list"] <= 3
    assert calls["remove"] == 0
    assert calls["stop"] == 0


async def test_calls_per_pod_do_not_grow_with_the_number_of_pods(harness: Harness) -> None:
    few = await bring_up(harness, 10)
    other = Harness()  # a second engine, on an engine of its own
    try:
        many = await bring_up(other, 50)
    finally:
        await other.engine.stop()
    for kind in ("create", "start", "inspect", "ensure_image"):
        assert few[kind] / 10 == many[kind] / 50, kind
    assert few["list"] == many["list"] <= 3


class SlowEngine(FakeRuntime):
    """Answers creates and starts a few loop turns after doing them: the events of a container
    reach the engine while its executor still waits for the answer, as Docker's do."""

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        created = await super().create_container(config)
        for _ in range(5):
            await asyncio.sleep(0)
        return created

    async def start_container(self, container_id: ContainerId) -> None:
        await super().start_container(container_id)
        for _ in range(5):
            await asyncio.sleep(0)


async def test_events_of_containers_being_started_are_not_read_again(harness: Harness) -> None:
    await harness.engine.stop()
    harness.runtime = SlowEngine(
        "node-a", harness.clock, images=[IMAGE, PAUSE], behaviour=run_forever
    )
    harness.engine = harness._new_engine()
    calls = await bring_up(harness, 20)
    assert calls["inspect"] == 20 * 3  # one read per container, by the executor
