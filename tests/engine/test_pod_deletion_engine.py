"""Deletes asked through the API, on the fake engine with a fake clock: a ReplicaSet's pod is
replaced, a bare pod comes back as a new pod (new uid, no restarts), the grace asked for is the one
the stop waits, and a controller that stops mid-deletion converges on one running pod."""

from __future__ import annotations

import asyncio

from controller.model.deletion import DeleteVerdict
from controller.model.observed import RunState
from controller.model.telemetry import RescheduleReason
from tests.engine.conftest import Harness, turns_until
from tests.engine.test_replicaset_engine import replicaset, running_pods, start
from tests.factories import container, desired, pod


def running_uids(h: Harness, container_name: str = "app") -> set[str]:
    return {r.config.identity.pod.uid for r in h.runtime.find(container_name, running=True)}


async def stopping(h: Harness) -> None:
    """Wait (fake time standing still) until one pod's worker is in its stop."""
    await turns_until(
        lambda: (
            h.engine.pod_workers.active() == 1
            and any(call.startswith("stop ") for call in h.runtime.calls)
        ),
        "a pod waiting out its grace",
    )


async def test_a_replicaset_pod_deleted_is_replaced(harness: Harness) -> None:
    await start(harness, replicaset(replicas=2))
    before = running_pods(harness)
    victim = sorted(before)[0]
    result = harness.engine.deleter.delete("default", victim, None, None)
    assert result.verdict is DeleteVerdict.ACCEPTED
    assert result.view is not None
    assert result.view.deleting
    assert result.warning == ""
    await harness.advance(1)
    after = running_pods(harness)
    assert victim not in after
    assert len(after) == 2
    assert before - {victim} <= after
    assert harness.metrics.reschedules.get(RescheduleReason.DELETED) == 1
    reasons = [(e.involved.kind, e.reason, e.message) for e in harness.engine.events.list()]
    assert ("Pod", "Killing", "Stopping container c") in reasons
    [replacement] = after - before
    assert ("ReplicaSet", "SuccessfulCreate", f"Created pod: {replacement}") in reasons
    assert victim not in {v.pod.metadata.name for v in harness.engine.pod_views()}


async def test_a_bare_pod_deleted_comes_back_as_a_new_pod(harness: Harness) -> None:
    bare = desired(pod("web", [container("app")], grace=20))
    await harness.start([bare])
    harness.runtime.ignores_term.add("app")
    [old_uid] = running_uids(harness)
    started = harness.clock.now()
    result = harness.engine.deleter.delete("default", "web", 5, None)
    assert result.verdict is DeleteVerdict.ACCEPTED
    assert "is restarted as a new pod" in result.warning
    assert result.view is not None
    assert result.view.deletion_at == started + 5
    assert result.view.deletion_grace_seconds == 5
    await stopping(harness)
    harness.clock.advance(4)
    await stopping(harness)
    assert running_uids(harness) == {old_uid}, "the grace asked for is not over yet"
    assert harness.view().deleting
    await harness.advance(2)
    [new_uid] = running_uids(harness)
    assert new_uid != old_uid
    view = harness.view()
    assert view.ref is not None
    assert view.ref.uid == new_uid
    assert not view.deleting
    assert view.status.container_statuses[0].restart_count == 0
    old = [r for r in harness.runtime.containers.values() if r.config.identity.pod.uid == old_uid]
    assert old == [], "the old instance was removed"
    assert harness.metrics.reschedules.get(RescheduleReason.DELETED) == 1


async def test_grace_zero_stops_at_once(harness: Harness) -> None:
    await harness.start([desired(pod("web", [container("app")], grace=60))])
    harness.runtime.ignores_term.add("app")
    [old_uid] = running_uids(harness)
    result = harness.engine.deleter.delete("default", "web", 0, None)
    assert result.view is not None
    assert result.view.deletion_grace_seconds == 0
    await harness.settle()
    [new_uid] = running_uids(harness)
    assert new_uid != old_uid
    assert [
        r.exit_code for r in harness.runtime.find("app") if r.state is not RunState.RUNNING
    ] == []


