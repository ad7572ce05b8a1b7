"""Container probes on one Docker engine: `exec` inside the container, `http_get` and `tcp_socket`
from the controller's host to the pod's IP.

`DockerRuntime.run_probe` hands over to `run_probe`. It is separate because a probe's failures are
results, not errors: a non-zero exit, a refused connection, a timeout or a status of 400 and more
all become `ProbeResult(False, message)`, with the message the kubelet would give (built from the
Python error where the kubelet prints Go's), so a pod's events read as they do on Kubernetes. Only
an engine that cannot be reached raises, as every call does (`DockerCalls.call`).

Traps this module deals with:

* **Whose container.** The container is inspected first: one that is gone, not Podyard's (no
  identity labels) or not running (paused and restarting included) is a failed probe, and an exec
  is never started in a container Podyard does not own.
* **The timeout bounds the whole run**: exec create, the attached output, the exit code; the
  request and its headers; the connection. An exec that outlives it is reported as timed out, but
  its process runs on inside the container until it ends by itself: Docker has no call to kill an
  exec (the kubelet on dockershim had the same limit).
* **Bounded output.** At most `MAX_OUTPUT_BYTES` of an exec's output (stdout and stderr as they
  come) or of a redirect's body is kept, as the kubelet keeps; the rest is read and dropped, so a
  chatty command cannot block on a full pipe.
* **Exit code race.** The end of the attached stream can come just before the engine records the
  exit; the exec is re-inspected until it no longer runs.
* **HTTP as the kubelet sends it**: no proxy from the environment, certificates not verified for
  HTTPS, redirects not followed (a 3xx is a success, reported with its body), `User-Agent` and
  `Accept` defaults that the probe's own headers replace, and a `Host` header that overrides the
  host. The connection is never reused between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError
from aiodocker.execs import Exec

from controller.model import labels
from controller.model.meta import ContainerId
from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    ProbeAction,
    ProbeResult,
)
from controller.runtime.docker.calls import NO_CONNECTION, DockerCalls, _docker_message
from controller.runtime.docker.json import _mapping, _str_labels

__all__ = ["MAX_OUTPUT_BYTES", "USER_AGENT", "run_probe"]

MAX_OUTPUT_BYTES = 10 * 1024
"""Output of an exec (or body of a redirect) kept for the message: the kubelet's 10 KiB."""

USER_AGENT = "kube-probe/podyard"
"""The kubelet sends `kube-probe/<version>`; applications that skip logging probes match the
prefix."""

EXIT_POLL_SECONDS = 0.01
"""Pause between inspections of an exec whose output ended but whose exit is not recorded yet."""


async def run_probe(
    calls: DockerCalls,
    container_id: ContainerId,
    pod_ip: str,
    action: ProbeAction,
    seconds: float,
) -> ProbeResult:
    """One run of a probe of `container_id`, bounded by `seconds`; see the module docstring for
    what fails how."""
    refusal = await _refusal(calls, container_id)
    if refusal is not None:
        return ProbeResult(False, refusal)
    if isinstance(action, ExecAction):
        return await run_exec(calls, container_id, action.command, seconds)
    port = action.port.value
    if not isinstance(port, int):
        return ProbeResult(False, f"port {port!r} is not a number")
    host = action.host or pod_ip
    if not host:
        return ProbeResult(False, "the pod has no IP address")
    if isinstance(action, HTTPGetAction):
        return await http_get(action, host, port, seconds)
    return await tcp_socket(host, port, seconds)


# -- whose container ------------------------------------------------------------------------------


async def _refusal(calls: DockerCalls, container_id: ContainerId) -> str | None:
    """Why the container may not be probed (gone, not Podyard's, not running), or None."""
    data = await calls.inspect_raw(container_id)
    if data is None:
        return f"container {container_id} not found"
    inspected = _mapping(data)
    name = str(inspected.get("Name") or container_id).lstrip("/")
    config = _mapping(inspected.get("Config"))
    if labels.identity_from_labels(_str_labels(config.get("Labels"))) is None:
        return f"container {name} is not managed by Podyard"
    status = str(_mapping(inspected.get("State")).get("Status") or "unknown")
    if status != "running":
        return f"container {name} is not running ({status})"
    return None


# -- exec -----------------------------------------------------------------------------------------


async def run_exec(
    calls: DockerCalls, container_id: ContainerId, command: Sequence[str], seconds: float
) -> ProbeResult:
    """Run `command` in the container; success is exit code 0, the message its output."""
    if not command:
        return ProbeResult(False, "exec probe has no command")
    shown = _go_quote(" ".join(command))

    async def attempt(docker: aiodocker.Docker) -> ProbeResult:
        try:
            async with asyncio.timeout(seconds):
                return await _exec(docker, container_id, command)
        except TimeoutError:
            return ProbeResult(False, f"command {shown} timed out")
        except DockerError as exc:
            if exc.status == NO_CONNECTION:  # the deadline wrapper makes it EngineUnavailable
                raise
            return ProbeResult(False, f"command {shown} failed: {_docker_message(exc)}")

    # The probe's own timeout fires first; the wrapper's deadline only adds the usual mapping of
    # an engine that cannot be reached.
    deadline = seconds + calls.settings.call_timeout_seconds
    return await calls.call(f"exec probe in container {container_id}", attempt, deadline=deadline)


