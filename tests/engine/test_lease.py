"""The engine lease on the fake runtime with a fake clock: acquire, renew, expiry judged on the
observer's own clock, takeover, loss, release, and engine outages that must not flap."""

from __future__ import annotations

import attrs
import pytest

from controller.config import LeaseSettings
from controller.engine.lease import NodeLease, process_gone
from controller.engine.ports import FakeClock
from controller.model.lease import LeaseHolder, LeaseRecord
from controller.model.meta import ContainerId
from controller.runtime.fake import FakeRuntime

SETTINGS = LeaseSettings(
    duration_seconds=10.0, renew_deadline_seconds=8.0, retry_period_seconds=2.0
)


def holder(name: str) -> LeaseHolder:
    return LeaseHolder(id=f"id-{name}", host=name, pid=100, manifests=f"/srv/{name}", api="")


def alive(_: LeaseHolder) -> bool:
    return False  # "gone" is False: every holder is taken to be alive


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> FakeRuntime:
    return FakeRuntime("node-a", clock)


def lease_for(engine: FakeRuntime, clock: FakeClock, name: str, gone=alive) -> NodeLease:  # type: ignore[no-untyped-def]
    return NodeLease(engine, holder(name), SETTINGS, clock.now, holder_gone=gone)


async def test_first_controller_acquires_and_labels_itself(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a = lease_for(engine, clock, "a")
    assert await a.try_acquire()
    assert engine.lease is not None
    assert engine.lease.holder == holder("a")
    assert a.held == engine.lease.container_id
    assert a.view().held
    assert a.view().expires_in == pytest.approx(8.0)


async def test_second_controller_stands_by_and_sees_the_holder(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    assert await a.try_acquire()
    assert not await b.try_acquire()
    view = b.view()
    assert (view.held, view.holder) == (False, holder("a"))
    assert view.expires_in == pytest.approx(10.0)


async def test_renewal_is_a_new_stamp_that_resets_the_observers_wait(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    for _ in range(10):  # 20 s of renewals every 2 s: b never may take over
        clock.advance(2.0)
        assert await a.renew()
        assert not await b.try_acquire()
        assert b.remaining() == pytest.approx(10.0)
    assert engine.lease is not None
    assert engine.lease.holder == holder("a")


async def test_expiry_is_judged_on_the_observers_clock_then_taken_over(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    old = engine.lease
    assert old is not None
    clock.advance(5.0)
    assert not await b.try_acquire()  # b sees the lease first now: it waits a full duration
    clock.advance(9.9)
    assert not await b.try_acquire()
    clock.advance(0.1)
    assert await b.try_acquire()
    assert engine.lease is not None
    assert engine.lease.holder == holder("b")
    assert engine.lease.container_id != old.container_id
    assert f"remove_lease {old.container_id}" in engine.calls


async def test_holder_that_finds_another_holder_loses_at_once(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    clock.advance(1.0)
    engine.lease = None  # a user removed it (`docker rm -f podyard-lease`)
    assert await b.try_acquire()
    assert not await a.renew()  # within its deadline, yet the container is b's now
    assert a.held is None
    assert "removed or replaced" in a.error
    assert a.view().holder == holder("b")


async def test_a_frozen_holder_finds_its_deadline_passed(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    clock.advance(10.0)  # a frozen (SIGSTOP): no renewal for the whole duration
    assert await b.try_acquire()
    assert not await a.renew()
    assert a.held is None
    assert "not renewed for 8 s" in a.error


async def test_holder_gives_up_at_its_deadline_before_anyone_may_take_over(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    engine.down = True  # the engine stops answering both
    clock.advance(7.9)
    assert await a.renew()  # a short outage: still held
    assert not await b.try_acquire()
    clock.advance(0.1)
    assert not await a.renew()  # 8 s without a renewal: lost, before b's 10 s have passed
    assert a.held is None
    engine.down = False
    clock.advance(2.0)
    assert await b.try_acquire()  # b judged the same stamp unchanged for 10 s


async def test_outage_shorter_than_the_deadline_does_not_flap(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    engine.down = True
    for _ in range(3):
        clock.advance(2.0)
        assert await a.renew()
        assert not await b.try_acquire()
    engine.down = False
    clock.advance(1.0)
    assert await a.renew()
    assert a.remaining() == pytest.approx(8.0)
    assert not await b.try_acquire()
    assert b.remaining() == pytest.approx(10.0)  # the new stamp restarted b's wait


async def test_a_renewal_that_lands_after_the_deadline_does_not_count(clock: FakeClock) -> None:
    class SlowEngine(FakeRuntime):
        slow = False

        async def renew_lease(self, container_id: ContainerId) -> bool:
            if self.slow:
                clock.advance(9.0)  # the call took 9 s: an observer may have judged it expired
            return await super().renew_lease(container_id)

    engine = SlowEngine("node-a", clock)
    a = lease_for(engine, clock, "a")
    await a.try_acquire()
    engine.slow = True
    assert not await a.renew()
    assert "after the deadline" in a.error


async def test_a_lost_lease_is_not_renewed_even_if_its_container_is_still_ours(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a = lease_for(engine, clock, "a")
    await a.try_acquire()
    engine.down = True
    clock.advance(8.0)
    assert not await a.renew()
    engine.down = False
    assert not await a.try_acquire()  # its own old lease: taken only by expiry, like anyone's
    clock.advance(10.0)
    assert await a.try_acquire()


async def test_release_lets_a_standby_take_over_at_once(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b = lease_for(engine, clock, "a"), lease_for(engine, clock, "b")
    await a.try_acquire()
    await b.try_acquire()
    await a.release()
    assert engine.lease is None
    assert a.held is None
    assert await b.try_acquire()


async def test_a_dead_holder_on_this_machine_is_not_waited_for(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a = lease_for(engine, clock, "a")
    b = lease_for(engine, clock, "b", gone=lambda h: h == holder("a"))
    await a.try_acquire()
    assert await b.try_acquire()


async def test_two_standbys_taking_over_at_once_end_with_one_holder(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    a, b, c = (lease_for(engine, clock, n) for n in "abc")
    await a.try_acquire()
    await b.try_acquire()
    await c.try_acquire()
    clock.advance(10.0)
    results = [await b.try_acquire(), await c.try_acquire()]
    assert results.count(True) == 1
    assert engine.lease is not None
    assert engine.lease.holder in (holder("b"), holder("c"))


async def test_a_container_podyard_did_not_make_is_never_taken(
    engine: FakeRuntime, clock: FakeClock
) -> None:
    engine.lease = LeaseRecord(ContainerId("someone"), None, 0.0, "x")
    a = lease_for(engine, clock, "a")
    for _ in range(3):
        assert not await a.try_acquire()
        clock.advance(20.0)
    assert "did not make" in a.error
    assert engine.lease.container_id == "someone"


def test_process_gone_only_for_a_provably_dead_local_process() -> None:
    from controller.engine.lease import local_holder

    me = local_holder("/srv", "")
    assert not process_gone(me)  # alive
    dead = attrs.evolve(me, pid=2**22 + 12345)  # above the kernel's pid_max: no such process
    assert process_gone(dead)
    assert not process_gone(attrs.evolve(dead, boot_id="another-machine"))
    assert not process_gone(attrs.evolve(dead, pid_namespace="another-namespace"))
    assert not process_gone(attrs.evolve(dead, boot_id=""))