async def test_a_second_shorter_delete_cuts_the_grace_in_progress(harness: Harness) -> None:
    await harness.start([desired(pod("web", [container("app")], grace=60))])
    harness.runtime.ignores_term.add("app")
    [old_uid] = running_uids(harness)
    started = harness.clock.now()
    harness.engine.deleter.delete("default", "web", 30, None)
    await stopping(harness)
    harness.clock.advance(1)
    await stopping(harness)
    assert running_uids(harness) == {old_uid}
    longer = harness.engine.deleter.delete("default", "web", 45, None)
    assert longer.view is not None
    assert longer.view.deletion_grace_seconds == 30, "a later delete never lengthens the grace"
    harness.engine.deleter.delete("default", "web", 0, None)  # --grace-period=0 --force
    await harness.settle()
    [new_uid] = running_uids(harness)
    assert new_uid != old_uid, "made anew without waiting out the first grace"
    assert harness.clock.now() < started + 2


async def test_unknown_pods_and_other_uids_are_refused(harness: Harness) -> None:
    await harness.start([desired(pod("web", [container("app")]))])
    missing = harness.engine.deleter.delete("default", "nope", None, None)
    assert missing.verdict is DeleteVerdict.NOT_FOUND
    conflict = harness.engine.deleter.delete("default", "web", None, "not-its-uid")
    assert conflict.verdict is DeleteVerdict.CONFLICT
    assert "UID in precondition: not-its-uid" in conflict.message
    await harness.advance(1)
    assert len(running_uids(harness)) == 1
    assert harness.engine.reconciler.deletions.get(harness.key()) is None


async def test_a_controller_restarted_mid_deletion_converges_on_one_pod(harness: Harness) -> None:
    await harness.start([desired(pod("web", [container("app")], grace=30))])
    harness.runtime.ignores_term.add("app")
    harness.engine.deleter.delete("default", "web", 20, None)
    await stopping(harness)
    harness.clock.advance(2)
    await stopping(harness)
    await harness.restart_controller()
    await harness.advance(60)
    running = harness.runtime.find("app", running=True)
    assert len(running) == 1
    sandboxes = [r for r in harness.runtime.find("POD") if r.state is RunState.RUNNING]
    assert len(sandboxes) == 1
    assert sandboxes[0].config.identity.pod.uid == running[0].config.identity.pod.uid


async def test_a_replicaset_pod_restarted_mid_deletion_is_never_duplicated(
    harness: Harness,
) -> None:
    rs = replicaset(replicas=2)
    await start(harness, rs)
    harness.runtime.ignores_term.add("c")
    victim = sorted(running_pods(harness))[0]
    harness.engine.deleter.delete("default", victim, 20, None)
    await stopping(harness)
    harness.clock.advance(2)
    await stopping(harness)
    await harness.engine.stop()  # killed mid-deletion: the victim still runs, its replacement too
    harness.runtime._events = asyncio.Queue()
    harness.engine = harness._new_engine()
    harness.engine.set_replicasets([(rs, "rs.yaml")])
    harness.runtime.calls.clear()
    await harness.engine.start()
    await stopping(harness)  # three pods found for two replicas: one is deleted, once
    harness.clock.advance(31)  # its grace
    await harness.advance(5)
    assert len(running_pods(harness)) == 2
    assert len(harness.runtime.find("POD", running=True)) == 2
    assert len(harness.runtime.find("c")) == 2


async def test_a_pod_in_its_deletion_grace_blocks_only_itself(harness: Harness) -> None:
    slow = desired(pod("slow", [container("stubborn")], grace=30))
    await harness.start([slow, desired(pod("web", [container("app")]))])
    harness.runtime.ignores_term.add("stubborn")
    [old_uid] = running_uids(harness, "stubborn")
    harness.engine.deleter.delete("default", "slow", None, None)
    await stopping(harness)
    [app] = harness.runtime.find("app", running=True)
    harness.runtime.exit(app.id, 137)
    await turns_until(
        lambda: len(harness.runtime.find("app", running=True)) == 1, "web's app running again"
    )
    assert len(harness.runtime.find("stubborn", running=True)) == 1, "still in its grace period"
    assert harness.view("web").status.container_statuses[0].restart_count == 1
    await harness.advance(31)
    [new_uid] = running_uids(harness, "stubborn")
    assert new_uid != old_uid, "made anew once its own grace was over"
