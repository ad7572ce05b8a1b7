"""The fake runtime's interactive exec (`kubectl exec` against runtime/fake.py): scripted replies.

A test scripts a command's reply (`ExecReply`: output chunks, an exit code, and whether stdin is
echoed back as `cat` would) by its command; an unscripted command prints nothing and exits 0. The
session keeps what it was sent (stdin bytes, resizes, whether stdin was closed) for the test to
assert on.

Trap: with `echo_stdin` the output ends only when stdin is closed, as `cat`'s does; a test that
never closes stdin waits forever, like the real command would.
"""

from __future__ import annotations

import asyncio

import attrs

from controller.model.execs import STDOUT, ExecRequest


@attrs.frozen
class ExecReply:
    """What a scripted command prints, as (STDOUT or STDERR, bytes) chunks, then its exit code."""

    output: tuple[tuple[int, bytes], ...] = ()
    code: int = 0
    echo_stdin: bool = False


class FakeExecSession:
    """A running scripted command; see model.execs.ExecSession."""

    def __init__(self, request: ExecRequest, reply: ExecReply) -> None:
        self.request = request
        self.reply = reply
        self.stdin = bytearray()
        self.stdin_closed = False
        self.resizes: list[tuple[int, int]] = []
        self.closed = False
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        for chunk in reply.output:
            self._output.put_nowait(chunk)
        if not reply.echo_stdin:
            self._output.put_nowait(None)

    async def read(self) -> tuple[int, bytes] | None:
        return await self._output.get()

    async def write(self, data: bytes) -> None:
        if self.stdin_closed:
            return
        self.stdin += data
        if self.reply.echo_stdin and data:
            self._output.put_nowait((STDOUT, data))

    async def close_stdin(self) -> None:
        if not self.stdin_closed and self.reply.echo_stdin:
            self._output.put_nowait(None)
        self.stdin_closed = True

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def exit_code(self) -> int | None:
        return self.reply.code

    async def close(self) -> None:
        self.closed = True
