"""A container runtime that times every call: operations, errors and latency per node.

It wraps the runtime port rather than living in the Docker adapter, so the fake runtime of the engine
tests reports the same series as the real one, and the adapter stays free of metrics. A call counts as
an error when it raises (a name conflict or a refused pull included, as the kubelet counts them); a
cancelled call is neither a success nor an error and is not counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from controller.engine.ports import ContainerRuntime, MetricsSink
from controller.model.execs import ExecRequest, ExecSession
from controller.model.lease import LeaseHolder, LeaseRecord
from controller.model.logs import LogOptions
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import (
    NodeCapacity,
    ObservedContainer,
    ObservedVolume,
    RuntimeEvent,
)
from controller.model.plan import ContainerConfig, EnsureVolume
from controller.model.pod import PullPolicy
from controller.model.probes import ProbeAction, ProbeResult

T = TypeVar("T")


class MeteredRuntime:
    """Delegates to `inner` and reports each call to `metrics`.

    Durations come from the monotonic clock: they measure elapsed time, not wall time, and the engine's
    injected clock (which a test may freeze) must not turn them all into zero.
    """

    def __init__(self, inner: ContainerRuntime, metrics: MetricsSink) -> None:
        self.inner = inner
        self._metrics = metrics

    @property
    def node(self) -> NodeName:
        return self.inner.node

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.monotonic()
        try:
            result = await call
        except asyncio.CancelledError:
            raise
        except Exception:
            self._metrics.runtime_called(self.node, operation, time.monotonic() - started, False)
            raise
        self._metrics.runtime_called(self.node, operation, time.monotonic() - started, True)
        return result

    async def ping(self) -> None:
        await self._timed("ping", self.inner.ping())

    async def capacity(self) -> NodeCapacity:
        return await self._timed("capacity", self.inner.capacity())

    async def prepare_pause_image(self, configured: str) -> str:
        return await self._timed("prepare_pause_image", self.inner.prepare_pause_image(configured))

    async def list_containers(self) -> list[ObservedContainer]:
        return await self._timed("list_containers", self.inner.list_containers())

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        return await self._timed("inspect_container", self.inner.inspect_container(container_id))

    async def list_volumes(self) -> list[ObservedVolume]:
        return await self._timed("list_volumes", self.inner.list_volumes())

    async def list_claim_volumes(self) -> dict[str, str]:
        return await self._timed("list_claim_volumes", self.inner.list_claim_volumes())

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        await self._timed("ensure_image", self.inner.ensure_image(image, policy))

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        return await self._timed("create_container", self.inner.create_container(config))

    async def start_container(self, container_id: ContainerId) -> None:
        await self._timed("start_container", self.inner.start_container(container_id))

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None:
        await self._timed("stop_container", self.inner.stop_container(container_id, grace_seconds))

    async def remove_container(self, container_id: ContainerId) -> None:
        await self._timed("remove_container", self.inner.remove_container(container_id))

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        await self._timed("ensure_volume", self.inner.ensure_volume(volume))

    async def remove_volume(self, docker_name: str) -> None:
        await self._timed("remove_volume", self.inner.remove_volume(docker_name))

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the port's name; the probe enforces it
    ) -> ProbeResult:
        """A failed probe is a result, so it counts as a successful call; only a raise is an
        error."""
        return await self._timed(
            "run_probe", self.inner.run_probe(container_id, pod_ip, action, timeout)
        )

    async def exec_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        """Times the start of the session only: the command runs as long as it likes."""
        return await self._timed("exec_session", self.inner.exec_session(container_id, request))

    async def attach_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        return await self._timed("attach_session", self.inner.attach_session(container_id, request))

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        return await self._timed("create_lease", self.inner.create_lease(holder, duration_seconds))

    async def read_lease(self) -> LeaseRecord | None:
        return await self._timed("read_lease", self.inner.read_lease())

    async def renew_lease(self, container_id: ContainerId) -> bool:
        return await self._timed("renew_lease", self.inner.renew_lease(container_id))

    async def remove_lease(self, container_id: ContainerId) -> None:
        await self._timed("remove_lease", self.inner.remove_lease(container_id))

    def container_logs(
        self, container_id: ContainerId, options: LogOptions
    ) -> AsyncIterator[bytes]:
        """A stream, like `events`: open as long as its reader wants, so not timed as a call."""
        return self.inner.container_logs(container_id, options)

    def events(self) -> AsyncIterator[RuntimeEvent]:
        return self.inner.events()

    async def close(self) -> None:
        await self.inner.close()
