"""Watches fed by the engine's change signal: nothing is rendered while nothing changes, a change
arrives without any timer, one render serves every watcher, and a lost signal is repaired by the
resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import POD_RENDERS_KEY, make_app
from controller.api.watch import HUB_KEY
from controller.engine.changesignal import ChangeSignal
from controller.engine.events import EventRecorder
from controller.engine.ports import FakeClock
from controller.model.events import EventType, ObjectReference
from controller.model.meta import PodKey
from controller.model.status import PodView
from tests.unit.test_api_watch import named, names, next_event

HOURS = 3600.0 * 5
"""A resync period no test outlives: whatever arrives came by the signal."""


@attrs.define
class World:
    pods: list[PodView]
    recorder: EventRecorder
    signal: ChangeSignal
    asked: list[set[tuple[str, str]]] = attrs.field(factory=list)
    """The keys of every keyed pod render, in order."""
    failures: int = 0
    """Keyed renders still to fail."""

    def views_for(self, keys: set[tuple[str, str]]) -> list[PodView]:
        self.asked.append(set(keys))
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the views could not be read")
        return [v for v in self.pods if (v.pod.metadata.namespace, v.pod.metadata.name) in keys]

    def change(self, index: int, view: PodView) -> None:
        self.pods[index] = view
        self.signal.pod(PodKey(view.pod.metadata.namespace, view.pod.metadata.name))


def labelled(name: str, **labels: str) -> PodView:
    base = named(name)
    meta = attrs.evolve(base.pod.metadata, labels=labels)
    return attrs.evolve(base, pod=attrs.evolve(base.pod, metadata=meta))


async def make_client(world: World, resync: float) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: list(world.pods),
        lambda: True,
        events=world.recorder.list,
        changes=world.signal,
        pod_views_for=world.views_for,
        watch_resync_seconds=resync,
    )
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def world() -> World:
    signal = ChangeSignal()
    recorder = EventRecorder(FakeClock())
    recorder.on_record = signal.events
    return World([named("web"), labelled("api", app="api")], recorder, signal)


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient[Any, Any]]:
    async for c in make_client(world, HOURS):
        yield c


def renders(client: TestClient[Any, Any]) -> Callable[[], int]:
    app = client.server.app
    assert app is not None
    return lambda: app[POD_RENDERS_KEY].renders


def feed_renders(client: TestClient[Any, Any], resource: str) -> int:
    app = client.server.app
    assert app is not None
    return app[HUB_KEY].feeds[resource].renders


async def turns(count: int = 50) -> None:
    """Let the loop run; nothing here waits on a timer."""
    for _ in range(count):
        await asyncio.sleep(0)


async def watch(client: TestClient[Any, Any], query: str = "") -> ClientResponse:
    response = await client.get(f"/api/v1/pods?watch=true{query}")
    assert response.status == 200
    return response


async def test_nothing_is_rendered_while_nothing_changes(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await watch(client)
    assert {names(await next_event(response)) for _ in world.pods} == {
        ("ADDED", "web"),
        ("ADDED", "api"),
    }
    pod_renders, rendered = renders(client)(), feed_renders(client, "pods")
    for _ in range(3):
        await (await client.get("/api/v1/pods")).read()
        await asyncio.sleep(0.05)
    assert renders(client)() == pod_renders == 2
    assert feed_renders(client, "pods") == rendered
    response.close()


async def test_a_signalled_change_arrives_without_a_timer_and_renders_only_its_pod(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await watch(client)
    for _ in world.pods:
        await next_event(response)
    before = renders(client)()
    world.change(1, attrs.evolve(world.pods[1], deleting=True))
    modified = await next_event(response)
    assert names(modified) == ("MODIFIED", "api")
    assert modified["object"]["metadata"]["deletionTimestamp"]
    assert world.asked[-1] == {("default", "api")}
    assert renders(client)() == before + 1
    response.close()


async def test_one_render_per_change_whatever_the_number_of_watchers(
    client: TestClient[Any, Any], world: World
) -> None:
    watchers = [await watch(client) for _ in range(10)]
    for response in watchers:
        for _ in world.pods:
            await next_event(response)
    before, keyed = renders(client)(), len(world.asked)
    world.change(0, attrs.evolve(world.pods[0], deleting=True))
    for response in watchers:
        assert names(await next_event(response)) == ("MODIFIED", "web")
    assert renders(client)() == before + 1
    assert len(world.asked) == keyed + 1
    for response in watchers:
        response.close()


async def test_a_selective_watch_sees_pods_start_and_stop_matching(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await watch(client, "&labelSelector=app%3Dapi")
    assert names(await next_event(response)) == ("ADDED", "api")
    world.change(1, labelled("api", app="other"))
    assert names(await next_event(response)) == ("DELETED", "api")
    world.change(0, labelled("web", app="api"))
    assert names(await next_event(response)) == ("ADDED", "web")
    world.pods.append(labelled("new", app="api"))
    world.signal.pod(PodKey("default", "new"))
    assert names(await next_event(response)) == ("ADDED", "new")
    del world.pods[-1]
    world.signal.pod(PodKey("default", "new"))
    assert names(await next_event(response)) == ("DELETED", "new")
    response.close()


async def test_events_follow_the_recorder_without_rendering_pods(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get("/api/v1/events?watch=true")
    assert response.status == 200
    before = feed_renders(client, "pods")
    world.recorder.record(ObjectReference("Pod", "default", "web"), EventType.NORMAL, "Hi", "x")
    assert names(await next_event(response))[0] == "ADDED"
    await turns()
    assert feed_renders(client, "pods") == before
    response.close()


async def test_a_lost_signal_costs_one_resync_period_not_the_change(world: World) -> None:
    async for client in make_client(world, 0.05):
        response = await watch(client)
        for _ in world.pods:
            await next_event(response)
        world.pods[0] = attrs.evolve(world.pods[0], deleting=True)  # changed, never signalled
        assert names(await next_event(response)) == ("MODIFIED", "web")
        response.close()


async def test_a_list_after_a_signal_shows_the_change_in_the_same_order(
    client: TestClient[Any, Any], world: World
) -> None:
    first = await (await client.get("/api/v1/pods")).json()
    world.change(0, attrs.evolve(world.pods[0], deleting=True))
    second = await (await client.get("/api/v1/pods")).json()
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    web = next(p for p in second["items"] if p["metadata"]["name"] == "web")
    assert web["metadata"]["deletionTimestamp"]
    assert [p["metadata"]["name"] for p in second["items"]] == ["web", "api"]


async def test_a_failed_render_keeps_its_changes_for_the_next_sync(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await watch(client)
    for _ in world.pods:
        await next_event(response)
    world.failures = 1
    world.change(0, attrs.evolve(world.pods[0], deleting=True))
    await turns()
    assert world.asked[-1] == {("default", "web")}  # tried, failed (logged)
    world.change(1, attrs.evolve(world.pods[1], deleting=True))
    got = {names(await next_event(response)) for _ in range(2)}
    assert got == {("MODIFIED", "web"), ("MODIFIED", "api")}
    assert world.asked[-1] == {("default", "web"), ("default", "api")}
    response.close()
