"""Idle means idle: with nothing changing, the engine does no work per pod beyond the relist.

A relist that finds what the cache holds enqueues no pod; the node lifecycle pass looks at nodes,
not pods, while every node is Ready; and a settled engine has no timer pending, so no pod worker
wakes however far time moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controller.model.status import PodPhase
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

PODS = 20


async def start_idle(harness: Harness) -> None:
    pods = [desired(pod(f"p{i}", [container("a"), container("b")])) for i in range(PODS)]
    await harness.start(pods)
    views = harness.engine.pod_views()
    assert len(views) == PODS
    assert all(v.status.phase is PodPhase.RUNNING for v in views)


def counting(calls: list[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return method(*args, **kwargs)

    return wrapper


async def test_a_relist_that_finds_nothing_new_enqueues_no_pod(harness: Harness) -> None:
    await start_idle(harness)
    adds, reconciles = harness.engine.queue.adds_total, harness.engine.reconciles_total
    for _ in range(3):
        for watcher in harness.engine.watchers:
            assert await watcher.relist()
        await harness.settle()
    assert harness.engine.queue.adds_total == adds
    assert harness.engine.reconciles_total == reconciles


async def test_a_relist_that_finds_a_change_enqueues_only_that_pod(harness: Harness) -> None:
    await start_idle(harness)
    adds = harness.engine.queue.adds_total
    record = harness.runtime.find("a", running=True)[0]
    harness.runtime.exit(record.id, 1)
    while not harness.runtime._events.empty():  # drop the hint: the relist must find it alone
        harness.runtime._events.get_nowait()
    for watcher in harness.engine.watchers:
        assert await watcher.relist()
    assert harness.engine.queue.adds_total == adds + 1


async def test_the_node_lifecycle_pass_reads_no_pod_while_nodes_are_ready(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_idle(harness)
    calls: list[str] = []
    for store, names in (
        (harness.engine.cache, ("keys", "keys_on", "containers_for", "all_containers")),
        (harness.engine.desired, ("get", "keys", "all")),
    ):
        for name in names:
            monkeypatch.setattr(store, name, counting(calls, name, getattr(store, name)))
    for _ in range(10):
        harness.engine.lifecycle.check()
        harness.clock.advance(1.0)
    assert calls == []


async def test_a_settled_engine_has_no_timer_so_no_pod_worker_wakes(harness: Harness) -> None:
    await start_idle(harness)
    assert harness.clock.next_timer() is None
    reconciles = harness.engine.reconciles_total
    await harness.advance(3600.0)
    assert harness.engine.reconciles_total == reconciles
    assert harness.engine.pod_workers.active() == 0
