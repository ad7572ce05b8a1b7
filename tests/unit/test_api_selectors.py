"""`labelSelector` and `fieldSelector` on the read API: lists of every resource, watches, 400s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs
import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.changes import Subscription, WatchEvent
from controller.api.server import make_app
from controller.api.watch import HUB_KEY
from controller.engine.events import EventRecorder
from controller.engine.ports import FakeClock
from controller.model.events import EventType, ObjectReference
from controller.model.meta import NodeName, ObjectMeta, PodRef, PodUid
from controller.model.status import PodPhase, PodView
from controller.serde import structure_replicaset
from tests.unit.test_api_watch import next_event, remaining_events
from tests.unit.test_render import deployment_view, rs_doc, rs_view
from tests.unit.test_serde import view

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
POLL = 0.02
DEADLINE = 5.0


def pod(
    name: str,
    labels: Mapping[str, str] | None = None,
    *,
    namespace: str = "default",
    node: str | None = "node-a",
    phase: PodPhase = PodPhase.RUNNING,
) -> PodView:
    base = view()
    meta = ObjectMeta(name=name, namespace=namespace, labels=dict(labels or {}))
    return attrs.evolve(
        base,
        pod=attrs.evolve(base.pod, metadata=meta),
        ref=PodRef(namespace, name, PodUid(f"uid-{name}")),
        node=NodeName(node) if node else None,
        status=attrs.evolve(base.status, phase=phase),
    )


def relabelled(view: PodView, labels: Mapping[str, str]) -> PodView:
    meta = attrs.evolve(view.pod.metadata, labels=dict(labels))
    return attrs.evolve(view, pod=attrs.evolve(view.pod, metadata=meta))


@attrs.define
class World:
    pods: list[PodView]
    recorder: EventRecorder


@pytest.fixture
def world() -> World:
    recorder = EventRecorder(FakeClock())
    recorder.record(ObjectReference("Pod", "default", "web", "uid-web"), "Normal", "Started", "ok")
    recorder.record(
        ObjectReference("Pod", "default", "api", "uid-api"), EventType.WARNING, "BackOff", "slow"
    )
    recorder.record(ObjectReference("ReplicaSet", "default", "echo", "uid-rs"), "Normal", "X", "y")
    return World(
        [
            pod("web", {"app": "web", "tier": "front"}),
            pod("api", {"app": "api"}, node="node-b", phase=PodPhase.PENDING),
            pod("db", {"app": "db", "tier": "back"}, namespace="team-a", node=None),
        ],
        recorder,
    )


def _replicasets() -> list[Any]:
    other = structure_replicaset(rs_doc("other", namespace="team-a", labels={"app": "other"}))
    return [rs_view(), rs_view(replicaset=other)]


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: list(world.pods),
        lambda: True,
        replicasets=_replicasets,
        deployments=lambda: [deployment_view()],
        events=world.recorder.list,
        watch_poll_seconds=POLL,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def listed(client: TestClient[Any, Any], path: str, **query: str) -> list[str]:
    response = await client.get(path, params=query)
    assert response.status == 200, await response.text()
    return [item["metadata"]["name"] for item in (await response.json())["items"]]


async def refused(client: TestClient[Any, Any], path: str, **query: str) -> str:
    """The message of the 400 Status the query gets."""
    response = await client.get(path, params=query)
    assert response.status == 400
    body = await response.json()
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        "BadRequest",
        400,
    )
    message: str = body["message"]
    return message


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["web", "api", "db"]),
        ("app=web", ["web"]),
        ("app==api", ["api"]),
        ("app!=web", ["api", "db"]),
        ("app in (web,db)", ["web", "db"]),
        ("app notin (web)", ["api", "db"]),
        ("tier", ["web", "db"]),
        ("!tier", ["api"]),
        ("tier,app!=db", ["web"]),
        ("app=nothing", []),
    ],
)
async def test_pods_by_label(
    client: TestClient[Any, Any], selector: str, expected: list[str]
) -> None:
    assert await listed(client, "/api/v1/pods", labelSelector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=web", ["web"]),
        ("metadata.name!=web", ["api", "db"]),
        ("metadata.namespace=team-a", ["db"]),
        ("spec.nodeName=node-b", ["api"]),
        ("spec.nodeName=", ["db"]),
        ("status.phase=Pending", ["api"]),
        ("status.phase!=Pending,metadata.namespace==default", ["web"]),
    ],
)
async def test_pods_by_field(
    client: TestClient[Any, Any], selector: str, expected: list[str]
) -> None:
    assert await listed(client, "/api/v1/pods", fieldSelector=selector) == expected


async def test_selectors_combine_with_each_other_and_the_namespace(
    client: TestClient[Any, Any],
) -> None:
    path = "/api/v1/namespaces/default/pods"
    assert await listed(client, path, labelSelector="tier") == ["web"]
    assert await listed(
        client, path, labelSelector="app", fieldSelector="spec.nodeName=node-b"
    ) == ["api"]
    assert await listed(client, path, fieldSelector="metadata.namespace=team-a") == []


async def test_a_table_list_is_filtered_too(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        "/api/v1/pods", params={"labelSelector": "app=api"}, headers={"Accept": TABLE}
    )
    rows = (await response.json())["rows"]
    assert [row["cells"][0] for row in rows] == ["api"]


async def test_replicasets_and_deployments(client: TestClient[Any, Any]) -> None:
    rs = "/apis/apps/v1/replicasets"
    assert await listed(client, rs, labelSelector="app=other") == ["other"]
    assert await listed(client, rs, labelSelector="app in (echo,other)") == ["echo", "other"]
    assert await listed(client, rs, fieldSelector="metadata.name=echo") == ["echo"]
    assert await listed(client, rs, fieldSelector="metadata.namespace!=default") == ["other"]
    deploy = "/apis/apps/v1/namespaces/default/deployments"
    assert await listed(client, deploy, labelSelector="app=echo") == ["hello"]
    assert await listed(client, deploy, labelSelector="!app") == []
    assert await listed(client, deploy, fieldSelector="metadata.name!=hello") == []


def involved(event_names: list[str], world: World) -> list[str]:
    by_name = {e.name: e.involved.name for e in world.recorder.list()}
    return [by_name[name] for name in event_names]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("involvedObject.name=web", ["web"]),
        ("involvedObject.kind=Pod", ["web", "api"]),
        ("involvedObject.kind=ReplicaSet,involvedObject.name=echo", ["echo"]),
        ("involvedObject.namespace=default,reason=BackOff", ["api"]),
        ("type=Warning", ["api"]),
        ("type!=Warning,involvedObject.kind!=ReplicaSet", ["web"]),
        # what `kubectl describe pod web` sends
        (
            "involvedObject.name=web,involvedObject.namespace=default,"
            "involvedObject.kind=Pod,involvedObject.uid=uid-web",
            ["web"],
        ),
    ],
)
async def test_events_by_field(
    client: TestClient[Any, Any], world: World, selector: str, expected: list[str]
) -> None:
    names = await listed(client, "/api/v1/namespaces/default/events", fieldSelector=selector)
    assert involved(names, world) == expected


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/api/v1/pods", {"labelSelector": "app in ()"}, "values set can't be empty"),
        ("/api/v1/pods", {"labelSelector": "app=web tier"}, "unable to parse labelSelector"),
        ("/api/v1/pods", {"fieldSelector": "reason=x"}, "field label not supported: reason"),
        ("/api/v1/pods", {"fieldSelector": "metadata.name"}, "can't understand 'metadata.name'"),
        (
            "/apis/apps/v1/replicasets",
            {"fieldSelector": "spec.nodeName=a"},
            "field label not supported: spec.nodeName",
        ),
        ("/api/v1/events", {"fieldSelector": "status.phase=x"}, "field label not supported"),
        (
            "/api/v1/pods",
            {"watch": "true", "fieldSelector": "spec.foo=x"},
            "field label not supported: spec.foo",
        ),
        ("/apis/apps/v1/deployments", {"watch": "1", "labelSelector": "a>1"}, "'>'"),
    ],
)
async def test_bad_selectors_answer_400(
    client: TestClient[Any, Any], path: str, query: dict[str, str], message: str
) -> None:
    assert message in await refused(client, path, **query)


async def synced(client: TestClient[Any, Any], name: str) -> None:
    """Wait until the watch poller has published the pod `name` as it is now."""
    assert isinstance(client.server, TestServer)
    feed = client.server.app[HUB_KEY].feeds["pods"]
    async with asyncio.timeout(DEADLINE):
        while not any(key[1] == name for key in feed.raw):
            await asyncio.sleep(POLL)


def kinds(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"]["name"]


async def test_a_watch_by_name_sees_only_that_pod(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get(
        "/api/v1/namespaces/default/pods",
        params={"watch": "true", "fieldSelector": "metadata.name=web"},
    )
    assert kinds(await next_event(response)) == ("ADDED", "web")
    world.pods.append(pod("other", {"app": "web"}))
    await synced(client, "other")
    world.pods[0] = pod("web", {"app": "web", "tier": "changed"})
    event = await next_event(response)
    assert kinds(event) == ("MODIFIED", "web")
    assert event["object"]["metadata"]["labels"]["tier"] == "changed"
    response.close()


async def test_a_pod_that_stops_matching_is_deleted_and_one_that_starts_is_added(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get(
        "/api/v1/pods", params={"watch": "true", "labelSelector": "app=web"}
    )
    assert kinds(await next_event(response)) == ("ADDED", "web")

    world.pods[0] = relabelled(world.pods[0], {"app": "retired"})
    gone = await next_event(response)
    assert kinds(gone) == ("DELETED", "web")
    assert gone["object"]["metadata"]["labels"] == {
        "app": "retired"
    }  # its new state, as Kubernetes

    world.pods[1] = relabelled(world.pods[1], {"app": "api", "tier": "x"})  # never matched
    await synced(client, "api")
    world.pods[1] = relabelled(world.pods[1], {"app": "web"})
    came = await next_event(response)
    assert kinds(came) == ("ADDED", "api")

    world.pods[1] = relabelled(world.pods[1], {"app": "web", "tier": "y"})
    assert kinds(await next_event(response)) == ("MODIFIED", "api")
    del world.pods[1]
    assert kinds(await next_event(response)) == ("DELETED", "api")
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in (gone, came)]
    assert versions == sorted(versions)
    response.close()


async def test_a_watch_never_sends_what_never_matched(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get(
        "/api/v1/pods",
        params={"watch": "true", "labelSelector": "tier", "timeoutSeconds": "1"},
    )
    world.pods.append(pod("plain", {"app": "plain"}))
    del world.pods[1]  # "api" had no tier
    events = await remaining_events(response)
    assert [kinds(e) for e in events] == [("ADDED", "web"), ("ADDED", "db")]


async def test_a_watch_from_a_listed_version_replays_through_the_selector(
    client: TestClient[Any, Any], world: World
) -> None:
    """Changes between the list and the watch: the one that moved web out arrives as DELETED."""
    query = {"labelSelector": "app=web"}
    body = await (await client.get("/api/v1/pods", params=query)).json()
    assert [i["metadata"]["name"] for i in body["items"]] == ["web"]
    world.pods[0] = relabelled(world.pods[0], {"app": "old"})
    world.pods[1] = relabelled(world.pods[1], {"app": "web"})
    world.pods.append(pod("late", {"app": "late"}))
    await client.get("/api/v1/pods")  # a list syncs: the changes are now in the history
    response = await client.get(
        "/api/v1/pods",
        params={
            **query,
            "watch": "true",
            "resourceVersion": body["metadata"]["resourceVersion"],
            "timeoutSeconds": "1",
        },
    )
    events = await remaining_events(response)
    assert [kinds(e) for e in events] == [("DELETED", "web"), ("ADDED", "api")]


async def test_event_watch_for_one_object(client: TestClient[Any, Any], world: World) -> None:
    response = await client.get(
        "/api/v1/events",
        params={"watch": "true", "fieldSelector": "involvedObject.name=api"},
    )
    first = await next_event(response)
    assert (first["type"], first["object"]["reason"]) == ("ADDED", "BackOff")
    world.recorder.record(ObjectReference("Pod", "default", "web", "uid-web"), "Normal", "A", "")
    world.recorder.record(ObjectReference("Pod", "default", "api", "uid-api"), "Normal", "B", "")
    second = await next_event(response)
    assert (second["type"], second["object"]["reason"]) == ("ADDED", "B")
    response.close()


def obj(name: str, app: str, namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": app}}}


@pytest.mark.parametrize(
    ("event", "seen"),
    [
        (WatchEvent("ADDED", obj("p", "web"), 1), "ADDED"),
        (WatchEvent("ADDED", obj("p", "db"), 1), None),
        (WatchEvent("MODIFIED", obj("p", "web"), 2, obj("p", "web")), "MODIFIED"),
        (WatchEvent("MODIFIED", obj("p", "db"), 2, obj("p", "web")), "DELETED"),
        (WatchEvent("MODIFIED", obj("p", "web"), 2, obj("p", "db")), "ADDED"),
        (WatchEvent("MODIFIED", obj("p", "db"), 2, obj("p", "db")), None),
        (WatchEvent("DELETED", obj("p", "web"), 3, obj("p", "web")), "DELETED"),
        (WatchEvent("DELETED", obj("p", "db"), 3, obj("p", "db")), None),
        (WatchEvent("ADDED", obj("p", "web", namespace="other"), 1), None),
    ],
    ids=[
        "added-matching",
        "added-other",
        "modified-still-matching",
        "modified-stops-matching",
        "modified-starts-matching",
        "modified-never-matching",
        "deleted-matching",
        "deleted-other",
        "other-namespace",
    ],
)
def test_how_a_selective_subscriber_sees_each_change(event: WatchEvent, seen: str | None) -> None:
    subscription = Subscription(
        "default", selects=lambda o: o["metadata"]["labels"]["app"] == "web"
    )
    got = subscription.seen_as(event)
    assert (got.type if got else None) == seen
    if got is not None:
        assert got.object is event.object
        assert got.resource_version == event.resource_version
