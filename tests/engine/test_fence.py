"""The fence: once the renew deadline has passed on the local clock, no change reaches the engine,
even from a worker that runs before the lease task has looked (a process that was frozen)."""

from __future__ import annotations

from controller.config import LeaseSettings, RuntimeSettings
from controller.engine.engine import Engine
from controller.engine.fence import FencedRuntime
from controller.engine.lease import NodeLease
from controller.model.lease import LeaseHolder
from controller.model.meta import NodeName
from tests.engine.conftest import PAUSE, UNWATCHED_NODES, Harness
from tests.factories import desired, pod

SETTINGS = LeaseSettings(
    duration_seconds=10.0, renew_deadline_seconds=8.0, retry_period_seconds=2.0
)


async def test_changes_stop_at_the_renew_deadline_reads_go_on(harness: Harness) -> None:
    me = LeaseHolder(id="id-a", host="a", pid=1, manifests="/srv", api="")
    lease = NodeLease(harness.runtime, me, SETTINGS, harness.clock.now)
    assert await lease.try_acquire()
    await harness.engine.stop()
    harness.engine = Engine(
        {NodeName("node-a"): FencedRuntime(harness.runtime, lease.valid)},
        harness.clock,
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=UNWATCHED_NODES,
    )
    await harness.start([desired(pod("web"))])
    assert harness.view("web").status.phase.value == "Running"

    harness.clock.advance(8.0)  # frozen past the deadline; the lease task has not run yet
    calls = len(harness.runtime.calls)
    harness.engine.set_desired([desired(pod("other"))])  # web should go, other should come
    await harness.advance(5.0)
    changes = [
        c
        for c in harness.runtime.calls[calls:]
        if c.split()[0] in ("create", "start", "stop", "remove", "ensure_volume", "remove_volume")
    ]
    assert changes == []
    assert {r.config.identity.pod.name for r in harness.runtime.containers.values()} == {"web"}
    assert harness.runtime.find("app", running=True)

    # the same engine, the lease valid again: the held-back changes go through (the fence was why)
    lease.good_until = harness.clock.now() + 1000.0
    await harness.advance(35.0)
    assert {r.config.identity.pod.name for r in harness.runtime.containers.values()} == {"other"}
