"""The controller's own metrics, reported by the engine on the fake runtime and fake clock.

The harness wires the real metrics adapter as the engine's sink, so these read what a scrape would.
"""

from __future__ import annotations

import itertools

from controller.model.plan import ContainerConfig
from controller.model.pod import RestartPolicy
from controller.model.telemetry import ControllerName, RescheduleReason
from controller.runtime.fake import Exit
from tests.engine.conftest import Harness
from tests.engine.test_replicaset_engine import replicaset, start
from tests.factories import container, desired, pod

NODE = "node-a"
POD = ControllerName.POD


async def test_a_pod_brought_up_counts_reconciles_queue_work_and_engine_calls(
    harness: Harness,
) -> None:
    await harness.start([desired(pod(containers=[container("a"), container("b")]))])
    m = harness.metrics
    reconciles = {r: m.reconciles.get(POD, r) for r in ("success", "requeue", "error")}
    assert reconciles["requeue"] >= 1  # the bring-up changed the engine, so it looked again
    assert reconciles["success"] >= 1  # and then found nothing left to do
    assert reconciles["error"] == 0
    assert m.reconcile_errors.get(POD) == 0
    total = sum(m.reconciles.get(POD, r) for r in ("success", "error", "requeue", "requeue_after"))
    assert m.reconcile_time.count(POD) == total
    assert m.work_duration.count(POD, POD) == total  # every reconcile was one queue item
    assert m.adds.get(POD, POD) >= 1
    assert m.depth.get(POD, POD) == 0
    assert m.active_workers.get(POD) == 0
    assert m.max_workers.get(POD) == 1  # one worker per pod
    assert m.runtime_operations.get(NODE, "create_container") == 3  # sandbox + a + b
    assert m.runtime_operations.get(NODE, "start_container") == 3
    assert m.runtime_errors.get(NODE, "create_container") == 0
    assert m.runtime_duration.count(NODE, "create_container") == 3
    assert m.last_relist.get(NODE) == harness.clock.now()  # the start-up relist
    assert m.relist_duration.count(NODE) >= 1


async def test_pod_start_duration_runs_from_manifest_seen_to_all_containers_running(
    harness: Harness,
) -> None:
    harness.runtime.images.discard("localhost/late:1")
    seen = harness.clock.now()
    await harness.start([desired(pod(containers=[container("app", image="localhost/late:1")]))])
    await harness.advance(3)
    assert m_count(harness) == 0  # the image cannot be pulled yet: not started
    harness.runtime.pullable.add("localhost/late:1")
    await harness.advance(30)  # past the pull back-off
    started = harness.runtime.find("app", running=True)[-1].started_at
    assert started is not None
    assert started > seen + 3
    assert m_count(harness) == 1
    assert harness.metrics.pod_start._values[()].sum == started - seen
    await harness.advance(60)
    assert m_count(harness) == 1  # once per pod version, not once per pass


def m_count(harness: Harness) -> int:
    return harness.metrics.pod_start.count()


async def test_a_pod_already_running_under_an_earlier_controller_is_not_measured(
    harness: Harness,
) -> None:
    await harness.start([desired(pod())])
    assert m_count(harness) == 1
    harness.clock.advance(10)
    await harness.restart_controller()
    assert harness.engine.metrics is harness.metrics
    assert m_count(harness) == 1


async def test_restarts_and_a_rebuilt_sandbox_are_counted(harness: Harness) -> None:
    await harness.start([desired(pod())])
    rt = harness.runtime
    rt.exit(rt.find("app", running=True)[0].id, 1)
    await harness.advance(1)
    assert harness.metrics.restarts.get(NODE) == 1
    rt.exit(rt.find("POD", running=True)[0].id, 137)
    await harness.advance(1)
    assert harness.metrics.reschedules.get(RescheduleReason.SANDBOX_CHANGED) == 1
    assert harness.metrics.reschedules.get(RescheduleReason.SPEC_CHANGED) == 0


async def test_a_changed_manifest_replaces_the_pod_once(harness: Harness) -> None:
    await harness.start([desired(pod())])
    changed = pod(containers=[container("app", "sleep", "99")])
    harness.engine.set_desired([desired(changed)])
    await harness.settle()
    assert harness.metrics.reschedules.get(RescheduleReason.SPEC_CHANGED) == 1
    assert harness.metrics.restarts.get(NODE) == 0  # a new pod is not a restart


async def test_engine_failures_are_reconcile_errors_and_retries(harness: Harness) -> None:
    await harness.start([])
    harness.runtime.down = True
    harness.engine.set_desired([desired(pod())])
    await harness.advance(0.5)
    m = harness.metrics
    assert m.reconciles.get(POD, "error") >= 1
    assert m.reconcile_errors.get(POD) == m.reconciles.get(POD, "error")
    assert m.retries.get(POD, POD) >= 1
    assert m.runtime_errors.get(NODE, "ensure_image") >= 1
    harness.runtime.down = False
    await harness.advance(60)
    assert harness.view().status.phase.value == "Running"


async def test_a_bad_image_is_not_a_controller_error(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("app", image="localhost/nope:1")]))])
    await harness.advance(30)
    assert harness.metrics.reconcile_errors.get(POD) == 0
    assert harness.metrics.runtime_errors.get(NODE, "ensure_image") >= 1


async def test_relists_and_event_stream_reconnects_per_node(harness: Harness) -> None:
    await harness.start([])
    m = harness.metrics
    assert m.reconnects.get(NODE) == 0  # the first connection is not a reconnect
    before = m.relist_duration.count(NODE)
    harness.clock.advance(42)
    harness.runtime.reconnect_events()
    await harness.settle()
    assert m.reconnects.get(NODE) == 1
    assert m.relist_duration.count(NODE) == before + 1  # a reconnect relists
    assert m.last_relist.get(NODE) == harness.clock.now()
    harness.runtime.down = True
    stamp = m.last_relist.get(NODE)
    harness.clock.advance(5)
    assert not await harness.engine.watchers[0].relist()
    assert m.last_relist.get(NODE) == stamp  # only a successful relist moves it
    assert m.runtime_errors.get(NODE, "list_containers") == 1


async def test_a_replicaset_replacing_a_failed_pod_is_a_reschedule(harness: Harness) -> None:
    made = itertools.count()

    def behaviour(config: ContainerConfig) -> Exit | None:
        if config.identity.container_name == "c" and next(made) == 0:
            return Exit(2, 1)  # the very first container fails; the rest run
        return None

    harness.runtime.behaviour = behaviour
    await start(harness, replicaset(replicas=2, policy=RestartPolicy.NEVER))
    await harness.advance(20)
    m = harness.metrics
    assert m.reschedules.get(RescheduleReason.POD_FAILED) == 1
    assert m.reconciles.get(ControllerName.REPLICASET, "error") == 0
    assert (
        m.reconciles.get(ControllerName.REPLICASET, "success")
        + m.reconciles.get(ControllerName.REPLICASET, "requeue_after")
        >= 1
    )
    assert m.max_workers.get(ControllerName.REPLICASET) == 2
    scaled = replicaset(replicas=3, policy=RestartPolicy.NEVER)
    harness.engine.set_replicasets([(scaled, "rs.yaml")])
    await harness.advance(20)
    assert len([v for v in harness.engine.pod_views() if v.status.phase.value == "Running"]) == 3
    assert m.reschedules.get(RescheduleReason.POD_FAILED) == 1  # each failed pod counts once
