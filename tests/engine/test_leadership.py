"""Leadership on the fake runtime: only the holder's engine acts; a loss stops it at once and leaves
every pod running; a released lease is taken at the standby's next look."""

from __future__ import annotations

import pytest

from controller.config import LeaseSettings
from controller.engine.events import EventRecorder
from controller.engine.leadership import Leadership
from controller.engine.lease import NodeLease
from controller.model.lease import LeaseHolder
from controller.runtime.fake import FakeRuntime
from tests.engine.conftest import Harness
from tests.factories import desired, pod

SETTINGS = LeaseSettings(
    duration_seconds=10.0, renew_deadline_seconds=8.0, retry_period_seconds=2.0
)


def leadership(h: Harness, name: str, events: EventRecorder | None = None) -> Leadership:
    me = LeaseHolder(id=f"id-{name}", host=name, pid=100, manifests=f"/srv/{name}", api="")
    lease = NodeLease(h.runtime, me, SETTINGS, h.clock.now, holder_gone=lambda _: False)
    return Leadership([lease], SETTINGS, events=events)


class Acting:
    """Start and stop callbacks that count their calls (the other controller's engine)."""

    def __init__(self) -> None:
        self.starts = 0
        self.stops = 0

    async def start(self) -> None:
        self.starts += 1

    async def stop(self) -> None:
        self.stops += 1


async def test_only_the_holder_acts_and_a_loss_stops_it_leaving_pods(harness: Harness) -> None:
    events = EventRecorder(harness.clock)
    a, b = leadership(harness, "a", events), leadership(harness, "b")
    other = Acting()
    harness.engine.set_desired([desired(pod("web"))])

    await a.step(harness.engine.start, harness.engine.stop)
    await harness.settle()
    assert a.acting
    assert harness.view("web").status.phase.value == "Running"
    await b.step(other.start, other.stop)
    assert not b.acting
    assert other.starts == 0
    assert [e.message for e in events.list()] == ["a_id-a became leader"]
    assert b.views()[0].holder is not None
    assert b.views()[0].holder.host == "a"

    # a freezes (no renewal); b takes over once it saw no renewal for 10 s of its own time
    harness.clock.advance(10.0)
    await b.step(other.start, other.stop)
    await harness.settle()
    assert b.acting
    assert other.starts == 1
    running = {c.id for c in await harness.runtime.list_containers()}
    calls_before = len(harness.runtime.calls)
    await a.step(harness.engine.start, harness.engine.stop)  # a wakes: its deadline passed
    assert not a.acting
    assert "a_id-a stopped leading node node-a" in [e.message for e in events.list()]
    await harness.settle()
    after = harness.runtime.calls[calls_before:]
    assert not [c for c in after if c.startswith(("stop ", "remove ", "create ", "start "))]
    assert {c.id for c in await harness.runtime.list_containers()} == running


async def test_shutdown_releases_and_the_standby_acts_at_its_next_look(harness: Harness) -> None:
    a, b = leadership(harness, "a"), leadership(harness, "b")
    first, second = Acting(), Acting()
    await a.step(first.start, first.stop)
    await b.step(second.start, second.stop)
    await harness.settle()
    assert (first.starts, second.starts) == (1, 0)
    await a.shutdown(first.stop)
    assert first.stops == 1
    assert harness.runtime.lease is None
    await b.step(second.start, second.stop)
    await harness.settle()
    assert b.acting
    assert second.starts == 1


async def test_renewals_keep_the_holder_acting(harness: Harness) -> None:
    a, b = leadership(harness, "a"), leadership(harness, "b")
    first, second = Acting(), Acting()
    await a.step(first.start, first.stop)
    for _ in range(30):  # a minute of looks every 2 s
        harness.clock.advance(a.wait())
        await a.step(first.start, first.stop)
        await b.step(second.start, second.stop)
    await harness.settle()
    assert a.acting
    assert not b.acting
    assert (first.starts, first.stops, second.starts) == (1, 0, 0)


async def test_wait_shortens_to_the_holders_deadline(harness: Harness) -> None:
    a = leadership(harness, "a")
    acting = Acting()
    await a.step(acting.start, acting.stop)
    assert a.wait() == pytest.approx(2.0)
    harness.runtime.down = True
    for _ in range(3):
        harness.clock.advance(2.0)
        await a.step(acting.start, acting.stop)
    assert a.acting
    assert a.wait() == pytest.approx(0.5)  # a failed renewal is tried again sooner
    harness.clock.advance(1.75)
    assert a.wait() == pytest.approx(0.25)  # the deadline comes before the next try
    harness.clock.advance(0.25)
    await a.step(acting.start, acting.stop)
    assert not a.acting
    assert acting.stops == 1


async def test_with_several_nodes_it_acts_only_holding_all_and_gives_back_a_partial_set(
    harness: Harness,
) -> None:
    other_node = FakeRuntime("node-b", harness.clock)

    def on_both(name: str) -> Leadership:
        me = LeaseHolder(id=f"id-{name}", host=name, pid=1, manifests="/srv", api="")
        leases = [
            NodeLease(r, me, SETTINGS, harness.clock.now, holder_gone=lambda _: False)
            for r in (harness.runtime, other_node)
        ]
        return Leadership(leases, SETTINGS)

    blocker = NodeLease(
        other_node, LeaseHolder("id-z", "z", 1, "/z", ""), SETTINGS, harness.clock.now
    )
    assert await blocker.try_acquire()  # another controller holds node-b only
    x, acting = on_both("x"), Acting()
    await x.step(acting.start, acting.stop)
    await harness.settle()
    assert not x.acting
    assert acting.starts == 0
    assert harness.runtime.lease is None  # node-a was taken, then given back at once
    await blocker.release()
    await x.step(acting.start, acting.stop)
    await harness.settle()
    assert x.acting
    assert acting.starts == 1
    assert [v.held for v in x.views()] == [True, True]


async def test_with_three_nodes_a_majority_acts_and_a_dead_node_fences_only_itself(
    harness: Harness,
) -> None:
    others = [FakeRuntime(n, harness.clock) for n in ("node-b", "node-c")]
    me = LeaseHolder(id="id-x", host="x", pid=1, manifests="/srv", api="")
    leases = [
        NodeLease(r, me, SETTINGS, harness.clock.now, holder_gone=lambda _: False)
        for r in (harness.runtime, *others)
    ]
    x, acting = Leadership(leases, SETTINGS), Acting()
    others[1].down = True  # node-c is dead from the start
    await x.step(acting.start, acting.stop)
    await harness.settle()
    assert x.acting  # two of three is a majority
    assert [x.may_act(n) for n in ("node-a", "node-b", "node-c")] == [True, True, False]

    others[1].down = False  # back: its lease is taken at the next look, the fence lifts
    await x.step(acting.start, acting.stop)
    assert x.may_act("node-c")

    others[0].down = True  # node-b dies while acting: only node-b is fenced
    for _ in range(10):
        harness.clock.advance(SETTINGS.retry_period_seconds)
        await x.step(acting.start, acting.stop)
    assert x.acting
    assert [x.may_act(n) for n in ("node-a", "node-b", "node-c")] == [True, False, True]
    assert acting.stops == 0

    harness.runtime.down = True  # and node-a too: one of three is not a majority
    for _ in range(10):
        harness.clock.advance(SETTINGS.retry_period_seconds)
        await x.step(acting.start, acting.stop)
    assert not x.acting
    assert acting.stops == 1
