"""`kubectl exec` against the engine and the fake runtime: which container is chosen, the refusals
in Kubernetes' words, and the remote-command WebSocket served by the API over them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import make_app
from controller.engine.execs import PodExec
from controller.model.execs import STDERR, STDOUT, ExecRefused, ExecRequest
from controller.model.pod import RestartPolicy
from controller.runtime.fakeexec import ExecReply, FakeExecSession
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"


def pod_exec(h: Harness) -> PodExec:
    return PodExec(h.engine.pod_views, h.engine.cache, h.engine.slotted)


async def start_pods(h: Harness) -> None:
    await h.start(
        [
            desired(pod("one")),
            desired(pod("two", [container("a"), container("b")])),
            desired(pod("ended", restart_policy=RestartPolicy.NEVER)),
        ]
    )
    ended_app = next(
        r
        for r in h.runtime.containers.values()
        if r.config.identity.pod.name == "ended" and r.config.identity.container_name == "app"
    )
    h.runtime.exit(ended_app.id, 0)
    await h.settle()


async def test_the_only_container_is_chosen_and_the_named_one_otherwise(harness: Harness) -> None:
    await start_pods(harness)
    opener = pod_exec(harness)
    harness.runtime.exec_replies[("hostname",)] = ExecReply(((STDOUT, b"one\n"),), code=0)

    session = await opener("default", "one", "", ExecRequest(("hostname",)))
    assert await session.read() == (STDOUT, b"one\n")
    assert await session.read() is None
    assert await session.exit_code() == 0
    session_b = await opener("default", "two", "b", ExecRequest(("true",)))
    assert await session_b.read() is None
    assert [name for name, _ in harness.runtime.sessions] == ["app", "b"]
    assert any(call.startswith("exec_session") for call in harness.runtime.calls)


@pytest.mark.parametrize(
    ("name", "container", "code", "message"),
    [
        ("nosuch", "", 404, 'pods "nosuch" not found'),
        ("two", "c", 400, "container c is not valid for pod two"),
        ("two", "", 400, "a container name must be specified for pod two, choose one of: [a b]"),
        (
            "ended",
            "",
            400,
            "cannot exec into a container in a completed pod; current phase is Succeeded",
        ),
    ],
    ids=["no-pod", "no-container", "several-containers", "completed-pod"],
)
async def test_refusals_are_the_api_servers(
    harness: Harness, name: str, container: str, code: int, message: str
) -> None:
    await start_pods(harness)
    opener = pod_exec(harness)
    with pytest.raises(ExecRefused) as refused:
        opener.check("default", name, container)
    assert (refused.value.code, refused.value.message, refused.value.plain) == (
        code,
        message,
        False,
    )
    assert harness.runtime.sessions == []


async def test_a_container_not_running_is_the_kubelets_plain_refusal(harness: Harness) -> None:
    p = pod("two", [container("a"), container("b")], restart_policy=RestartPolicy.NEVER)
    await harness.start([desired(p)])
    record = next(
        r for r in harness.runtime.containers.values() if r.config.identity.container_name == "b"
    )
    harness.runtime.exit(record.id, 1)
    await harness.settle()
    assert harness.view("two").status.phase.value == "Running", "a runs on"

    with pytest.raises(ExecRefused) as refused:
        await pod_exec(harness)("default", "two", "b", ExecRequest(("true",)))
    assert (refused.value.code, refused.value.message, refused.value.plain) == (
        500,
        'container not found ("b")',
        True,
    )
    harness.runtime.down = True
    with pytest.raises(ExecRefused) as unreachable:
        await pod_exec(harness)("default", "two", "a", ExecRequest(("true",)))
    assert unreachable.value.code == 500
    assert unreachable.value.message.startswith("error dialing backend:")


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[TestClient]:
    await start_pods(harness)
    app = make_app(harness.engine.pod_views, lambda: True, exec_in_pod=pod_exec(harness))
    async with TestClient(TestServer(app)) as client:
        yield client


EXEC = "/api/v1/namespaces/default/pods/one/exec"


async def until_closed(session: FakeExecSession) -> None:
    """The server lets the session go once its handler ends, a moment after the socket closes."""
    async with asyncio.timeout(5):
        while not session.closed:
            await asyncio.sleep(0.01)
    assert session.closed


async def frames_until_close(ws: object) -> list[bytes]:
    frames: list[bytes] = []
    async for message in ws:  # type: ignore[attr-defined]
        assert message.type is WSMsgType.BINARY
        frames.append(message.data)
    return frames


async def test_v5_stdin_is_echoed_closed_and_the_status_ends_it(
    harness: Harness, api: TestClient
) -> None:
    harness.runtime.exec_replies[("cat",)] = ExecReply(echo_stdin=True)
    query = "command=cat&stdin=true&stdout=true&stderr=true"
    async with api.ws_connect(f"{EXEC}?{query}", protocols=(V5, V4)) as ws:
        assert ws.protocol == V5
        await ws.send_bytes(b"\x00hi\n")
        await ws.send_bytes(b'\x04{"Width":80,"Height":24}')
        await ws.send_bytes(b"\xff\x00")  # close stdin
        frames = await frames_until_close(ws)
    assert frames == [b"\x01hi\n", b'\x03{"metadata":{},"status":"Success"}']
    (_, session) = harness.runtime.sessions[-1]
    assert (bytes(session.stdin), session.stdin_closed, session.resizes) == (
        b"hi\n",
        True,
        [(80, 24)],
    )
    assert session.request == ExecRequest(("cat",), stdin=True, stdout=True, stderr=True)
    await until_closed(session)


async def test_v4_output_channels_and_a_non_zero_exit(harness: Harness, api: TestClient) -> None:
    harness.runtime.exec_replies[("sh", "-c", "exit 3")] = ExecReply(
        ((STDOUT, b"o"), (STDERR, b"e")), code=3
    )
    query = "command=sh&command=-c&command=exit+3&stdout=true&stderr=true"
    async with api.ws_connect(f"{EXEC}?{query}", protocols=(V4,)) as ws:
        assert ws.protocol == V4
        frames = await frames_until_close(ws)
    assert frames[:2] == [b"\x01o", b"\x02e"]
    assert frames[2][0] == 3
    assert json.loads(frames[2][1:]) == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: "
        "error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }


async def test_a_v4_client_cannot_close_stdin_with_v5s_message(
    harness: Harness, api: TestClient
) -> None:
    harness.runtime.exec_replies[("cat",)] = ExecReply(echo_stdin=True)
    async with api.ws_connect(f"{EXEC}?command=cat&stdin=1&stdout=1", protocols=(V4,)) as ws:
        await ws.send_bytes(b"\xff\x00")
        await ws.send_str("\x00x")  # the Python client's stdin, given a str
        message = await ws.receive(timeout=5)
        assert message.data == b"\x01x"
    (_, session) = harness.runtime.sessions[-1]
    assert not session.stdin_closed


async def test_refusals_before_the_upgrade(api: TestClient) -> None:
    response = await api.get("/api/v1/namespaces/default/pods/nosuch/exec?command=true&stdout=1")
    body = await response.json()
    assert (response.status, body["reason"], body["message"]) == (
        404,
        "NotFound",
        'pods "nosuch" not found',
    )
    # SPDY's POST (kubectl's fallback) gets the same words, and nothing is started
    response = await api.post(
        "/api/v1/namespaces/default/pods/two/exec?command=true&stdout=1&container=x"
    )
    body = await response.json()
    assert (response.status, body["message"]) == (400, "container x is not valid for pod two")
    response = await api.post("/api/v1/namespaces/default/pods/one/exec?command=true")
    body = await response.json()
    assert (response.status, body["message"]) == (
        400,
        "you must specify at least 1 of stdin, stdout, stderr",
    )


async def test_discovery_lists_the_exec_and_attach_subresources(api: TestClient) -> None:
    resources = {r["name"]: r for r in (await (await api.get("/api/v1")).json())["resources"]}
    assert resources["pods/exec"]["kind"] == "PodExecOptions"
    assert resources["pods/attach"]["kind"] == "PodAttachOptions"
    assert resources["pods/exec"]["verbs"] == ["create", "get"]


async def test_attach_streams_the_main_process_then_success(
    harness: Harness, api: TestClient
) -> None:
    harness.runtime.exec_replies[("attach",)] = ExecReply(((STDOUT, b"tick 1\n"),), code=0)
    path = "/api/v1/namespaces/default/pods/two/attach?container=b&stdout=true&stderr=true"
    async with api.ws_connect(path, protocols=(V5,)) as ws:
        frames = await frames_until_close(ws)
    assert frames == [b"\x01tick 1\n", b'\x03{"metadata":{},"status":"Success"}']
    assert [name for name, _ in harness.runtime.sessions] == ["b"]


async def test_a_client_that_hangs_up_releases_a_silent_command(
    harness: Harness, api: TestClient
) -> None:
    harness.runtime.exec_replies[("cat",)] = ExecReply(echo_stdin=True)  # silent until stdin ends
    async with api.ws_connect(f"{EXEC}?command=cat&stdin=1&stdout=1", protocols=(V5,)) as ws:
        await ws.send_bytes(b"\x00x")
        assert (await ws.receive(timeout=5)).data == b"\x01x"
    (_, session) = harness.runtime.sessions[-1]
    await until_closed(session)
    assert not session.stdin_closed, "the command was not told its input ended: it was let go"
