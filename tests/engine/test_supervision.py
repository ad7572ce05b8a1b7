"""Supervised tasks and the health checks, against the fake engine and fake time.

A failure injected through the fake engine (or into a step after a reconcile) is counted, the task
that died is restarted with a doubling wait, the engine keeps reconciling other pods meanwhile, and
`/healthz` says so while it lasts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import make_app
from controller.config import HealthSettings, RuntimeSettings, SupervisionSettings
from controller.engine.engine import Engine
from controller.engine.health import LoopLagMonitor
from controller.model.meta import NodeName, PodKey
from controller.model.telemetry import task_names
from tests.engine.conftest import PAUSE, UNWATCHED_NODES, Harness, turns_until
from tests.factories import container, desired, pod


def failing(engine: Engine) -> dict[str, str]:
    return {c.name: c.failure for c in engine.liveness() if not c.ok}


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        harness.engine.pod_views,
        lambda: True,
        liveness=lambda: harness.engine.liveness(),
        readiness=lambda: harness.engine.readiness(),
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def get(client: TestClient[Any, Any], path: str) -> tuple[int, str]:
    response = await client.get(path)
    return response.status, await response.text()


async def test_every_supervised_task_has_its_series_from_the_start(harness: Harness) -> None:
    await harness.start()
    assert set(harness.engine.supervisor.names()) <= set(task_names(["node-a"]))
    assert harness.metrics.task_restarts.get("events:node-a") == 0
    assert harness.metrics.task_errors.get("pod-workers") == 0


async def test_a_failing_step_after_a_reconcile_is_counted_retried_and_ends_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[PodKey] = []
    check = harness.engine.starts.check

    def broken(key: PodKey) -> None:
        calls.append(key)
        if key.name == "bad":
            raise RuntimeError("start tracking broke")
        check(key)

    monkeypatch.setattr(harness.engine.starts, "check", broken)
    await harness.start([desired(pod("bad")), desired(pod("good"))])
    rt = harness.runtime
    assert len(rt.find("app", running=True)) == 2
    errors = harness.metrics.task_errors.get("pod-workers")
    assert errors >= 1
    tries = calls.count(PodKey("default", "bad"))
    await harness.advance(5)
    assert calls.count(PodKey("default", "bad")) > tries  # synced again, at a doubling pace
    assert calls.count(PodKey("default", "bad")) < tries + 12  # not a hot loop

    good = next(r for r in rt.find("app", running=True) if r.config.identity.pod.name == "good")
    rt.exit(good.id, 137)
    await harness.settle()
    assert harness.view("good").status.container_statuses[0].restart_count == 1
    assert harness.engine.supervisor.restarts("pod-dispatcher") == 0
    assert "tasks" not in failing(harness.engine)  # counted, but nothing died


async def test_a_dead_task_is_restarted_with_backoff_and_healthz_reflects_it(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web")), desired(pod("other"))])
    rt = harness.runtime
    engine = harness.engine
    assert await get(client, "/healthz") == (200, "ok")

    rt.faults["events"] = ValueError("stream broke")
    web = next(r for r in rt.find("app", running=True) if r.config.identity.pod.name == "web")
    rt.exit(web.id, 137)  # its die event reaches the broken stream: the watcher dies
    await harness.settle()
    assert harness.metrics.task_restarts.get("events:node-a") == 1
    assert (
        "task events:node-a is dead (ValueError: stream broke); restart in 1s"
        in (failing(engine)["tasks"])
    )
    status, body = await get(client, "/healthz")
    assert status == 500
    assert "[+]ping ok" in body.splitlines()
    assert "[+]pleg ok" in body.splitlines()
    assert "[-]tasks failed: task events:node-a is dead" in body
    assert body.endswith("healthz check failed\n")

    engine.set_desired([desired(pod("web")), desired(pod("other")), desired(pod("late"))])
    # pods are still reconciled while the watcher is down (its events pile up unread)
    await turns_until(lambda: len(rt.find("app", running=True)) == 2, "late running")
    assert harness.view("late").status.phase.value == "Running"
    rt._events = asyncio.Queue()  # the unread events are lost; the next stream relists anyway

    await harness.advance(1)  # restarted, and dies again at once: the wait doubles
    assert harness.metrics.task_restarts.get("events:node-a") == 2
    assert "restart in 2s" in failing(engine)["tasks"]

    del rt.faults["events"]
    await harness.advance(2)  # restarted for good: the new stream relists, web is restarted
    assert harness.view("web").status.container_statuses[0].restart_count == 1
    assert "crash-looping: 2 deaths in a row" in failing(engine)["tasks"]
    stable = engine.supervisor.settings.stable_seconds
    await harness.advance(stable)
    assert failing(engine) == {}
    status, body = await get(client, "/healthz?verbose")
    assert status == 200
    assert body.splitlines() == [
        "[+]ping ok",
        "[+]pleg ok",
        "[+]tasks ok",
        "[+]loop-lag ok",
        "healthz check passed",
    ]
    assert harness.metrics.task_restarts.get("events:node-a") == 2


async def test_an_error_inside_a_loop_is_counted_and_the_loop_carries_on(
    harness: Harness,
) -> None:
    await harness.start([desired(pod("web")), desired(pod("other"))])
    rt = harness.runtime
    rt.faults["list"] = ValueError("bad listing")
    rt.reconnect_events()  # the watcher relists: the relist raises a bug's exception
    await harness.settle()
    assert harness.metrics.task_errors.get("events:node-a") == 1
    del rt.faults["list"]

    rt.faults["inspect"] = KeyError("bad inspect")
    other = next(r for r in rt.find("app", running=True) if r.config.identity.pod.name == "other")
    rt.exit(other.id, 137)  # the die event's inspect raises: that event is skipped
    await harness.settle()
    assert harness.metrics.task_errors.get("events:node-a") == 2
    assert harness.engine.supervisor.restarts("events:node-a") == 0
    del rt.faults["inspect"]
    (app,) = rt.find("app", running=True)
    rt.exit(app.id, 137)
    await harness.settle()
    assert harness.view("web").status.container_statuses[0].restart_count == 1


async def test_healthz_fails_while_a_node_is_not_relisted_within_the_threshold(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.engine.stop()
    harness.engine = Engine(
        {NodeName("node-a"): harness.runtime},
        harness.clock,
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=UNWATCHED_NODES,
        health=HealthSettings(relist_threshold_seconds=30),
        metrics=harness.metrics,
    )
    await harness.start([desired(pod("web"))])
    assert failing(harness.engine) == {}
    harness.runtime.down = True
    await harness.advance(31)
    assert failing(harness.engine) == {"pleg": "node node-a relist 31s ago (threshold 30s)"}
    status, body = await get(client, "/healthz")
    assert (status, body.splitlines()[1]) == (
        500,
        "[-]pleg failed: node node-a relist 31s ago (threshold 30s)",
    )
    assert (await get(client, "/healthz/pleg"))[0] == 500
    assert await get(client, "/healthz/tasks") == (200, "ok")
    assert await get(client, "/healthz?exclude=pleg") == (200, "ok")

    harness.runtime.down = False
    harness.runtime.reconnect_events()
    await harness.settle()
    assert failing(harness.engine) == {}


async def test_readyz_waits_for_every_node_relisted_and_every_pod_synced_once(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    status, body = await get(client, "/readyz")
    assert status == 500
    assert "[-]relist failed: the engine has not started" in body

    harness.runtime.down = True  # the engine cannot be listed at start
    await harness.engine.start()
    await harness.settle()
    status, body = await get(client, "/readyz?verbose")
    assert status == 500
    assert "[-]relist failed: not relisted yet: node node-a" in body.splitlines()
    assert "[+]initial-sync ok" in body.splitlines()

    harness.runtime.down = False
    harness.runtime.reconnect_events()
    await harness.settle()
    assert await get(client, "/readyz") == (200, "ok")


async def test_readyz_counts_the_pods_known_at_start_until_each_was_synced(
    harness: Harness,
) -> None:
    harness.engine.set_desired([desired(pod(f"p{n}", [container("a")])) for n in range(3)])
    await harness.engine.start()
    checks = {c.name: c.failure for c in harness.engine.readiness()}
    assert checks["initial-sync"] == "3 pod(s) known at start not synced yet"
    await harness.settle()
    assert all(c.ok for c in harness.engine.readiness())


async def test_the_loop_lag_monitor_sees_a_blocked_loop() -> None:
    monitor = LoopLagMonitor(0.01)
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.sleep(0.05)
        assert monitor.lag() < 0.1
        time.sleep(0.3)
        await asyncio.sleep(0.05)
        assert monitor.lag() >= 0.25
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_healthz_fails_when_the_loop_lags(harness: Harness) -> None:
    await harness.start()
    harness.engine.health._lag = lambda: 7.5  # what the monitor would measure
    assert failing(harness.engine) == {"loop-lag": "event loop 7.5s late (threshold 5s)"}


async def test_restart_waits_double_to_the_cap_and_start_over_after_a_stable_run(
    harness: Harness,
) -> None:
    from controller.engine.tasks import Supervisor

    runs: list[float] = []
    fail = True

    async def flaky() -> None:
        runs.append(harness.clock.now())
        if fail:
            raise RuntimeError("again")
        await asyncio.Event().wait()

    supervisor = Supervisor(
        harness.clock,
        harness.metrics,
        SupervisionSettings(restart_initial_seconds=1, restart_max_seconds=4, stable_seconds=10),
    )
    supervisor.supervise("folder", flaky)
    try:
        await harness.settle()  # the first run fails and asks for its timer
        await harness.advance(20)
        start = runs[0]
        assert [round(t - start) for t in runs[:6]] == [0, 1, 3, 7, 11, 15]  # 1, 2, 4, 4, 4
        fail = False
        await harness.advance(4)
        assert supervisor.failing()  # running again, but not yet stable after five deaths
        await harness.advance(10)
        assert supervisor.failing() == []
        assert harness.metrics.task_restarts.get("folder") == len(runs) - 1
    finally:
        await supervisor.stop()
