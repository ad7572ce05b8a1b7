"""A container runtime whose calls that do work share a fixed number of slots per engine.

Every pod has its own worker (see `podworkers`), so nothing else bounds how many calls reach one
engine at once: 500 pods coming up together would open 500 requests to a daemon that does its best
with about 4 pods' worth of work at a time on 2 cores. This wrapper gives each node
`RuntimeSettings.calls_per_node` slots; a call takes one for as long as the engine works on it.

Which calls take a slot is the point of the module. A slot is for engine *work*; a call whose
length is set by something else than the engine's work must not hold one, or a few such calls
would stall every pod on the node (six pods in their termination grace period used to stall all
others):

- in a slot: ping, capacity, list_containers (the whole relist, its inspects included),
  inspect_container, list_volumes, create_container, start_container, remove_container (a forced
  removal kills at once), ensure_volume, remove_volume;
- outside: `stop_container` (SIGTERM, then the grace period: up to
  `terminationGracePeriodSeconds` of waiting for the process), `ensure_image` (a cached presence
  check, or a pull waiting on a registry for minutes), `prepare_pause_image` (a pull or a build,
  once per node), `run_probe` (as long as the user's command or server takes, up to the probe's
  `timeoutSeconds`), `exec_session` and `attach_session` (a user's, open as long as they like),
  `events` (a stream open forever), `container_logs` (a follow stays open as long as its
  reader), `close`.

The calls outside are bounded by their own deadlines (grace plus call timeout, pull timeout,
probe timeout) and by the number of pods, not by the slots; the Docker adapter lifts aiohttp's
limit of 100 connections for the same reason (a hundred waiting stops would otherwise hold every
connection).

Traps: a call waiting for a slot is waiting on a busy or hung engine; it gives up with
`EngineUnavailable` once no call to the engine was answered for `call_timeout_seconds` (see
`callslots`: a long queue at bring-up is not a dead engine), so on a hung engine a caller is never
blocked past two call deadlines. The relist's listings, ping and capacity are urgent: served before
any pod's call, or hundreds of pods coming up would delay the node's heartbeat. The call's coroutine
is made only once a slot is held (a factory, not a coroutine), so a call that gave up leaves no
coroutine never awaited behind. Wrap the metered runtime, not the other way round: the runtime's
duration metrics then measure the engine, not the wait for a slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from controller.engine.callslots import CallSlots, NoSlot
from controller.engine.passthrough import PassThroughRuntime
from controller.engine.ports import ContainerRuntime
from controller.engine.renewalgate import RenewalGate
from controller.model.errors import EngineUnavailable
from controller.model.meta import ContainerId
from controller.model.observed import NodeCapacity, ObservedContainer, ObservedVolume
from controller.model.plan import ContainerConfig, EnsureVolume

T = TypeVar("T")


class SlottedRuntime(PassThroughRuntime):
    """Delegates to `inner`; calls that do work wait for one of `slots` first. The others (a stop
    in its grace period, a pull, a probe, the event stream, the lease's calls) pass through: they
    mostly wait, and a lease renewal queued behind pod work could expire under load. While a
    renewal is slow anyway (the engine itself is saturated), `gate` holds the pod calls back."""

    def __init__(
        self,
        inner: ContainerRuntime,
        slots: int,
        wait_seconds: float,
        gate: RenewalGate | None = None,
    ) -> None:
        super().__init__(inner)
        self.slots = slots
        self._slots = CallSlots(slots, wait_seconds, gate)
        self._wait_seconds = wait_seconds
        self.in_flight = 0
        """Calls holding a slot right now."""

    async def _in_slot(
        self, what: str, call: Callable[[], Awaitable[T]], *, urgent: bool = False
    ) -> T:
        try:
            await self._slots.acquire(urgent=urgent)
        except NoSlot:
            raise EngineUnavailable(
                f"{self.node}: {what}: no free call slot: the engine answered no call for "
                f"{self._wait_seconds:g} s ({self.slots} calls already in flight)"
            ) from None
        self.in_flight += 1
        answered = False
        try:
            result = await call()
            answered = True
            return result
        except EngineUnavailable:
            raise
        except Exception:
            answered = True  # a refusal is an answer: the engine works
            raise
        finally:
            self.in_flight -= 1
            self._slots.release(answered=answered)

    # -- in a slot: the engine works -------------------------------------------------------------

    async def ping(self) -> None:
        await self._in_slot("ping", self.inner.ping, urgent=True)

    async def capacity(self) -> NodeCapacity:
        return await self._in_slot("capacity", self.inner.capacity, urgent=True)

    async def list_containers(self) -> list[ObservedContainer]:
        return await self._in_slot("list containers", self.inner.list_containers, urgent=True)

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        return await self._in_slot(
            f"inspect {container_id}", lambda: self.inner.inspect_container(container_id)
        )

    async def list_volumes(self) -> list[ObservedVolume]:
        return await self._in_slot("list volumes", self.inner.list_volumes, urgent=True)

    async def list_claim_volumes(self) -> dict[str, str]:
        return await self._in_slot("list claim volumes", self.inner.list_claim_volumes, urgent=True)

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        return await self._in_slot(
            f"create {config.docker_name}", lambda: self.inner.create_container(config)
        )

    async def start_container(self, container_id: ContainerId) -> None:
        await self._in_slot(
            f"start {container_id}", lambda: self.inner.start_container(container_id)
        )

    async def remove_container(self, container_id: ContainerId) -> None:
        await self._in_slot(
            f"remove {container_id}", lambda: self.inner.remove_container(container_id)
        )

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        await self._in_slot(
            f"ensure volume {volume.docker_name}", lambda: self.inner.ensure_volume(volume)
        )

    async def remove_volume(self, docker_name: str) -> None:
        await self._in_slot(
            f"remove volume {docker_name}", lambda: self.inner.remove_volume(docker_name)
        )
