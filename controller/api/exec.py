"""`kubectl exec` (and `kubectl cp`, which runs `tar` through it) and `kubectl attach`: the
remote-command WebSocket.

`GET /api/v1/namespaces/{ns}/pods/{name}/exec?command=..&command=..&container=..&stdin=..&stdout=..
&stderr=..&tty=..` upgraded to a WebSocket with subprotocol `v5.channel.k8s.io` (kubectl 1.30+)
or `v4.channel.k8s.io` (the official Python client). Every binary message starts with its channel:
0 stdin, 1 stdout, 2 stderr, 3 error (a metav1 Status once the command ended: its exit code),
4 resize (`{"Width":..,"Height":..}`); in v5 `[255, 0]` from the client closes its stdin.

`.../pods/{name}/attach` (no command) speaks the same protocol to the container's main process;
its status is Success when the process's output ends.

The command is started before the upgrade, so every refusal answers as the API server and the
kubelet do: a metav1 Status (404 pod not found, 400 container not valid), or the kubelet's plain
text (`container not found ("x")`, kubectl prints "unable to upgrade connection: " before it).

Traps:
* kubectl falls back to SPDY (`POST`, `Upgrade: SPDY/3.1`) when the WebSocket handshake fails.
  A POST gets the same refusal, found without starting anything; SPDY itself is not spoken, so a
  POST that passes answers 400 and the WebSocket path must succeed on its own.
* Clients send stdin in binary or text frames (the Python client sends a `str` as text): both
  are read the same way.
* The output is pumped by the handler while a second task reads the client: the client may close
  stdin (v5), resize, or hang up; a hang-up ends the session (the command is left to finish, as
  the kubelet leaves it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from controller.api.responses import status_response
from controller.model.execs import ExecRefused, ExecRequest, ExecSession

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255
"""v5's control message: `[255, channel]` closes that channel (the client's stdin)."""

log = logging.getLogger("podyard")

TRUE_WORDS = frozenset({"1", "t", "T", "TRUE", "true", "True"})
"""Go's strconv.ParseBool, as the API server parses query flags."""


