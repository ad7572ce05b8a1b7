"""The API over the real engine (fake runtime, fake clock): watches follow the engine's change
signal. While nothing changes nothing is rendered; a container's exit reaches a watcher with no
clock moved and no resync due, re-rendering that pod alone, once for every watcher."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import POD_RENDERS_KEY, make_app
from controller.api.watch import HUB_KEY
from controller.model.meta import PodKey
from controller.model.status import PodView
from tests.engine.conftest import Harness
from tests.factories import desired, pod

HOURS = 3600.0 * 5
"""No resync is due while a test runs: what arrives came by the signal."""

DEADLINE = 5.0


@attrs.define
class Asked:
    keys: list[set[tuple[str, str]]] = attrs.field(factory=list)


@pytest.fixture
def asked() -> Asked:
    return Asked()


@pytest.fixture
async def client(harness: Harness, asked: Asked) -> AsyncIterator[TestClient[Any, Any]]:
    def views_for(keys: set[tuple[str, str]]) -> list[PodView]:
        asked.keys.append(set(keys))
        return harness.engine.reconciler.views(PodKey(*k) for k in keys)

    app = make_app(
        harness.engine.pod_views,
        lambda: True,
        events=harness.engine.events.list,
        changes=harness.engine.changes,
        pod_views_for=views_for,
        watch_resync_seconds=HOURS,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def next_event(response: ClientResponse) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE):
        line = await response.content.readline()
    assert line, "the watch ended early"
    event: dict[str, Any] = json.loads(line)
    return event


def pod_renders(client: TestClient[Any, Any]) -> tuple[int, int]:
    """Pods rendered to JSON, and syncs of the pods feed that rendered anything."""
    app = client.server.app
    assert app is not None
    return app[POD_RENDERS_KEY].renders, app[HUB_KEY].feeds["pods"].renders


def exit_app(harness: Harness, name: str) -> None:
    record = next(
        r for r in harness.runtime.find("app", running=True) if r.config.identity.pod.name == name
    )
    harness.runtime.exit(record.id, 1)


async def test_idle_renders_nothing_and_an_exit_arrives_by_signal_alone(
    harness: Harness, client: TestClient[Any, Any], asked: Asked
) -> None:
    await harness.start([desired(pod(f"web-{i}")) for i in range(5)])
    watchers = [await client.get("/api/v1/pods?watch=true") for _ in range(3)]
    for response in watchers:
        added = [await next_event(response) for _ in range(5)]
        assert {e["type"] for e in added} == {"ADDED"}
    idle = pod_renders(client)
    for _ in range(3):
        await harness.settle()
        await (await client.get("/api/v1/pods")).read()
        await asyncio.sleep(0.05)
    assert pod_renders(client) == idle  # nothing changed: nothing rendered, lists included

    now = harness.clock.now()
    asked.keys.clear()
    exit_app(harness, "web-3")
    await harness.settle()
    for response in watchers:
        event = await next_event(response)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("MODIFIED", "web-3")
        state = event["object"]["status"]["containerStatuses"][0]
        assert "running" not in state["state"] or state["restartCount"] > 0
    assert harness.clock.now() == now  # no clock moved
    assert asked.keys
    assert all(keys == {("default", "web-3")} for keys in asked.keys)  # that pod alone
    renders, _ = pod_renders(client)
    # at most one render per signalled change (none when the view came out equal), for the
    # three watchers together
    assert 1 <= renders - idle[0] <= len(asked.keys)
    for response in watchers:
        response.close()


async def test_events_arrive_as_recorded(harness: Harness, client: TestClient[Any, Any]) -> None:
    await harness.start([desired(pod("web"))])
    listed = await (await client.get("/api/v1/events")).json()
    version = listed["metadata"]["resourceVersion"]
    response = await client.get(f"/api/v1/events?watch=true&resourceVersion={version}")
    exit_app(harness, "web")
    await harness.settle()
    event = await next_event(response)
    assert event["type"] in ("ADDED", "MODIFIED")
    assert event["object"]["involvedObject"]["name"] == "web"
    response.close()
