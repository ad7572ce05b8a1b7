"""An interactive command in a container over Docker's exec: the runtime side of `kubectl exec`
(and of `kubectl attach`, over Docker's attach to the container's main process).

`open_exec` creates the exec (`POST /containers/{id}/exec`) and starts it attached: Docker hijacks
the HTTP connection into a raw stream, stdin one way and output the other, the output multiplexed
in 8-byte-headed frames when there is no terminal (aiodocker's `Stream` parses them into messages
tagged 1 or 2) and raw with one.

Traps:
* **Half-close.** aiodocker's `Stream.close()` ends both directions. Ending stdin alone
  (`echo hi | kubectl exec -i POD -- cat`) needs a write EOF on the hijacked connection's
  transport while its read side goes on; Docker then closes the process's stdin.
* **The exit code lags the output.** The output can end a moment before the engine records the
  exit: the exec is re-inspected until it no longer runs (bounded; None if it never settles, or
  when the container was removed under the command: the client then gets an internal error).
* **Attach has no exit code of its own**: its stream ends when the container's process does (or
  the client leaves), and the kubelet reports that as success; resizing it is the container's.
* **Deadlines.** Creating and starting the exec have the usual call deadline; the session itself
  lasts as long as the command (a shell may stay open for hours), so reads have none.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError
from aiodocker.execs import Exec
from aiodocker.stream import Stream

from controller.model.errors import RuntimeFailure
from controller.model.execs import STDOUT, ExecRequest
from controller.model.meta import ContainerId
from controller.runtime.docker.calls import DockerCalls, _docker_message

EXIT_POLL_SECONDS = 0.02
EXIT_POLLS = 250
"""How long (polls of EXIT_POLL_SECONDS: 5 s) to wait for the exit code after the output ended."""


class DockerExecSession:
    """A started exec; see model.execs.ExecSession."""

    def __init__(
        self, calls: DockerCalls, execution: Exec | None, stream: Stream, tty: bool
    ) -> None:
        """`execution` None: an attach to the container's main process."""
        self._calls = calls
        self._exec = execution
        self._stream = stream
        self._tty = tty
        self._stdin_closed = False

    async def read(self) -> tuple[int, bytes] | None:
        try:
            message = await self._stream.read_out()
        except (OSError, RuntimeError, aiohttp.ClientError):  # the connection broke: output ended
            return None
        if message is None:
            return None
        return (STDOUT if self._tty else message.stream), message.data

    async def write(self, data: bytes) -> None:
        if self._stdin_closed or not data:
            return
        await self._stream.write_in(data)

    async def close_stdin(self) -> None:
        if self._stdin_closed:
            return
        self._stdin_closed = True
        response = self._stream._resp
        connection = response.connection if response is not None else None
        transport = connection.transport if connection is not None else None
        if transport is not None and transport.can_write_eof():
            transport.write_eof()

    async def resize(self, width: int, height: int) -> None:
        execution = self._exec
        if not self._tty or width <= 0 or height <= 0 or execution is None:
            return
        with contextlib.suppress(DockerError, RuntimeFailure):  # racing the exit is harmless
            await self._calls.call(
                f"resize exec {execution.id}", lambda _: execution.resize(h=height, w=width)
            )

    async def exit_code(self) -> int | None:
        execution = self._exec
        if execution is None:
            return 0  # an attach that ended: the kubelet's Success
        for _ in range(EXIT_POLLS):
            try:
                info: dict[str, Any] = await self._calls.call(
                    f"inspect exec {execution.id}", lambda _: execution.inspect()
                )
            except (DockerError, RuntimeFailure):  # the container was removed under the command
                return None
            if not info.get("Running"):
                code = info.get("ExitCode")
                return code if isinstance(code, int) else None
            await asyncio.sleep(EXIT_POLL_SECONDS)
        return None

    async def close(self) -> None:
        await self._stream.close()


async def open_exec(
    calls: DockerCalls, container_id: ContainerId, request: ExecRequest
) -> DockerExecSession:
    """Create and start the exec; `RuntimeFailure` with the engine's words when it refuses (the
    container is not running, or gone)."""

    async def start(docker: aiodocker.Docker) -> tuple[Exec, Stream]:
        execution = await docker.containers.container(container_id).exec(
            list(request.command),
            stdin=request.stdin,
            stdout=request.stdout,
            stderr=request.stderr,
            tty=request.tty,
        )
        stream = execution.start(detach=False)
        await stream.__aenter__()  # upgrades the connection now, so a refusal raises here
        return execution, stream

    try:
        execution, stream = await calls.call(f"exec in container {container_id}", start)
    except DockerError as exc:
        raise RuntimeFailure(_docker_message(exc)) from exc
    return DockerExecSession(calls, execution, stream, request.tty)


async def open_attach(
    calls: DockerCalls, container_id: ContainerId, request: ExecRequest
) -> DockerExecSession:
    """Attach to the container's main process (its output from now on); `RuntimeFailure` with
    the engine's words when it refuses."""

    async def start(docker: aiodocker.Docker) -> Stream:
        stream = docker.containers.container(container_id).attach(
            stdin=request.stdin, stdout=request.stdout, stderr=request.stderr
        )
        await stream.__aenter__()
        return stream

    try:
        stream = await calls.call(f"attach to container {container_id}", start)
    except DockerError as exc:
        raise RuntimeFailure(_docker_message(exc)) from exc
    return DockerExecSession(calls, None, stream, tty=False)  # pods' containers have no tty
