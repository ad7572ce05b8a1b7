"""Pod calls make way for a slow lease renewal on the same engine, and never for long.

A 500-pod bring-up kept dockerd so busy that the lease container's `start` came back after the
renew deadline, and the controller lost its lease 15 times. While a renewal is slow, the node's
call slots hold pod calls back (the relist still runs), so the engine drains and answers it.
"""

from __future__ import annotations

import asyncio

from controller.config import LeaseSettings, RuntimeSettings
from controller.engine.callslots import CallSlots
from controller.engine.engine import Engine
from controller.engine.lease import NodeLease
from controller.engine.renewalgate import RenewalGate
from controller.model.lease import LeaseHolder
from controller.model.meta import ContainerId, NodeName
from tests.engine.conftest import PAUSE, UNWATCHED_NODES, Harness, turns_until
from tests.factories import desired, pod

NODE = NodeName("node-a")
SETTINGS = LeaseSettings(
    duration_seconds=10.0, renew_deadline_seconds=8.0, retry_period_seconds=2.0
)
ME = LeaseHolder(id="id-a", host="a", pid=1, manifests="/srv", api="")


async def wait_for(condition, what: str, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Poll with a deadline (the gate runs on the loop's real time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.005)


class Opened:
    def __init__(self) -> None:
        self.count = 0

    def gate_opened(self) -> None:
        self.count += 1


# -- the gate -----------------------------------------------------------------------------------


async def test_a_renewal_that_settles_quickly_never_closes_the_gate() -> None:
    gate = RenewalGate(NODE, ceiling=60, close_after=0.05)
    gate.pending()
    gate.settled()
    await asyncio.sleep(0.1)
    assert (gate.closed, gate.closings) == (False, 0)


async def test_a_slow_renewal_closes_the_gate_until_it_settles() -> None:
    gate = RenewalGate(NODE, ceiling=60, close_after=0.02)
    listener = Opened()
    gate.listen(listener)
    gate.pending()
    await wait_for(lambda: gate.closed, "the gate closed")
    gate.pending()  # a retry while pending: no second closing
    await asyncio.sleep(0.05)
    assert gate.closings == 1
    gate.settled()
    assert not gate.closed
    assert listener.count == 1


async def test_the_gate_opens_at_its_ceiling_even_if_the_renewal_never_settles() -> None:
    gate = RenewalGate(NODE, ceiling=0.05, close_after=0.01)
    listener = Opened()
    gate.listen(listener)
    gate.pending()
    await wait_for(lambda: gate.closed, "the gate closed")
    await wait_for(lambda: not gate.closed, "the gate opened at its ceiling")
    assert listener.count == 1
    await asyncio.sleep(0.05)  # still pending: it does not close again before it settles
    assert (gate.closed, gate.closings) == (False, 1)


async def test_the_gate_holds_its_listeners_weakly() -> None:
    gate = RenewalGate(NODE, ceiling=60)
    gate.listen(CallSlots(1, patience=60, gate=gate))  # a finished term's slots
    assert len(gate._listeners) == 0


# -- the call slots ------------------------------------------------------------------------------


async def closed_gate() -> RenewalGate:
    gate = RenewalGate(NODE, ceiling=60, close_after=0)
    gate.pending()
    await wait_for(lambda: gate.closed, "the gate closed")
    return gate


async def test_pod_calls_wait_behind_a_closed_gate_and_urgent_calls_do_not() -> None:
    gate = await closed_gate()
    slots = CallSlots(2, patience=60, gate=gate)
    pod_call = asyncio.create_task(slots.acquire(urgent=False))
    await turns_until(lambda: slots.waiting() == 1, "the pod call waits")
    await asyncio.wait_for(slots.acquire(urgent=True), timeout=5)  # the relist goes on
    assert not pod_call.done()
    gate.settled()
    await asyncio.wait_for(pod_call, timeout=5)


async def test_slots_freed_behind_a_closed_gate_go_to_every_waiter_it_held() -> None:
    slots_held = 3
    gate = RenewalGate(NODE, ceiling=60, close_after=0)
    slots = CallSlots(slots_held, patience=60, gate=gate)
    for _ in range(slots_held):  # three pod calls in the engine when the renewal turns slow
        await slots.acquire(urgent=False)
    gate.pending()
    await wait_for(lambda: gate.closed, "the gate closed")
    waiters = [asyncio.create_task(slots.acquire(urgent=False)) for _ in range(5)]
    await turns_until(lambda: slots.waiting() == 5, "five pod calls wait")
    for _ in range(slots_held):  # the engine drains: every slot comes back, none is handed on
        slots.release(answered=True)
    await asyncio.sleep(0.01)
    assert [w.done() for w in waiters] == [False] * 5
    gate.settled()
    await turns_until(lambda: sum(w.done() for w in waiters) == slots_held, "three served")
    assert slots.waiting() == 2  # the other two wait for a slot, as without a gate
    slots.release(answered=True)
    slots.release(answered=True)
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=5)


# -- the lease drives the gate -------------------------------------------------------------------


async def held_lease(harness: Harness) -> NodeLease:
    """A lease held on the harness's engine, its gate closing 20 ms into a pending renewal."""
    lease = NodeLease(
        harness.runtime, ME, SETTINGS, harness.clock.now, gate=RenewalGate(NODE, 60, 0.02)
    )
    assert await lease.try_acquire()
    return lease


async def test_a_renewal_slower_than_a_second_closes_the_gate_and_its_answer_opens_it(
    harness: Harness,
) -> None:
    lease = await held_lease(harness)
    answer = asyncio.Event()
    real_renew = harness.runtime.renew_lease

    async def slow_renew(container_id: ContainerId) -> bool:
        await answer.wait()
        return await real_renew(container_id)

    harness.runtime.renew_lease = slow_renew  # type: ignore[method-assign]
    renewal = asyncio.create_task(lease.renew())
    await wait_for(lambda: lease.gate.closed, "the gate closed")
    answer.set()
    assert await renewal
    assert not lease.gate.closed
    view = lease.view()
    assert (view.slow_renewals, view.losses) == (1, 0)
    assert view.held_back_seconds > 0


async def test_a_failed_attempt_keeps_the_gate_closed_until_the_lease_is_lost(
    harness: Harness,
) -> None:
    lease = await held_lease(harness)
    harness.runtime.down = True
    assert await lease.renew()  # a short outage: held until the deadline, tried again soon
    await wait_for(lambda: lease.gate.closed, "the gate closed")
    harness.clock.advance(2.0)
    assert await lease.renew()
    assert lease.gate.closed
    harness.clock.advance(6.0)  # past the renew deadline
    assert not await lease.renew()
    assert not lease.gate.closed
    assert lease.view().losses == 1


async def test_releasing_the_lease_opens_the_gate(harness: Harness) -> None:
    lease = await held_lease(harness)
    harness.runtime.down = True
    assert await lease.renew()
    await wait_for(lambda: lease.gate.closed, "the gate closed")
    harness.runtime.down = False
    await lease.release()
    assert not lease.gate.closed


# -- the engine ----------------------------------------------------------------------------------


async def test_the_engine_creates_no_pod_while_the_gate_is_closed_and_relists(
    harness: Harness,
) -> None:
    gate = await closed_gate()
    await harness.engine.stop()
    harness.engine = Engine(
        {NODE: harness.runtime},
        harness.clock,
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=UNWATCHED_NODES,
        renewal_gates={NODE: gate},
    )
    calls = len(harness.runtime.calls)
    harness.engine.set_desired([desired(pod("web"))])
    await harness.engine.start()  # relists every node first: urgent, so not held back
    slots = harness.engine.slotted[NODE]._slots
    await wait_for(lambda: slots.waiting() > 0, "the pod's first call waits for a slot")
    await asyncio.sleep(0.05)
    made = [c for c in harness.runtime.calls[calls:] if c.split()[0] in ("create", "start")]
    assert made == []
    assert "list" in harness.runtime.calls[calls:]  # the relist is not held back

    gate.settled()
    await harness.settle()
    assert harness.view("web").status.phase.value == "Running"