class PodExecOpener(Protocol):
    """(namespace, pod, container or "", request) -> a started session, or `ExecRefused`."""

    async def __call__(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession: ...

    async def attach(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession:
        """The container's main process (`kubectl attach`); the command is ignored."""
        ...

    def check(self, namespace: str, pod: str, container: str) -> None:
        """The refusals `__call__` would raise before starting anything."""
        ...


EXEC_KEY: web.AppKey[PodExecOpener | None] = web.AppKey("exec")


def exit_status(code: int | None, command: Sequence[str]) -> dict[str, Any]:
    """The error channel's metav1 Status for a finished command, as the kubelet words it."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    if code is None:
        message = "error executing command in container: the exit code was not recorded"
        return {
            "metadata": {},
            "status": "Failure",
            "message": f"Internal error occurred: {message}",
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }
    shown = "[" + " ".join(command) + "]"
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: "
        f"error executing command {shown}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def frame(channel: int, data: bytes) -> bytes:
    return bytes([channel]) + data


def parse_resize(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a resize message; None when it is not one."""
    try:
        size = json.loads(data)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return width, height


def exec_request(query: Any, *, attach: bool = False) -> ExecRequest | ExecRefused:
    """The request from the query, or the API server's refusal of it."""

    def flag(name: str) -> bool:
        return query.get(name, "") in TRUE_WORDS

    request = ExecRequest(
        command=tuple(query.getall("command", [])),
        stdin=flag("stdin"),
        stdout=flag("stdout"),
        stderr=flag("stderr"),
        tty=flag("tty"),
    )
    if not (request.stdin or request.stdout or request.stderr):
        return ExecRefused(
            400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr"
        )
    if not request.command and not attach:
        return ExecRefused(
            400, "BadRequest", "you must specify at least one command for the container"
        )
    return request


def refusal(exc: ExecRefused) -> web.Response:
    if exc.plain:
        return web.Response(text=exc.message, status=exc.code)
    return status_response(exc.code, exc.reason, exc.message)


async def exec_pod(request: web.Request) -> web.StreamResponse:
    return await _remote_command(request, attach=False)


async def attach_pod(request: web.Request) -> web.StreamResponse:
    return await _remote_command(request, attach=True)


async def _remote_command(request: web.Request, *, attach: bool) -> web.StreamResponse:
    namespace, pod = request.match_info["namespace"], request.match_info["name"]
    container = request.query.get("container", "")
    opener = request.app[EXEC_KEY]
    if opener is None:
        return status_response(404, "NotFound", "exec is not served here")
    wanted = exec_request(request.query, attach=attach)
    if isinstance(wanted, ExecRefused):
        return refusal(wanted)
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True)
    if not ws.can_prepare(request).ok:  # a SPDY upgrade, or no upgrade at all
        try:
            opener.check(namespace, pod, container)
        except ExecRefused as exc:
            return refusal(exc)
        return status_response(400, "BadRequest", "Upgrade request required")
    try:
        start = opener.attach if attach else opener
        session = await start(namespace, pod, container, wanted)
    except ExecRefused as exc:
        return refusal(exc)
    try:
        await ws.prepare(request)
        await _serve(ws, session, wanted)
    finally:
        await session.close()
    return ws


async def _serve(ws: web.WebSocketResponse, session: ExecSession, wanted: ExecRequest) -> None:
    """Pump output to the client until the command's output ends, then send its status; stop
    at once when the client hangs up first (a silent command would hold the handler forever)."""
    reader = asyncio.create_task(
        _read_client(ws, session, closable=ws.ws_protocol == V5), name="exec client reader"
    )
    pump = asyncio.create_task(_pump(ws, session, wanted), name="exec output pump")
    tasks = (pump, reader)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task, outcome in zip(
            tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True
        ):
            if isinstance(outcome, Exception) and not isinstance(outcome, ConnectionResetError):
                log.warning("exec: %s ended with %r", task.get_name(), outcome)


async def _pump(ws: web.WebSocketResponse, session: ExecSession, wanted: ExecRequest) -> None:
    while (chunk := await session.read()) is not None:
        channel, data = chunk
        if (channel == STDERR and not wanted.stderr) or (channel == STDOUT and not wanted.stdout):
            continue
        await ws.send_bytes(frame(channel, data))
    code = await session.exit_code()
    status = json.dumps(exit_status(code, wanted.command), separators=(",", ":"))
    await ws.send_bytes(frame(ERROR, status.encode()))
    await ws.close()


async def _read_client(ws: web.WebSocketResponse, session: ExecSession, closable: bool) -> None:
    """Stdin, resizes and (v5) the close of stdin, until the client closes the socket. Text
    messages count as binary ones, as the kubelet reads them: the official Python client sends
    stdin given as `str` in text frames."""
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            data: bytes = str(message.data).encode()
        elif message.type is WSMsgType.BINARY:
            data = message.data
        else:
            continue
        if not data:
            continue
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            await session.write(payload)
        elif channel == RESIZE:
            size = parse_resize(payload)
            if size is not None:
                await session.resize(*size)
        elif channel == CLOSE and closable and payload[:1] == bytes([STDIN]):
            await session.close_stdin()


def add_exec_routes(app: web.Application, opener: PodExecOpener | None) -> None:
    app[EXEC_KEY] = opener
    path = "/api/v1/namespaces/{namespace}/pods/{name}/exec"
    app.router.add_get(path, exec_pod)
    app.router.add_post(path, exec_pod)
    attach = "/api/v1/namespaces/{namespace}/pods/{name}/attach"
    app.router.add_get(attach, attach_pod)
    app.router.add_post(attach, attach_pod)


EXEC_SUBRESOURCES = [
    {
        "name": "pods/exec",
        "singularName": "",
        "namespaced": True,
        "kind": "PodExecOptions",
        "verbs": ["create", "get"],
    },
    {
        "name": "pods/attach",
        "singularName": "",
        "namespaced": True,
        "kind": "PodAttachOptions",
        "verbs": ["create", "get"],
    },
]
"""Discovery's entries, as a real cluster lists them in /api/v1."""
