"""Ports: the Protocols through which the engine reaches the outside world.

Every adapter behind a port has an in-memory twin (runtime/fake.py, FakeClock below) so that the
engine's behaviour is tested without Docker and without waiting. Times are epoch seconds (float).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

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
from controller.model.probes import ProbeAction, ProbeKind, ProbeResult
from controller.model.telemetry import ControllerName, ReconcileResult, RescheduleReason

RELIST = "relist"
"""Action of the synthetic event a runtime yields after (re)connecting its event stream."""


class ContainerRuntime(Protocol):
    """One Docker engine (one node). Every call has a deadline; failures raise model.errors types.

    Only containers carrying Podyard's identity labels are ever returned, stopped or removed.
    """

    @property
    def node(self) -> NodeName: ...

    async def ping(self) -> None: ...

    async def capacity(self) -> NodeCapacity:
        """CPU cores and memory of the engine's host."""
        ...

    async def prepare_pause_image(self, configured: str) -> str:
        """Return the sandbox image to use (the configured one, or a locally built fallback)."""
        ...

    async def list_containers(self) -> list[ObservedContainer]: ...

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        """None when the container is gone or is not Podyard's."""
        ...

    async def list_volumes(self) -> list[ObservedVolume]: ...

    async def list_claim_volumes(self) -> dict[str, str]:
        """PersistentVolumeClaim (`<namespace>/<name>`) -> its volume on this engine."""
        ...

    async def ensure_image(self, image: str, policy: PullPolicy) -> None: ...

    async def create_container(self, config: ContainerConfig) -> ContainerId: ...

    async def start_container(self, container_id: ContainerId) -> None: ...

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None: ...

    async def remove_container(self, container_id: ContainerId) -> None: ...

    async def ensure_volume(self, volume: EnsureVolume) -> None: ...

    async def remove_volume(self, docker_name: str) -> None: ...

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the probe's own timeout, enforced by the runtime
    ) -> ProbeResult:
        """Run one probe of a running container: `exec` inside it, `http_get` / `tcp_socket` to
        `pod_ip` (or the action's host). Named ports are resolved by the caller. A failure,
        timeout included, is a result with `success=False`, never an exception; an engine that
        cannot be reached raises as every call does."""
        ...

    async def exec_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        """Start `request.command` in the running container `container_id`, attached (`kubectl
        exec`); `RuntimeFailure` with the engine's words when the container is not running. The
        session outlives the call's deadline: it lasts as long as the command."""
        ...

    async def attach_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        """Attach to the running container's main process (`kubectl attach`): its output from now
        on (`request.command` is ignored); the session ends when the process does, exit code 0."""
        ...

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        """Create the engine's lease container (`model.lease.LEASE_NAME`) for `holder` and stamp
        it once; `NameConflict` when one exists already (someone holds or held the lease). Never
        pulls: the lease body is a locally built image."""
        ...

    async def read_lease(self) -> LeaseRecord | None:
        """The container named `LEASE_NAME` (whoever made it), or None when there is none."""
        ...

    async def renew_lease(self, container_id: ContainerId) -> bool:
        """Stamp the lease container `container_id` again (by id, never by name); False when
        that container is gone."""
        ...

    async def remove_lease(self, container_id: ContainerId) -> None:
        """Remove the lease container `container_id` (by id: if someone replaced it meanwhile,
        theirs stays); gone already is fine; `NotOurs` for a container that is not a lease."""
        ...

    def container_logs(
        self, container_id: ContainerId, options: LogOptions
    ) -> AsyncIterator[bytes]:
        """The container's output, stdout and stderr merged in the order written, as chunks of
        whole lines. Opening has a deadline; with `options.follow` the stream then stays open
        until the container ends or the reader closes the iterator (`aclose`), otherwise it ends
        after what is written so far. `RuntimeFailure` when there is no such container."""
        ...

    def events(self) -> AsyncIterator[RuntimeEvent]:
        """Endless: reconnects by itself and yields a `RELIST` event after every (re)connect."""
        ...

    async def close(self) -> None: ...


