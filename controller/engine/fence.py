"""A runtime that refuses every change to the engine while this controller does not hold its lease.

Leadership (leadership.py) stops the engine when a renewal finds the lease lost. But a controller
whose whole process was frozen (SIGSTOP, a swapped-out VM) wakes with every timer due at once: a
pod worker may run before the lease task has looked, and act on an engine that another controller
took over meanwhile. The fence closes that gap: each call that changes the engine first asks
`may_act` (the lease is held and its renew deadline, on the local monotonic clock, has not
passed), and raises `EngineUnavailable` otherwise, so the engine treats it as a node it cannot
reach: it retries with backoff and decides nothing from it.

Reads (lists, inspects, events, probes) pass: they change nothing. A call already sent when the
deadline passes cannot be recalled; the holder's deadline is shorter than any observer's wait for
exactly that reason (see lease.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from controller.engine.ports import ContainerRuntime
from controller.model.errors import EngineUnavailable
from controller.model.lease import LeaseHolder, LeaseRecord
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import NodeCapacity, ObservedContainer, ObservedVolume, RuntimeEvent
from controller.model.plan import ContainerConfig, EnsureVolume
from controller.model.pod import PullPolicy
from controller.model.probes import ProbeAction, ProbeResult


class FencedRuntime:
    def __init__(self, inner: ContainerRuntime, may_act: Callable[[], bool]) -> None:
        self.inner = inner
        self._may_act = may_act

    @property
    def node(self) -> NodeName:
        return self.inner.node

    def _check(self, what: str) -> None:
        if not self._may_act():
            raise EngineUnavailable(
                f"{self.node}: refusing to {what}: this controller does not hold the engine's lease"
            )

    # -- changes: fenced ---------------------------------------------------------------------

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        self._check(f"create container {config.docker_name}")
        return await self.inner.create_container(config)

    async def start_container(self, container_id: ContainerId) -> None:
        self._check(f"start container {container_id}")
        await self.inner.start_container(container_id)

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None:
        self._check(f"stop container {container_id}")
        await self.inner.stop_container(container_id, grace_seconds)

    async def remove_container(self, container_id: ContainerId) -> None:
        self._check(f"remove container {container_id}")
        await self.inner.remove_container(container_id)

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        self._check(f"create volume {volume.docker_name}")
        await self.inner.ensure_volume(volume)

    async def remove_volume(self, docker_name: str) -> None:
        self._check(f"remove volume {docker_name}")
        await self.inner.remove_volume(docker_name)

    # -- everything else: passed through -------------------------------------------------------

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

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        await self.inner.ensure_image(image, policy)

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the port's name; the probe enforces it
    ) -> ProbeResult:
        return await self.inner.run_probe(container_id, pod_ip, action, timeout)

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        return await self.inner.create_lease(holder, duration_seconds)

    async def read_lease(self) -> LeaseRecord | None:
        return await self.inner.read_lease()

    async def renew_lease(self, container_id: ContainerId) -> bool:
        return await self.inner.renew_lease(container_id)

    async def remove_lease(self, container_id: ContainerId) -> None:
        await self.inner.remove_lease(container_id)

    def events(self) -> AsyncIterator[RuntimeEvent]:
        return self.inner.events()

    async def close(self) -> None:
        await self.inner.close()
