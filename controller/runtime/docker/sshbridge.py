"""An `ssh://` engine reached the way the docker CLI reaches it: `ssh HOST docker system dial-stdio`.

`SshBridge(address, node)` listens on a unix socket of its own; every connection accepted there
runs one `ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio` whose stdin and stdout *are*
that connection (the socket is handed to ssh, nothing is copied here), so aiodocker speaks HTTP to
the remote engine through ssh exactly as the docker CLI does. Only the `ssh` client and `docker`
on the remote host are needed; keys, known hosts and jump hosts come from the user's ssh config.

Traps:
- ssh must never ask a question: a password or host-key prompt would wait forever with no one to
  answer, so ssh runs with `BatchMode=yes` (it fails instead) and a connect timeout; every call
  also has its deadline above this module.
- A dead or failing ssh closes its end of the connection: the call in flight fails at once
  (aiohttp sees the connection drop), it does not hang. ssh's complaint (`Connection refused`,
  `Permission denied`) is logged and added to the failed call's error (`explain`).
- The socket lives in a fresh folder of mode 0700: whoever can connect to it commands the remote
  engine, as root there.
- One ssh process per connection, as the docker CLI does; aiohttp keeps connections alive, so
  few run at once. `close` terminates every one still running and removes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
from urllib.parse import urlsplit

log = logging.getLogger("podyard.runtime")

STDERR_KEPT = 2048
"""Bytes of an ssh process's error output kept for the log and `last_error`."""
EXPLAIN_WAIT_SECONDS = 0.2
"""How long a failed call waits for the ssh that dropped it to be reaped and its words read."""
RECENT_SECONDS = 5.0
"""An ssh failure older than this (seconds) does not explain a call's failure."""
STOP_SECONDS = 2.0
"""How long `close` waits for ssh processes to end after SIGTERM before it kills them."""


def ssh_command(address: str, ssh: str = "ssh") -> list[str]:
    """The docker CLI's command for `ssh://[user@]host[:port]`; ValueError if it is not one."""
    url = urlsplit(address)
    if url.scheme != "ssh" or not url.hostname or url.path not in ("", "/") or url.password:
        raise ValueError(f"not an ssh://[USER@]HOST[:PORT] address: {address!r}")
    command = [ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-T"]
    if url.username:
        command += ["-l", url.username]
    if url.port is not None:
        command += ["-p", str(url.port)]
    return [*command, "--", url.hostname, "docker", "system", "dial-stdio"]


class SshBridge:
    """A local unix socket in front of one ssh engine; `start` needs the running loop."""

    def __init__(self, address: str, node: str, ssh: str = "ssh") -> None:
        self._command = ssh_command(address, ssh)
        self._node = node
        self._folder = tempfile.mkdtemp(prefix="podyard-ssh-")  # mode 0700
        self.path = os.path.join(self._folder, "docker.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._accepting: asyncio.Task[None] | None = None
        self._children: set[asyncio.subprocess.Process] = set()
        self._reapers: set[asyncio.Task[None]] = set()
        self.last_error = ""
        """What the last failed ssh said (or why it could not run); "" until one failed."""
        self._failed_at = 0.0

    def start(self) -> None:
        """Begin accepting; a connection made before that waits in the listen backlog."""
        if self._accepting is None:
            self._accepting = asyncio.get_running_loop().create_task(
                self._accept(), name=f"ssh-bridge-{self._node}"
            )

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            connection, _ = await loop.sock_accept(self._listener)
            try:
                child = await asyncio.create_subprocess_exec(
                    *self._command,
                    stdin=connection.fileno(),
                    stdout=connection.fileno(),
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,  # a Ctrl-C meant for the controller is not ssh's
                )
            except OSError as exc:
                self._failed(f"cannot run {self._command[0]}: {exc}")
                log.error("node %s: %s", self._node, self.last_error)
                continue
            finally:
                connection.close()  # ssh holds it now; a failed start drops the caller at once
            self._children.add(child)
            reaper = loop.create_task(self._reap(child))
            self._reapers.add(reaper)
            reaper.add_done_callback(self._reapers.discard)

    async def _reap(self, child: asyncio.subprocess.Process) -> None:
        kept = b""
        try:
            assert child.stderr is not None
            while chunk := await child.stderr.read(4096):
                kept = (kept + chunk)[:STDERR_KEPT]
            code = await child.wait()
        finally:
            self._children.discard(child)
        if code > 0:  # killed by a signal (< 0): closed by us or by its connection's end
            said = kept.decode("utf-8", "replace").strip() or "no message"
            self._failed(f"ssh exited with status {code}: {said}")
            log.warning("node %s: %s", self._node, self.last_error)

    def _failed(self, message: str) -> None:
        self.last_error = message
        self._failed_at = time.monotonic()

    async def explain(self) -> str:
        """Why a call through the bridge just failed, in ssh's words, or "".

        The call fails as soon as ssh closes the connection, a moment before its exit is reaped
        and its error output read: wait briefly for that (healthy ssh processes keep running,
        so this can take the whole `EXPLAIN_WAIT_SECONDS`)."""
        if self._reapers:
            await asyncio.wait(
                list(self._reapers),
                timeout=EXPLAIN_WAIT_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
        recent = time.monotonic() - self._failed_at < RECENT_SECONDS
        return self.last_error if recent else ""

    async def close(self) -> None:
        """Stop accepting, end every ssh process, remove the socket and its folder."""
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        self._listener.close()
        children = list(self._children)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        for child in children:
            try:
                await asyncio.wait_for(child.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
        for reaper in list(self._reapers):
            reaper.cancel()
        shutil.rmtree(self._folder, ignore_errors=True)
