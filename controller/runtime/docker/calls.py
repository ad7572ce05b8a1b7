"""`DockerCalls`: one engine connection, and the deadline and error mapping of every call on it.

`DockerRuntime` is built on this class; the event stream and the image handling use it through the
same instance. It is separate so that the rules every Docker call follows (how the client is made,
how long a call may take, which failures mean "the engine is unavailable") live in one place and are
read before any single call. aiodocker's exceptions that mean "no engine" become
`EngineUnavailable` here; every other `DockerError` passes through for the caller to map.

Traps this module deals with:

* **Deadlines.** Every non-streaming call runs under `asyncio.timeout(call_timeout_seconds)`;
  `stop` gets the grace period on top (the engine answers only once the container is down), a pull
  gets `ImagePullSettings.pull_timeout_seconds`. A deadline hit or a failed connection (aiodocker
  reports it as `DockerError` status 900) is `EngineUnavailable`. aiodocker's own per-request float
  timeouts are not used (it warns about them); the HTTP session only bounds connection set-up.
* **Addresses.** `unix://`, `tcp://` (TLS client certificates from the node's `tls`) and
  `ssh://` (the docker CLI's `ssh HOST docker system dial-stdio`), see `endpoints`; a failed
  ssh's own words are added to the call's error.
* **DOCKER_HOST.** With no explicit address, aiodocker prefers a Docker *context* (DOCKER_CONTEXT or
  `currentContext` in ~/.docker/config.json) over DOCKER_HOST, unlike the docker CLI; this runtime
  reads DOCKER_HOST itself first so that it wins, as users expect.
* **No connection pool limit.** aiohttp allows a session 100 connections by default, and a stop
  in its grace period, a pull or a probe holds one for as long as it waits: a hundred pods stopping
  at once would leave every other call waiting for a connection, the stall that per-pod workers
  remove. The limit is lifted; the engine's work is bounded by the engine's call slots
  (`controller.engine.slots`), and waits by the number of pods.
* **Lazy client.** The aiodocker client needs a running event loop, so it is made on the first
  call, not in `__init__`; after `close` every call raises `EngineUnavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from controller.config import RuntimeSettings, TlsSettings
from controller.model.errors import EngineUnavailable, RuntimeFailure
from controller.model.meta import NodeName
from controller.runtime.docker.endpoints import open_client
from controller.runtime.docker.sshbridge import SshBridge

T = TypeVar("T")

NO_CONNECTION = 900
"""aiodocker's status for "cannot connect to the engine"."""


def _docker_message(exc: DockerError) -> str:
    return str(exc.message or exc).strip()


def _untyped(api: object) -> Any:
    """aiodocker's volume and event APIs carry no annotations, which strict mypy refuses to call."""
    return api


def _unbounded_pool(connector: aiohttp.BaseConnector) -> None:
    """Lift aiohttp's limit of connections per session (see the module docstring). aiodocker makes
    the connector itself (from the address), and aiohttp offers no setter for its limit."""
    if hasattr(connector, "_limit"):
        connector._limit = 0


class DockerCalls:
    """One Docker engine's client and the deadline wrapper around every call made on it."""

    def __init__(
        self,
        node: NodeName,
        settings: RuntimeSettings,
        docker_host: str | None = None,
        tls: TlsSettings | None = None,
    ) -> None:
        self._node = node
        self._settings = settings
        self._docker_host = docker_host
        self._tls = tls
        self._docker: aiodocker.Docker | None = None
        self._bridge: SshBridge | None = None
        self._closed = False

    @property
    def node(self) -> NodeName:
        return self._node

    @property
    def settings(self) -> RuntimeSettings:
        return self._settings

    def client(self) -> aiodocker.Docker:
        """The aiodocker client, made on first use (it needs a running event loop)."""
        if self._closed:
            raise EngineUnavailable(f"{self._node}: the runtime is closed")
        if self._docker is None:
            timeout = aiohttp.ClientTimeout(sock_connect=self._settings.call_timeout_seconds)
            try:
                self._docker, self._bridge = open_client(
                    self._docker_host, self._tls, timeout, self._node
                )
            except (ValueError, OSError, DockerError) as exc:
                raise EngineUnavailable(
                    f"{self._node}: no usable Docker engine address: {exc}"
                ) from exc
            _unbounded_pool(self._docker.connector)
        return self._docker

    async def call(
        self,
        what: str,
        call: Callable[[aiodocker.Docker], Awaitable[T]],
        *,
        deadline: float | None = None,
    ) -> T:
        """Run one engine call under a deadline; connection trouble becomes EngineUnavailable.

        Other `DockerError`s (the engine answered 4xx/5xx) pass through for the caller to map.
        """
        seconds = self._settings.call_timeout_seconds if deadline is None else deadline
        docker = self.client()
        try:
            async with asyncio.timeout(seconds):
                return await call(docker)
        except TimeoutError as exc:
            raise EngineUnavailable(
                f"{self._node}: {what}: the Docker engine did not answer within {seconds:g} s"
            ) from exc
        except DockerError as exc:
            if exc.status == NO_CONNECTION:
                said = await self._explain()
                raise EngineUnavailable(
                    f"{self._node}: {what}: {_docker_message(exc)}{said}"
                ) from exc
            raise
        except (aiohttp.ClientError, OSError) as exc:
            said = await self._explain()
            raise EngineUnavailable(
                f"{self._node}: {what}: connection to the Docker engine failed: {exc!r}{said}"
            ) from exc

    async def _explain(self) -> str:
        """What the ssh under a failed call said, as ` (ssh exited ...)`, or ""."""
        said = await self._bridge.explain() if self._bridge is not None else ""
        return f" ({said})" if said else ""

    async def inspect_raw(self, container_id: str) -> dict[str, Any] | None:
        """Docker's inspect JSON, or None when there is no such container."""
        try:
            data = await self.call(
                f"inspect container {container_id}",
                lambda d: d.containers.container(container_id).show(),
            )
        except DockerError as exc:
            if exc.status == 404:
                return None
            raise RuntimeFailure(
                f"inspect of container {container_id} failed: {_docker_message(exc)}"
            ) from exc
        return dict(data)

    async def ping(self) -> None:
        try:
            await self.call("ping", lambda d: d.version())
        except DockerError as exc:
            raise RuntimeFailure(f"{self._node}: ping failed: {_docker_message(exc)}") from exc

    def is_closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True
        docker, self._docker = self._docker, None
        bridge, self._bridge = self._bridge, None
        if docker is not None:
            await docker.close()
            if bridge is not None:  # the bridge's connector is ours, not aiodocker's, to close
                await docker.connector.close()
        if bridge is not None:
            await bridge.close()
