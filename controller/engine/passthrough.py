"""A runtime that hands every call of the port to another one: the base of the engine's wrappers.

The engine stacks wrappers on each node's runtime (the lease's fence, the per-node call slots), and
each changes a few calls only. Written out in each of them, the rest of the port was the same
dozens of lines twice, and a method added to the port had to be added everywhere again. A wrapper
subclasses `PassThroughRuntime` and overrides what it changes; the rest reaches `inner` as it is.

Trap: `events` is a plain method returning the inner async iterator (not an async generator of
its own), so a wrapper never holds an engine's event stream open after its consumer left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from controller.engine.ports import ContainerRuntime
from controller.model.execs import ExecRequest, ExecSession
from controller.model.lease import LeaseHolder, LeaseRecord
from controller.model.logs import LogOptions
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import NodeCapacity, ObservedContainer, ObservedVolume, RuntimeEvent
from controller.model.plan import ContainerConfig, EnsureVolume
from controller.model.pod import PullPolicy
from controller.model.probes import ProbeAction, ProbeResult


class PassThroughRuntime:
    """Every call of the port, delegated to `inner`."""

    def __init__(self, inner: ContainerRuntime) -> None:
        self.inner = inner

    @property
    def node(self) -> NodeName:
        return self.inner.node

    async def ping(self) -> None:
        await self.inner.ping()

    async def capacity(self) -> NodeCapacity:
        return await self.inner.capacity()

    async def prepare_pause_image(self, configured: str) -> str:
        return await self.inner.prepare_pause_image(configured)

    async def list_containers(self) -> list[ObservedContainer]:
        return await self.inner.list_containers()

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        return await self.inner.inspect_container(container_id)

    async def list_volumes(self) -> list[ObservedVolume]:
        return await self.inner.list_volumes()

    async def list_claim_volumes(self) -> dict[str, str]:
        return await self.inner.list_claim_volumes()

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        await self.inner.ensure_image(image, policy)

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        return await self.inner.create_container(config)

    async def start_container(self, container_id: ContainerId) -> None:
        await self.inner.start_container(container_id)

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None:
        await self.inner.stop_container(container_id, grace_seconds)

    async def remove_container(self, container_id: ContainerId) -> None:
        await self.inner.remove_container(container_id)

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        await self.inner.ensure_volume(volume)

    async def remove_volume(self, docker_name: str) -> None:
        await self.inner.remove_volume(docker_name)

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the port's name; the probe enforces it
    ) -> ProbeResult:
        return await self.inner.run_probe(container_id, pod_ip, action, timeout)

    async def exec_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        return await self.inner.exec_session(container_id, request)

    async def attach_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        return await self.inner.attach_session(container_id, request)

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        return await self.inner.create_lease(holder, duration_seconds)

    async def read_lease(self) -> LeaseRecord | None:
        return await self.inner.read_lease()

    async def renew_lease(self, container_id: ContainerId) -> bool:
        return await self.inner.renew_lease(container_id)

    async def remove_lease(self, container_id: ContainerId) -> None:
        await self.inner.remove_lease(container_id)

    def container_logs(
        self, container_id: ContainerId, options: LogOptions
    ) -> AsyncIterator[bytes]:
        return self.inner.container_logs(container_id, options)

    def events(self) -> AsyncIterator[RuntimeEvent]:
        return self.inner.events()

    async def close(self) -> None:
        await self.inner.close()