class MetricsSink(Protocol):
    """What the engine reports as it happens: counts and durations (seconds) for the controller's
    own metrics. State (pods, ReplicaSets, nodes) is read at scrape time instead, not pushed here.

    Every method is cheap and never raises; the engine calls them from the event loop.
    """

    def workers(self, controller: ControllerName, maximum: int) -> None:
        """How many reconciles of `controller` may run at once."""
        ...

    def reconcile_started(self, controller: ControllerName) -> None: ...

    def reconciled(
        self, controller: ControllerName, result: ReconcileResult, seconds: float
    ) -> None: ...

    def queue_depth(self, queue: ControllerName, depth: int) -> None: ...

    def queue_added(self, queue: ControllerName) -> None: ...

    def queue_retried(self, queue: ControllerName) -> None: ...

    def queue_waited(self, queue: ControllerName, seconds: float) -> None:
        """An item left the queue for a worker after waiting `seconds` since it was added."""
        ...

    def queue_worked(self, queue: ControllerName, seconds: float) -> None:
        """A worker finished an item after `seconds`."""
        ...

    def runtime_called(self, node: NodeName, operation: str, seconds: float, ok: bool) -> None: ...

    def event_stream_reconnected(self, node: NodeName) -> None: ...

    def relisted(self, node: NodeName, seconds: float, at: float) -> None:
        """A full relist of `node` succeeded at wall time `at` after `seconds`."""
        ...

    def pod_started(self, seconds: float) -> None:
        """A pod's containers all run, `seconds` after its manifest was first seen."""
        ...

    def container_restarted(self, node: NodeName) -> None: ...

    def pod_rescheduled(self, reason: RescheduleReason) -> None: ...

    def probed(self, kind: ProbeKind, result: str) -> None:
        """A probe ran: `result` is successful, failed or unknown (no verdict)."""
        ...

    def task_declared(self, task: str) -> None:
        """A long-running task exists: its error and restart counts start at 0."""
        ...

    def task_error(self, task: str) -> None:
        """A long-running task caught an error and carried on."""
        ...

    def task_restarted(self, task: str) -> None:
        """A supervised task died (raised or returned) and is being restarted."""
        ...


class NoMetrics:
    """A sink that drops everything: the default where nobody scrapes (tests, benchmarks)."""

    def workers(self, controller: ControllerName, maximum: int) -> None:
        pass

    def reconcile_started(self, controller: ControllerName) -> None:
        pass

    def reconciled(
        self, controller: ControllerName, result: ReconcileResult, seconds: float
    ) -> None:
        pass

    def queue_depth(self, queue: ControllerName, depth: int) -> None:
        pass

    def queue_added(self, queue: ControllerName) -> None:
        pass

    def queue_retried(self, queue: ControllerName) -> None:
        pass

    def queue_waited(self, queue: ControllerName, seconds: float) -> None:
        pass

    def queue_worked(self, queue: ControllerName, seconds: float) -> None:
        pass

    def runtime_called(self, node: NodeName, operation: str, seconds: float, ok: bool) -> None:
        pass

    def event_stream_reconnected(self, node: NodeName) -> None:
        pass

    def relisted(self, node: NodeName, seconds: float, at: float) -> None:
        pass

    def pod_started(self, seconds: float) -> None:
        pass

    def container_restarted(self, node: NodeName) -> None:
        pass

    def pod_rescheduled(self, reason: RescheduleReason) -> None:
        pass

    def probed(self, kind: ProbeKind, result: str) -> None:
        pass

    def task_declared(self, task: str) -> None:
        pass

    def task_error(self, task: str) -> None:
        pass

    def task_restarted(self, task: str) -> None:
        pass


class Clock(Protocol):
    """Wall time for decisions and timers; the engine never calls time.time() directly."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` at wall time `when` (or soon after); returns a cancel function."""
        ...


class SystemClock:
    """The real clock: timers ride on the running event loop."""

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> Callable[[], None]:
        handle = asyncio.get_running_loop().call_later(max(0.0, when - time.time()), callback)
        return handle.cancel


class FakeClock:
    """A clock that moves only when told to; `advance` fires due timers in time order."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Callable[[], None]:
        seq = next(self._seq)
        heapq.heappush(self._timers, (when, seq, callback))
        return lambda: self._cancelled.add(seq)

    def next_timer(self) -> float | None:
        """When the earliest live timer is due, or None."""
        while self._timers and self._timers[0][1] in self._cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward, firing each due timer with the clock set to its due time."""
        target = self._now + seconds
        while (due := self.next_timer()) is not None and due <= target:
            _, _seq, callback = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            callback()
        self._now = target