async def _exec(
    docker: aiodocker.Docker, container_id: ContainerId, command: Sequence[str]
) -> ProbeResult:
    execution = await docker.containers.container(container_id).exec(
        list(command), stdout=True, stderr=True, stdin=False, tty=False
    )
    output = await _attached_output(execution)
    code = await _exit_code(execution)
    text = output.decode("utf-8", errors="replace").strip()
    if code == 0:
        return ProbeResult(True, text)
    return ProbeResult(False, text or f"command {_go_quote(' '.join(command))} exited with {code}")


async def _attached_output(execution: Exec) -> bytes:
    """stdout and stderr in arrival order, the first MAX_OUTPUT_BYTES of them; the rest dropped."""
    kept = bytearray()
    async with execution.start(detach=False) as stream:
        while (message := await stream.read_out()) is not None:
            room = MAX_OUTPUT_BYTES - len(kept)
            if room > 0:
                kept += message.data[:room]
    return bytes(kept)


async def _exit_code(execution: Exec) -> int | None:
    while True:
        info: dict[str, Any] = await execution.inspect()
        if not info.get("Running"):
            code = info.get("ExitCode")
            return code if isinstance(code, int) else None
        await asyncio.sleep(EXIT_POLL_SECONDS)


# -- http_get -------------------------------------------------------------------------------------


async def http_get(action: HTTPGetAction, host: str, port: int, seconds: float) -> ProbeResult:
    """GET the action's URL; success is a status from 200 to 399."""
    address = _host_port(host, port)
    path = action.path if action.path.startswith("/") else f"/{action.path}"
    url = f"{action.scheme.value.lower()}://{address}{path}"
    try:
        async with asyncio.timeout(seconds):
            return await _get(url, _request_headers(action))
    except TimeoutError:
        reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    except aiohttp.ClientConnectorError as exc:
        reason = _dial_error(host, address, exc.os_error)
    except aiohttp.ServerDisconnectedError:
        reason = "EOF"
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
    return ProbeResult(False, f"Get {_go_quote(url)}: {reason}")


def _request_headers(action: HTTPGetAction) -> list[tuple[str, str]]:
    """The probe's headers (a name may repeat) over the kubelet's defaults; `Host` is sent once,
    the last one given."""
    headers: list[tuple[str, str]] = []
    for header in action.http_headers:
        if header.name.lower() == "host":
            headers = [(name, value) for name, value in headers if name.lower() != "host"]
        headers.append((header.name, header.value))
    given = {name.lower() for name, _value in headers}
    defaults = [("User-Agent", USER_AGENT), ("Accept", "*/*")]
    return headers + [(name, value) for name, value in defaults if name.lower() not in given]


async def _get(url: str, headers: list[tuple[str, str]]) -> ProbeResult:
    # ssl=False: HTTPS without certificate checks, as the kubelet. force_close: a new connection
    # per run, as the kubelet disables keep-alive for probes.
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False) as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        status = response.status
        if 200 <= status < 300:
            return ProbeResult(True)
        if 300 <= status < 400:
            body = await response.content.read(MAX_OUTPUT_BYTES)
            text = body.decode("utf-8", errors="replace")
            return ProbeResult(True, f"Probe terminated redirects, Response body: {text}")
        return ProbeResult(False, f"HTTP probe failed with statuscode: {status}")


# -- tcp_socket -----------------------------------------------------------------------------------


async def tcp_socket(host: str, port: int, seconds: float) -> ProbeResult:
    """Open (and at once close) a TCP connection; success is that it opens."""
    address = _host_port(host, port)
    try:
        async with asyncio.timeout(seconds):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {address}: i/o timeout")
    except OSError as exc:
        return ProbeResult(False, _dial_error(host, address, exc))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True)


# -- messages -------------------------------------------------------------------------------------


def _host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets, as Go's net.JoinHostPort writes it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_error(host: str, address: str, error: OSError) -> str:
    """Go's text of a failed dial: `dial tcp 10.0.0.5:80: connect: connection refused`."""
    if isinstance(error, ssl.SSLError):
        return _tls_error(error)
    if isinstance(error, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if error.errno in (errno.ETIMEDOUT,):
        return f"dial tcp {address}: i/o timeout"
    if error.errno:
        reason = os.strerror(error.errno)
        return f"dial tcp {address}: connect: {reason[:1].lower()}{reason[1:]}"
    return f"dial tcp {address}: {error}"


def _tls_error(error: ssl.SSLError) -> str:
    """A failed TLS handshake; its errno is OpenSSL's, not the system's, so it says nothing."""
    if error.reason == "WRONG_VERSION_NUMBER":  # the port speaks plain HTTP
        return "http: server gave HTTP response to HTTPS client"
    reason = str(error.reason or error).lower().replace("_", " ")
    return f"remote error: tls: {reason}"


def _go_quote(text: str) -> str:
    """A string quoted as Go's %q does, near enough for messages (JSON escapes match for text)."""
    return json.dumps(text, ensure_ascii=False)
