"""A fault-injecting proxy on the Docker socket, between the controller and a real engine.

`FaultProxy` listens on a unix socket of its own and forwards each connection to the engine's
socket, deciding per HTTP request (from a seeded `FaultPlan`) to pass it, delay it, answer it
with an HTTP 500 itself, reset the connection before the request reaches the engine, forward it
and reset the connection instead of the answer (the engine acted, the caller never hears), or,
for the first event streams, accept ``GET /events`` and then send nothing, ever. Point a
controller's ``--docker-host`` at `FaultProxy.docker_host`.

It parses only what it must to act per request: the request line, the headers and the body
(``Content-Length`` or chunked), so one keep-alive connection carries many decisions. Answers
are piped back as raw bytes, unparsed: a client sends its next request on a connection only
after reading the whole answer (HTTP/1.1 without pipelining, as aiohttp and Go's client do),
so an injected answer never interleaves with a real one.

Traps:
- Hijacked streams: ``POST .../attach`` and ``POST /exec/{id}/start`` (and any request with an
  ``Upgrade`` header) turn the connection into a raw byte stream both ways once the engine
  answers; they are forwarded untouched and the rest of that connection is piped raw, never
  parsed again nor faulted.
- The proxy runs its own event loop in its own thread, so a test that blocks its loop (a
  synchronous HTTP call, a subprocess) never adds stalls of its own to the engine's traffic.
- Paths may carry an API version (``/v1.41/events``): decisions look at the path without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

_VERSION_PREFIX = re.compile(r"^/v\d+(\.\d+)?(?=/)")
_HIJACKED = re.compile(r"^/(containers/[^/]+/attach|exec/[^/]+/start)$")
_HEAD_LIMIT = 1 << 20


class Fault(enum.StrEnum):
    PASS = "pass"
    ERROR = "HTTP 500"
    RESET = "reset before the engine"
    LOST = "reset after the engine acted"
    DELAY = "delayed"
    STALL = "stalled event stream"
    HIJACK = "hijacked stream"


@dataclass
class FaultPlan:
    """Which fault each request gets, drawn from a seeded generator (rates are per request)."""

    rng: random.Random
    error_rate: float = 0.10
    reset_rate: float = 0.05
    """Half of the resets happen before the engine sees the request, half after it acted."""
    delay_rate: float = 0.10
    delay_seconds: float = 2.0
    stalled_event_streams: int = 1
    """The first this many ``GET /events`` are accepted and then never answered."""
    enabled: bool = True
    """Cleared by a test to let everything pass (read by the proxy's thread)."""

    def decide(self, method: str, path: str) -> Fault:
        if not self.enabled:
            return Fault.PASS
        if method == "GET" and path.split("?")[0] == "/events" and self.stalled_event_streams > 0:
            self.stalled_event_streams -= 1
            return Fault.STALL
        draw = self.rng.random()
        if draw < self.error_rate:
            return Fault.ERROR
        draw -= self.error_rate
        if draw < self.reset_rate:
            return Fault.RESET if draw < self.reset_rate / 2 else Fault.LOST
        draw -= self.reset_rate
        if draw < self.delay_rate:
            return Fault.DELAY
        return Fault.PASS


@dataclass
class _Request:
    method: str
    path: str
    raw: bytes
    """Request line, headers and body, exactly as received."""
    upgrade: bool


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    drop_answer: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        self.client.transport.abort()
        self.upstream.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One request, or None at the end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            body += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    body += trailer
                body += b"\r\n"
                break
            body += await reader.readexactly(size + 2)
    elif int(headers.get("content-length", "0") or "0") > 0:
        body = await reader.readexactly(int(headers["content-length"]))
    path = _VERSION_PREFIX.sub("", target)
    upgrade = "upgrade" in headers or (
        method == "POST" and bool(_HIJACKED.match(path.split("?")[0]))
    )
    return _Request(method, path, head + body, upgrade)


def _error_answer(request: _Request) -> bytes:
    body = json.dumps({"message": f"injected fault: HTTP 500 on {request.method} {request.path}"})
    return (
        "HTTP/1.1 500 Internal Server Error\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
        f"{body}"
    ).encode()


class FaultProxy:
    """The proxy, serving from its own thread between `start` and `stop` (or as a context)."""

    def __init__(self, socket_path: Path, engine_socket: Path, plan: FaultPlan) -> None:
        self.socket_path = socket_path
        self.engine_socket = engine_socket
        self.plan = plan
        self.counts: Counter[Fault] = Counter()
        self.event_streams = 0
        """``GET /events`` requests seen: more than the stalled ones means the caller noticed
        a silent stream and subscribed again."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._connections: set[_Connection] = set()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="docker-fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10) or self._failure is not None:
            raise RuntimeError(f"the fault proxy did not start: {self._failure!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        server = await asyncio.start_unix_server(
            self._serve, path=str(self.socket_path), limit=_HEAD_LIMIT
        )
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            tasks = [task for conn in self._connections for task in conn.tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()
            await asyncio.sleep(0)  # aborted transports close on the next turn of the loop
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(
                str(self.engine_socket), limit=_HEAD_LIMIT
            )
        except OSError:
            writer.transport.abort()
            return
        conn = _Connection(writer, up_writer)
        self._connections.add(conn)
        pump = asyncio.create_task(self._pump(up_reader, conn))
        this = asyncio.current_task()
        conn.tasks.extend([pump] if this is None else [this, pump])
        try:
            if await self._requests(reader, conn):
                await pump  # a hijacked stream lasts until the engine ends it
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            # The client is gone (or reset): nothing more can reach it.
            self._connections.discard(conn)
            conn.reset()
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    async def _requests(self, reader: asyncio.StreamReader, conn: _Connection) -> bool:
        """Forward or fault each request until the client leaves; True when it hijacked."""
        while (request := await _read_request(reader)) is not None:
            if request.upgrade:
                self.counts[Fault.HIJACK] += 1
                conn.upstream.write(request.raw)
                await self._pipe_raw(reader, conn.upstream)
                return True
            if request.method == "GET" and request.path.split("?")[0] == "/events":
                self.event_streams += 1
            fault = self.plan.decide(request.method, request.path)
            self.counts[fault] += 1
            if fault is Fault.STALL:
                await self._pipe_raw(reader, None)  # read and drop until the client gives up
                return False
            if fault is Fault.RESET:
                return False
            if fault is Fault.ERROR:
                conn.client.write(_error_answer(request))
                await conn.client.drain()
                continue
            if fault is Fault.DELAY:
                await asyncio.sleep(self.plan.delay_seconds)
            conn.drop_answer = fault is Fault.LOST
            conn.upstream.write(request.raw)
            await conn.upstream.drain()
        return False

    async def _pipe_raw(
        self, reader: asyncio.StreamReader, to: asyncio.StreamWriter | None
    ) -> None:
        while data := await reader.read(65536):
            if to is not None:
                to.write(data)
                await to.drain()
        if to is not None:
            with contextlib.suppress(OSError):
                to.write_eof()

    async def _pump(self, upstream: asyncio.StreamReader, conn: _Connection) -> None:
        """The engine's answers, back to the client as they come (or dropped, for LOST)."""
        try:
            while data := await upstream.read(65536):
                if conn.drop_answer:
                    conn.reset()
                    return
                conn.client.write(data)
                await conn.client.drain()
        except (ConnectionError, OSError):
            conn.reset()
            return
        conn.client.close()
