"""`GET .../pods/{name}/log` against the fake engine: parameters, instances and refusals.

The route is served by an app over the engine's pod views and its (fake) runtimes, read through
the same `open_logs` the controller wires; lines are written into the fake runtime's containers
with the fake clock's times, and `sinceSeconds` is dated by that clock too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from controller.api.logs import add_log_routes
from controller.engine.fence import FencedRuntime
from controller.engine.logreader import open_logs
from controller.model.logs import LogOptions, rfc3339_nano
from controller.model.pod import Container, Pod, RestartPolicy
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

LOG = "/api/v1/namespaces/default/pods/{}/log"


def with_init(p: Pod, *inits: Container) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, init_containers=inits))


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    add_log_routes(
        app,
        harness.engine.pod_views,
        lambda node, cid, options: open_logs(harness.engine.slotted, node, cid, options),
        harness.clock.now,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def read(client: TestClient[Any, Any], name: str = "web", **query: str) -> tuple[int, Any]:
    response = await client.get(LOG.format(name), params=query)
    if response.content_type == "application/json":
        return response.status, await response.json()
    return response.status, await response.text()


def write(harness: Harness, lines: list[str], name: str = "app", pod_name: str = "web") -> None:
    record = next(
        r
        for r in harness.runtime.find(name, running=True)
        if r.config.identity.pod.name == pod_name
    )
    for line in lines:
        harness.runtime.write_log(record.id, line)


async def test_the_only_container_is_read_whole_tailed_stamped_and_limited(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web"))])
    start = harness.clock.now()
    write(harness, ["one", "two"])
    harness.clock.advance(30)
    write(harness, ["three"])
    assert await read(client) == (200, "one\ntwo\nthree\n")
    assert await read(client, tailLines="2") == (200, "two\nthree\n")
    assert await read(client, tailLines="0") == (200, "")
    assert await read(client, sinceSeconds="10") == (200, "three\n")
    stamped = await read(client, timestamps="true", tailLines="1")
    assert stamped == (200, f"{rfc3339_nano(start + 30)} three\n")
    assert await read(client, limitBytes="6") == (200, "one\ntw")


async def test_since_time_is_rfc3339(harness: Harness, client: TestClient[Any, Any]) -> None:
    await harness.start([desired(pod("web"))])
    write(harness, ["early"])
    harness.clock.advance(60)
    write(harness, ["late"])
    since = rfc3339_nano(harness.clock.now() - 1).split(".")[0] + "Z"
    assert await read(client, sinceTime=since) == (200, "late\n")


async def test_refusals_carry_the_api_servers_words_and_codes(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    two = with_init(pod("two", [container("a"), container("b")]), container("setup"))
    await harness.start([desired(pod("web")), desired(two)])
    status, body = await read(client, "two")
    assert status == 400
    assert body["reason"] == "BadRequest"
    assert body["message"] == (
        "a container name must be specified for pod two, choose one of: [a b]"
        " or one of the init containers: [setup]"
    )
    status, body = await read(client, "two", container="nope")
    assert (status, body["message"]) == (400, "container nope is not valid for pod two")
    status, body = await read(client, "ghost")
    assert (status, body["reason"], body["message"]) == (404, "NotFound", 'pods "ghost" not found')
    status, body = await read(client, previous="true")
    assert (status, body["message"]) == (
        400,
        'previous terminated container "app" in pod "web" not found',
    )
    status, body = await read(client, tailLines="-1")
    assert (status, body["reason"], body["message"]) == (
        422,
        "Invalid",
        'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: '
        "must be greater than or equal to 0",
    )
    status, body = await read(client, tailLines="x")
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = await read(client, sinceSeconds="5", sinceTime="2026-01-01T00:00:00Z")
    assert status == 422
    assert "at most one of `sinceTime` or `sinceSeconds` may be specified" in body["message"]


async def test_a_container_waiting_for_its_image_says_why(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web", [container("app", image="localhost/absent:1")]))])
    status, body = await read(client)
    assert status == 400
    assert body["message"].startswith('container "app" in pod "web" is waiting to start: ')
    reason = harness.view().status.container_statuses[0].state
    assert body["message"].endswith(
        {"ErrImagePull": "image can't be pulled"}.get(
            getattr(reason, "reason", ""), "trying and failing to pull image"
        )
    )


async def test_previous_reads_the_last_terminated_instance(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web"))])
    write(harness, ["first life"])
    (first,) = harness.runtime.find("app", running=True)
    harness.runtime.exit(first.id, 1)
    await harness.settle()  # the first restart comes at once
    assert harness.view().status.container_statuses[0].restart_count == 1
    write(harness, ["second life"])
    assert await read(client) == (200, "second life\n")
    assert await read(client, previous="true") == (200, "first life\n")
    (second,) = harness.runtime.find("app", running=True)
    harness.runtime.exit(second.id, 1)
    await harness.settle()
    state = harness.view().status.container_statuses[0].state
    assert getattr(state, "reason", "") == "CrashLoopBackOff"
    # Waiting in back-off: the plain read shows the instance that ended last.
    assert await read(client) == (200, "second life\n")
    assert await read(client, previous="true") == (200, "second life\n")


async def test_init_containers_and_sidecars_are_read_by_name(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    shipper = container("shipper", restart_policy=RestartPolicy.ALWAYS)
    await harness.start([desired(with_init(pod("web"), shipper))])
    write(harness, ["shipping"], name="shipper")
    assert await read(client, container="shipper") == (200, "shipping\n")


async def test_follow_streams_new_lines_until_the_container_ends(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web"))])
    write(harness, ["before"])
    response = await client.get(LOG.format("web"), params={"follow": "true"})
    assert response.status == 200
    assert await response.content.readline() == b"before\n"
    write(harness, ["after"])
    async with asyncio.timeout(5):
        assert await response.content.readline() == b"after\n"
    (record,) = harness.runtime.find("app", running=True)
    harness.runtime.exit(record.id, 0)
    async with asyncio.timeout(5):
        assert await response.content.read() == b""
    response.release()


async def test_follow_of_a_quiet_container_sends_headers_and_stops_at_the_limit(
    harness: Harness, client: TestClient[Any, Any]
) -> None:
    await harness.start([desired(pod("web"))])
    async with asyncio.timeout(5):
        response = await client.get(LOG.format("web"), params={"follow": "true", "limitBytes": "4"})
    assert response.status == 200
    write(harness, ["abcdef"])
    async with asyncio.timeout(5):
        assert await response.content.read() == b"abcd"
    response.release()


async def test_a_follower_that_leaves_closes_the_runtimes_stream(
    harness: Harness, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("controller.api.logs.HEADERS_WAIT_SECONDS", 0.05)
    await harness.start([desired(pod("web"))])
    write(harness, ["hello"])
    response = await client.get(LOG.format("web"), params={"follow": "true"})
    assert await response.content.readline() == b"hello\n"
    assert harness.runtime.log_readers == 1
    response.close()  # the client goes away while the container stays quiet
    async with asyncio.timeout(5):
        while harness.runtime.log_readers:
            await asyncio.sleep(0.01)
    assert harness.runtime.log_readers == 0


async def test_logs_are_read_through_the_fence_without_the_lease(harness: Harness) -> None:
    await harness.start([desired(pod("web"))])
    write(harness, ["hello"])
    (record,) = harness.runtime.find("app", running=True)
    fenced = FencedRuntime(harness.runtime, lambda: False)  # a lease lost: no change may pass
    chunks = [chunk async for chunk in fenced.container_logs(record.id, LogOptions())]
    assert chunks == [b"hello\n"]
