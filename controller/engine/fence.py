"""A runtime that refuses every change to the engine while this controller does not hold its lease.

Leadership (leadership.py) stops the engine when a renewal finds the lease lost. But a controller
whose whole process was frozen (SIGSTOP, a swapped-out VM) wakes with every timer due at once: a
pod worker may run before the lease task has looked, and act on an engine that another controller
took over meanwhile. The fence closes that gap: each call that changes the engine first asks
`may_act` (the lease is held and its renew deadline, on the local monotonic clock, has not
passed), and raises `EngineUnavailable` otherwise, so the engine treats it as a node it cannot
reach: it retries with backoff and decides nothing from it.

Reads (lists, inspects, events, probes, container logs) pass: they change nothing. So does a
user's exec (`kubectl exec`): it runs inside a container and changes no container the controller
tracks. A call already sent when the deadline passes cannot be recalled; the holder's deadline is
shorter than any observer's wait for exactly that reason (see lease.py).
"""

from __future__ import annotations

from collections.abc import Callable

from controller.engine.passthrough import PassThroughRuntime
from controller.engine.ports import ContainerRuntime
from controller.model.errors import EngineUnavailable
from controller.model.meta import ContainerId
from controller.model.plan import ContainerConfig, EnsureVolume


class FencedRuntime(PassThroughRuntime):
    """Reads pass through; every change first asks `may_act`."""

    def __init__(self, inner: ContainerRuntime, may_act: Callable[[], bool]) -> None:
        super().__init__(inner)
        self._may_act = may_act

    def _check(self, what: str) -> None:
        if not self._may_act():
            raise EngineUnavailable(
                f"{self.node}: refusing to {what}: this controller does not hold the engine's lease"
            )

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
