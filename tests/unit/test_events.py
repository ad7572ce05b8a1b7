"""Events: the recorder's ring and aggregation, the API's EventList and Table, kubectl's row."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller import cli
from controller.api.events import event_to_k8s
from controller.api.server import make_app
from controller.api.tables import event_row, parse_time
from controller.engine.events import AGGREGATION_WINDOW_SECONDS, EventRecorder
from controller.engine.ports import FakeClock
from controller.model.events import EventType, ObjectReference

WEB = ObjectReference("Pod", "default", "web", "uid-web")
API = ObjectReference("Pod", "team-a", "api", "uid-api")
NODE = ObjectReference("Node", "", "node-a", "node-a")
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_repeats_are_counted_not_added() -> None:
    clock = FakeClock()
    recorder = EventRecorder(clock)
    first = recorder.record(WEB, EventType.WARNING, "BackOff", "Back-off restarting")
    clock.advance(10)
    again = recorder.record(WEB, EventType.WARNING, "BackOff", "Back-off restarting")
    (held,) = recorder.list()
    assert held == again
    assert held.name == first.name
    assert held.count == 2
    assert (held.first_timestamp, held.last_timestamp) == (first.first_timestamp, clock.now())


def test_anything_different_is_a_new_event() -> None:
    recorder = EventRecorder(FakeClock())
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container a")
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container b")
    recorder.record(WEB, EventType.NORMAL, "Created", "Started container a")
    recorder.record(API, EventType.NORMAL, "Started", "Started container a")
    recorder.record(WEB, "Warning", "Started", "Started container a")
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container a", host="node-b")
    events = recorder.list()
    assert len(events) == 6
    assert len({e.name for e in events}) == 6
    assert all(e.count == 1 for e in events)


def test_a_repeat_after_the_window_starts_a_new_event() -> None:
    clock = FakeClock()
    recorder = EventRecorder(clock)
    recorder.record(WEB, EventType.NORMAL, "Killing", "Stopping container a")
    clock.advance(AGGREGATION_WINDOW_SECONDS + 1)
    recorder.record(WEB, EventType.NORMAL, "Killing", "Stopping container a")
    recorder.record(WEB, EventType.NORMAL, "Killing", "Stopping container a")
    assert [e.count for e in recorder.list()] == [1, 2]


def test_the_ring_drops_the_event_seen_longest_ago() -> None:
    clock = FakeClock()
    recorder = EventRecorder(clock, capacity=3)
    for n in range(3):
        recorder.record(WEB, EventType.NORMAL, "Started", f"Started container c{n}")
        clock.advance(1)
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container c0")  # c0 is now newest
    clock.advance(1)
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container c3")  # drops c1
    assert len(recorder) == 3
    assert [e.message[-2:] for e in recorder.list()] == ["c2", "c0", "c3"]
    for n in range(10):
        recorder.record(API, EventType.NORMAL, "Pulled", f"image {n}")
    assert [e.message for e in recorder.list()] == ["image 7", "image 8", "image 9"]
    # an aggregated event that was dropped is not revived: the next repeat starts afresh
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container c3")
    assert recorder.list()[-1].count == 1


def test_list_is_ordered_by_last_seen() -> None:
    clock = FakeClock()
    recorder = EventRecorder(clock)
    recorder.record(WEB, EventType.NORMAL, "Scheduled", "a")
    clock.advance(1)
    recorder.record(WEB, EventType.NORMAL, "Created", "b")
    clock.advance(1)
    recorder.record(WEB, EventType.NORMAL, "Scheduled", "a")
    events = recorder.list()
    assert [e.reason for e in events] == ["Created", "Scheduled"]
    assert [e.last_timestamp for e in events] == sorted(e.last_timestamp for e in events)


def test_each_event_is_logged_with_its_level(caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(FakeClock())
    with caplog.at_level(logging.INFO, logger="controller.engine.events"):
        recorder.record(WEB, EventType.NORMAL, "Started", "Started container a")
        recorder.record(WEB, EventType.WARNING, "BackOff", "Back-off restarting failed container")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Pod default/web: Started: Started container a"),
        (logging.WARNING, "Pod default/web: BackOff: Back-off restarting failed container"),
    ]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        EventRecorder(FakeClock(), capacity=0)


def test_event_row_is_kubectls() -> None:
    event = {
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Pod", "name": "web"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container a in pod web",
        "type": "Warning",
        "count": 3,
        "firstTimestamp": "2027-01-15T08:00:00Z",
        "lastTimestamp": "2027-01-15T08:05:00Z",
        "source": {"component": "podyard", "host": "node-a"},
    }
    now = (parse_time("2027-01-15T08:10:00Z") or 0.0) + 0.5
    assert event_row(event, now) == [
        "5m (x3 over 10m)",
        "Warning",
        "BackOff",
        "pod/web",
        "Back-off restarting failed container a in pod web",
    ]
    wide = event_row(event, now, wide=True)
    assert wide[4:] == [  # kubectl's order: SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME
        "",
        "podyard, node-a",
        "Back-off restarting failed container a in pod web",
        "10m",
        "3",
        "web.1",
    ]
    assert event_row({**event, "count": 1}, now)[0] == "5m"


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    clock = FakeClock(1_800_000_000.0)
    recorder = EventRecorder(clock)
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container a", host="node-a")
    clock.advance(5)
    recorder.record(API, EventType.WARNING, "Failed", "Error: ErrImagePull: denied")
    clock.advance(5)
    recorder.record(NODE, EventType.NORMAL, "NodeReady", "Node node-a status is now: NodeReady")
    clock.advance(5)
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container a", host="node-a")
    app = make_app(lambda: [], lambda: True, events=recorder.list)
    async with TestClient(TestServer(app)) as c:
        yield c


async def _json(c: TestClient[Any, Any], path: str, **headers: str) -> tuple[int, Any]:
    response = await c.get(path, headers=headers)
    return response.status, await response.json()


async def test_discovery_lists_events(client: TestClient[Any, Any]) -> None:
    _, resources = await _json(client, "/api/v1")
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["events"]["kind"] == "Event"
    assert by_name["events"]["shortNames"] == ["ev"]
    assert "pods" in by_name


async def test_event_list_is_kubernetes_json(client: TestClient[Any, Any]) -> None:
    status, body = await _json(client, "/api/v1/events")
    assert status == 200
    assert (body["kind"], body["apiVersion"]) == ("EventList", "v1")
    reasons = [(i["metadata"]["namespace"], i["reason"]) for i in body["items"]]
    assert reasons == [("team-a", "Failed"), ("default", "NodeReady"), ("default", "Started")]
    started = body["items"][-1]
    assert started["metadata"]["name"].startswith("web.")
    assert started["involvedObject"] == {
        "kind": "Pod",
        "name": "web",
        "apiVersion": "v1",
        "namespace": "default",
        "uid": "uid-web",
    }
    assert started["source"] == {"component": "podyard", "host": "node-a"}
    assert started["count"] == 2
    assert started["type"] == "Normal"
    assert started["firstTimestamp"] == "2027-01-15T08:00:00Z"
    assert started["lastTimestamp"] == "2027-01-15T08:00:15Z"
    node = body["items"][1]["involvedObject"]
    assert "namespace" not in node
    assert node["kind"] == "Node"


async def test_events_per_namespace_and_by_name(client: TestClient[Any, Any]) -> None:
    _, team = await _json(client, "/api/v1/namespaces/team-a/events")
    assert [i["reason"] for i in team["items"]] == ["Failed"]
    name = team["items"][0]["metadata"]["name"]
    status, one = await _json(client, f"/api/v1/namespaces/team-a/events/{name}")
    assert status == 200
    assert one["metadata"]["name"] == name
    status, missing = await _json(client, "/api/v1/namespaces/default/events/nope")
    assert status == 404
    assert missing["message"] == 'events "nope" not found'


async def test_event_table_has_kubectls_columns(client: TestClient[Any, Any]) -> None:
    _, body = await _json(client, "/api/v1/namespaces/default/events", Accept=TABLE)
    assert body["kind"] == "Table"
    shown = [c["description"] for c in body["columnDefinitions"] if c["priority"] == 0]
    assert shown == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    plain = [i for i, c in enumerate(body["columnDefinitions"]) if c["priority"] == 0]
    cells = [[row["cells"][i] for i in plain[1:]] for row in body["rows"]]  # as kubectl shows
    assert cells == [
        ["Normal", "NodeReady", "node/node-a", "Node node-a status is now: NodeReady"],
        ["Normal", "Started", "pod/web", "Started container a"],
    ]


async def test_without_a_source_there_are_no_events() -> None:
    async with TestClient(TestServer(make_app(lambda: [], lambda: True))) as c:
        _, body = await _json(c, "/api/v1/events")
    assert body["items"] == []


def test_podyard_get_events_sorts_by_last_seen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(time.time() - 60)
    recorder = EventRecorder(clock)
    recorder.record(WEB, EventType.NORMAL, "Started", "Started container a")
    clock.advance(10)
    recorder.record(WEB, EventType.WARNING, "BackOff", "Back-off restarting failed container a")
    items = [
        event_to_k8s(e) for e in reversed(recorder.list())
    ]  # the server's order is not relied on
    urls: list[str] = []

    def fetch(url: str) -> Any:
        urls.append(url)
        return {"kind": "EventList", "apiVersion": "v1", "items": items}

    monkeypatch.setattr(cli, "_fetch", fetch)
    assert cli.main(["get", "ev", "--server", "http://x"]) == 0
    assert urls == ["http://x/api/v1/namespaces/default/events"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [line.split()[1:4] for line in lines[1:]] == [
        ["Normal", "Started", "pod/web"],
        ["Warning", "BackOff", "pod/web"],
    ]
    assert cli.main(["get", "events", "-A", "--server", "http://x"]) == 0
    assert urls[-1] == "http://x/api/v1/events"
    assert capsys.readouterr().out.splitlines()[0].startswith("NAMESPACE   LAST SEEN")
