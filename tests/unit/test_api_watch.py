"""Watches on the read API: initial ADDED, changes as they happen, list/watch continuity, Tables."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from controller.api import changes
from controller.api.changes import ChangeHub, Expired, Subscription, WatchEvent
from controller.api.server import make_app
from controller.api.watch import HUB_KEY
from controller.engine.events import EventRecorder
from controller.engine.ports import FakeClock
from controller.model.events import EventType, ObjectReference
from controller.model.meta import ObjectMeta, PodRef, PodUid
from controller.model.status import PodView
from tests.unit.test_render import rs_view
from tests.unit.test_serde import view

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
POLL = 0.02
DEADLINE = 5.0


def named(name: str, namespace: str = "default", uid: str | None = None) -> PodView:
    base = view()
    pod = attrs.evolve(base.pod, metadata=ObjectMeta(name=name, namespace=namespace))
    ref = PodRef(namespace, name, PodUid(uid or f"uid-{name}"))
    return attrs.evolve(base, pod=pod, ref=ref)


@attrs.define
class World:
    """What the API shows; tests change it and the poller notices."""

    pods: list[PodView]
    recorder: EventRecorder


@pytest.fixture
def world() -> World:
    return World([named("web")], EventRecorder(FakeClock()))


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: list(world.pods),
        lambda: True,
        replicasets=lambda: [rs_view()],
        events=world.recorder.list,
        watch_poll_seconds=POLL,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def next_event(response: ClientResponse) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE):
        line = await response.content.readline()
    assert line, "the watch ended early"
    event: dict[str, Any] = json.loads(line)
    return event


async def remaining_events(response: ClientResponse) -> list[dict[str, Any]]:
    """Every event until the stream ends (which must happen before the deadline)."""
    async with asyncio.timeout(DEADLINE):
        body = await response.read()
    return [json.loads(line) for line in body.splitlines()]


def names(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"]["name"]


async def test_existing_objects_come_first_then_changes(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get("/api/v1/pods?watch=true")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    first = await next_event(response)
    assert names(first) == ("ADDED", "web")
    assert first["object"]["kind"] == "Pod"

    world.pods.append(named("api"))
    added = await next_event(response)
    assert names(added) == ("ADDED", "api")

    world.pods[1] = attrs.evolve(world.pods[1], deleting=True)
    modified = await next_event(response)
    assert names(modified) == ("MODIFIED", "api")
    assert modified["object"]["metadata"]["deletionTimestamp"]

    del world.pods[1]
    deleted = await next_event(response)
    assert names(deleted) == ("DELETED", "api")
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in (added, modified, deleted)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    response.close()


async def test_watch_from_the_lists_version_has_no_duplicate_and_no_gap(
    client: TestClient[Any, Any], world: World
) -> None:
    listed = await (await client.get("/api/v1/namespaces/default/pods")).json()
    version = listed["metadata"]["resourceVersion"]
    assert int(version) > 0
    # one counter for every resource, like etcd's revision: the object changed at or before it
    assert 0 < int(listed["items"][0]["metadata"]["resourceVersion"]) <= int(version)
    world.pods.append(named("api"))  # changes before the watch starts must not be lost
    response = await client.get(
        f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={version}&timeoutSeconds=1"
    )
    events = await remaining_events(response)
    assert [names(e) for e in events] == [("ADDED", "api")]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(version)


async def test_watch_from_the_current_version_sends_nothing_old(
    client: TestClient[Any, Any],
) -> None:
    listed = await (await client.get("/api/v1/pods")).json()
    version = listed["metadata"]["resourceVersion"]
    response = await client.get(
        f"/api/v1/pods?watch=true&resourceVersion={version}&timeoutSeconds=1"
    )
    assert await remaining_events(response) == []


async def test_timeout_seconds_ends_the_stream(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/pods?watch=true&timeoutSeconds=1")
    events = await remaining_events(response)
    assert [names(e) for e in events] == [("ADDED", "web")]


async def test_a_namespaced_watch_sees_only_its_namespace(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get("/api/v1/namespaces/team-a/pods?watch=true")
    world.pods.append(named("elsewhere"))
    world.pods.append(named("api", namespace="team-a"))
    event = await next_event(response)
    assert names(event) == ("ADDED", "api")
    assert event["object"]["metadata"]["namespace"] == "team-a"
    response.close()


async def test_a_replaced_pod_is_deleted_then_added(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get("/api/v1/pods?watch=true")
    assert names(await next_event(response)) == ("ADDED", "web")
    world.pods[0] = named("web", uid="uid-new")
    gone, back = await next_event(response), await next_event(response)
    assert (names(gone), gone["object"]["metadata"]["uid"]) == (("DELETED", "web"), "uid-web")
    assert (names(back), back["object"]["metadata"]["uid"]) == (("ADDED", "web"), "uid-new")
    response.close()


async def test_table_watch_sends_one_row_tables(client: TestClient[Any, Any], world: World) -> None:
    listed = await (await client.get("/api/v1/pods", headers={"Accept": TABLE})).json()
    response = await client.get("/api/v1/pods?watch=true", headers={"Accept": TABLE})
    first = await next_event(response)
    assert first["type"] == "ADDED"
    assert first["object"]["kind"] == "Table"
    assert first["object"]["columnDefinitions"] == listed["columnDefinitions"]
    (row,) = first["object"]["rows"]
    assert row["cells"][:3] == listed["rows"][0]["cells"][:3]
    assert row["object"]["metadata"]["name"] == "web"

    world.pods.append(named("api"))
    second = await next_event(response)
    assert second["object"]["kind"] == "Table"
    assert second["object"]["columnDefinitions"] == []  # kubectl reuses the first event's
    (row,) = second["object"]["rows"]
    assert row["cells"][0] == "api"
    assert (
        second["object"]["metadata"]["resourceVersion"]
        == row["object"]["metadata"]["resourceVersion"]
    )
    response.close()


async def test_include_object_gives_the_whole_object(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        "/api/v1/pods?watch=true&includeObject=Object", headers={"Accept": TABLE}
    )
    (row,) = (await next_event(response))["object"]["rows"]
    assert row["object"]["kind"] == "Pod"
    assert row["object"]["spec"]["containers"]
    response.close()


async def test_replicasets_and_events_watch_too(client: TestClient[Any, Any], world: World) -> None:
    rs = await client.get("/apis/apps/v1/namespaces/default/replicasets?watch=true")
    assert names(await next_event(rs)) == ("ADDED", "echo")
    rs.close()
    events = await client.get("/api/v1/events?watch=true")
    world.recorder.record(
        ObjectReference("Pod", "default", "web", "uid-web"), EventType.NORMAL, "Started", "ok"
    )
    event = await next_event(events)
    assert event["type"] == "ADDED"
    assert event["object"]["reason"] == "Started"
    events.close()


async def test_a_version_outside_the_history_is_gone(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/pods?watch=true&resourceVersion=999999")
    (event,) = await remaining_events(response)
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")


async def test_discovery_says_watch(client: TestClient[Any, Any]) -> None:
    resources = await (await client.get("/api/v1")).json()
    listed = [r for r in resources["resources"] if "/" not in r["name"]]  # not pods/log
    assert all("watch" in r["verbs"] for r in listed)


async def test_a_client_that_goes_is_unsubscribed(client: TestClient[Any, Any]) -> None:
    assert isinstance(client.server, TestServer)
    hub = client.server.app[HUB_KEY]
    response = await client.get("/api/v1/pods?watch=true")
    await next_event(response)
    assert hub.feeds["pods"].subscribers
    response.close()
    async with asyncio.timeout(DEADLINE):
        while hub.feeds["pods"].subscribers:
            await asyncio.sleep(POLL)


async def test_shutdown_ends_open_watches(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/pods?watch=true")
    await next_event(response)
    assert isinstance(client.server, TestServer)
    await client.server.app.shutdown()
    assert await remaining_events(response) == []


async def test_a_slow_subscriber_is_dropped_not_grown() -> None:
    subscription = Subscription(None, limit=2)
    for version in range(1, 5):
        subscription.offer(WatchEvent("ADDED", {"metadata": {"name": "p"}}, version))
    assert subscription.dropped
    got = [await subscription.next() for _ in range(3)]
    assert [e.resource_version if e else None for e in got] == [1, 2, None]


async def test_a_watch_from_a_past_version_replays_then_follows() -> None:
    objects: list[dict[str, Any]] = []
    hub = ChangeHub(seed=0)
    hub.add("pods", lambda: list(objects))
    objects.append({"metadata": {"namespace": "default", "name": "a", "uid": "1"}})
    _, version = hub.sync("pods")
    first, subscription = hub.subscribe("pods", None, 0)
    assert [(e.type, e.resource_version) for e in first] == [("ADDED", version)]
    objects.clear()
    hub.sync("pods")
    deleted = await subscription.next()
    assert deleted is not None
    assert (deleted.type, deleted.resource_version) == ("DELETED", version + 1)
    hub.close()
    assert await subscription.next() is None


def test_a_version_older_than_the_history_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes, "HISTORY_LIMIT", 2)
    objects: list[dict[str, Any]] = []
    hub = ChangeHub(seed=0)
    hub.add("pods", lambda: list(objects))
    for name in ("a", "b", "c"):
        objects.append({"metadata": {"namespace": "default", "name": name}})
        hub.sync("pods")
    with pytest.raises(Expired):
        hub.subscribe("pods", None, 0)
    replayed, _ = hub.subscribe("pods", None, 1)
    assert [e.object["metadata"]["name"] for e in replayed] == ["b", "c"]


def test_versions_never_repeat_across_controller_runs() -> None:
    """Each run counts from its start time, so a later run starts above all of an earlier one's."""
    objects = [{"metadata": {"namespace": "default", "name": "a", "uid": "1"}}]
    first_run = ChangeHub()
    first_run.add("pods", lambda: list(objects))
    _, first_version = first_run.sync("pods")
    for uid in range(2, 50):  # plenty of changes in the first run
        objects[0]["metadata"]["uid"] = str(uid)
        _, first_version = first_run.sync("pods")
    second_run = ChangeHub()
    second_run.add("pods", lambda: list(objects))
    _, second_version = second_run.sync("pods")
    assert second_version > first_version
    with pytest.raises(Expired):  # a client resuming from the earlier run lists again
        second_run.subscribe("pods", None, first_version)


def test_the_first_version_of_a_run_is_its_start_time_in_microseconds() -> None:
    before = time.time_ns() // 1000
    hub = ChangeHub()
    after = time.time_ns() // 1000
    assert before <= hub.counter <= after
