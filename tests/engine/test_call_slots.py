"""The slots of one engine's calls: urgent calls first, and a long queue is not a dead engine.

Hundreds of pods coming up at once queue hundreds of calls: the relist must not wait behind them,
and a call far back in a queue that moves must wait its turn instead of failing.
"""

from __future__ import annotations

import asyncio

import pytest

from controller.engine.callslots import CallSlots, NoSlot
from controller.engine.slots import SlottedRuntime
from controller.model.errors import EngineUnavailable
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import ObservedContainer
from controller.runtime.fake import FakeRuntime
from tests.engine.conftest import Harness, turns_until


async def test_urgent_waiters_are_served_before_every_queued_pod_call() -> None:
    slots = CallSlots(1, patience=60)
    await slots.acquire(urgent=False)
    order: list[str] = []

    async def call(name: str, urgent: bool) -> None:
        await slots.acquire(urgent=urgent)
        order.append(name)
        slots.release(answered=True)

    waiters = [asyncio.create_task(call(f"pod-{n}", False)) for n in range(5)]
    await turns_until(lambda: slots.waiting() == 5, "five pod calls queued")
    relist = asyncio.create_task(call("relist", True))
    await turns_until(lambda: slots.waiting() == 6, "the relist queued last")
    slots.release(answered=True)
    await asyncio.gather(*waiters, relist)
    assert order == ["relist", "pod-0", "pod-1", "pod-2", "pod-3", "pod-4"]


async def test_a_waiter_far_back_in_a_moving_queue_waits_past_the_patience() -> None:
    slots = CallSlots(1, patience=0.05)
    answered = 0

    async def call() -> None:
        nonlocal answered
        await slots.acquire(urgent=False)
        await asyncio.sleep(0.02)  # each call is answered well within the patience
        answered += 1
        slots.release(answered=True)

    # 10 calls of 20 ms behind one slot: the last waits about 200 ms, four times the patience
    await asyncio.gather(*(call() for _ in range(10)))
    assert answered == 10


async def test_a_waiter_gives_up_when_the_engine_answers_nothing_for_the_patience() -> None:
    slots = CallSlots(1, patience=0.05)
    await slots.acquire(urgent=False)  # held by a call the engine never answers
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(NoSlot):
        await slots.acquire(urgent=False)
    assert loop.time() - began >= 0.05
    assert slots.waiting() == 0


async def test_a_cancelled_waiter_that_was_just_granted_passes_the_slot_on() -> None:
    slots = CallSlots(1, patience=60)
    await slots.acquire(urgent=False)
    first = asyncio.create_task(slots.acquire(urgent=False))
    second = asyncio.create_task(slots.acquire(urgent=False))
    await turns_until(lambda: slots.waiting() == 2, "two waiters")
    slots.release(answered=True)  # the slot goes to `first`...
    first.cancel()  # ...which is cancelled before it resumes: the slot must reach `second`
    await asyncio.wait_for(second, timeout=5)
    assert first.cancelled()
    slots.release(answered=True)
    await asyncio.wait_for(slots.acquire(urgent=True), timeout=5)  # no slot leaked


class Slow(FakeRuntime):
    """An engine that answers every inspect, each after a short while."""

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        await asyncio.sleep(0.02)
        return await super().inspect_container(container_id)


async def test_a_busy_engine_fails_no_call_of_a_long_queue(harness: Harness) -> None:
    slotted = SlottedRuntime(Slow("node-a", harness.clock), slots=2, wait_seconds=0.05)
    answers = await asyncio.gather(
        *(slotted.inspect_container(ContainerId(f"c{n}")) for n in range(20)),
        return_exceptions=True,
    )
    assert not [a for a in answers if isinstance(a, EngineUnavailable)]
    assert answers == [None] * 20
    assert slotted.node == NodeName("node-a")
