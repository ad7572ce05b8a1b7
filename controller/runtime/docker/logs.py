"""A container's log through Docker's `/containers/{id}/logs`: stdout and stderr merged, in order.

aiodocker's `DockerContainer.log` decodes every frame to text (a line split across frames or not
UTF-8 comes out mangled) and inspects the container on its own, without a deadline. This module
calls the raw endpoint through aiodocker's query helper instead and reads the bytes itself.

Traps:

* **Frames.** Without a TTY the engine multiplexes stdout and stderr: each frame is an 8-byte
  header (stream 1 or 2, three zero bytes, the payload length as a big-endian uint32) and the
  payload. Frames come in the order written, which is the merged order the kubelet gives; the
  stream byte is dropped. With a TTY the body is the raw terminal output. Which one it is comes
  from the container's `Config.Tty`, read by an inspect first (under the call deadline).
* **Deadlines.** Opening the stream (inspect, request, response headers) runs under the call
  deadline like every call. Without `follow` each read also has the call deadline, so a hung
  engine cannot hold a reader forever. With `follow` reads wait as long as the container runs:
  the stream ends when the engine ends it (the container stopped) or when the reader closes the
  iterator, which closes the HTTP response and so the engine's side.
* **aiohttp timeouts.** The client's session timeout bounds connection set-up only (see `calls`);
  the request gets a `ClientTimeout` with no total, so aiohttp never cuts a long follow.
* **since.** Docker takes a UNIX time with a fraction (`1700000000.123456789`); lines written at
  exactly that time are included, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiodocker.exceptions import DockerError

from controller.model.errors import RuntimeFailure
from controller.model.logs import LogOptions
from controller.model.meta import ContainerId
from controller.runtime.docker.calls import DockerCalls, _docker_message

HEADER = struct.Struct(">BxxxL")
"""A multiplexed frame's header: stream (0 stdin, 1 stdout, 2 stderr), padding, payload length."""

READ_SIZE = 64 * 1024


def log_params(options: LogOptions) -> dict[str, Any]:
    """Query parameters of Docker's logs endpoint for `options` (both streams, always)."""
    params: dict[str, Any] = {
        "stdout": "1",
        "stderr": "1",
        "follow": "1" if options.follow else "0",
        "timestamps": "1" if options.timestamps else "0",
        "tail": "all" if options.tail_lines is None else str(options.tail_lines),
    }
    if options.since is not None:
        params["since"] = f"{options.since:.9f}"
    return params


class FrameReader:
    """Multiplexed frames -> payload bytes, whatever the chunking of the body."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        """The payloads completed by `data`, in order; a partial frame waits for more."""
        self._buffer += data
        out = []
        while len(self._buffer) >= HEADER.size:
            _stream, size = HEADER.unpack_from(self._buffer)
            end = HEADER.size + size
            if len(self._buffer) < end:
                break
            out.append(self._buffer[HEADER.size : end])
            self._buffer = self._buffer[end:]
        return b"".join(out)


async def container_logs(
    calls: DockerCalls, container_id: ContainerId, options: LogOptions
) -> AsyncIterator[bytes]:
    """The port's `container_logs` on one engine (see the module docstring)."""
    data = await calls.inspect_raw(container_id)
    if data is None:
        raise RuntimeFailure(f"{calls.node}: no such container: {container_id}")
    tty = bool((data.get("Config") or {}).get("Tty"))
    path = f"containers/{container_id}/logs"
    params = log_params(options)
    try:
        response = await calls.call(
            f"logs of container {container_id}",
            lambda d: d._do_query(
                path, "GET", params=params, timeout=aiohttp.ClientTimeout(total=None)
            ),
        )
    except DockerError as exc:
        raise RuntimeFailure(
            f"{calls.node}: logs of container {container_id}: {_docker_message(exc)}"
        ) from exc
    frames = None if tty else FrameReader()
    deadline = None if options.follow else calls.settings.call_timeout_seconds
    try:
        while True:
            async with asyncio.timeout(deadline):
                chunk = await response.content.readany()
            if not chunk:
                return
            payload = chunk if frames is None else frames.feed(chunk)
            if payload:
                yield payload
    except TimeoutError as exc:
        raise RuntimeFailure(
            f"{calls.node}: logs of container {container_id}: the engine stopped sending"
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise RuntimeFailure(
            f"{calls.node}: logs of container {container_id}: connection lost: {exc!r}"
        ) from exc
    finally:
        response.close()
