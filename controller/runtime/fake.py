"""An in-memory Docker engine for fast, deterministic tests of the engine logic.

It keeps Docker's rules that matter to the lifecycle: names are unique (a second create collides),
a container runs until it exits or is stopped, stop of a running container ends it with 143, start of
a missing executable fails with the container left "created" and an error, a host port that a
running container or an outside process (`held_ports`) already binds fails the start the same way,
unlabelled ("foreign")
containers are invisible and refuse stop/remove. Time comes from the injected clock; scripted exits
(`behaviour`) fire on clock timers, so tests move time instead of sleeping. Probes succeed on a
running container and fail on any other, unless `probe_results` scripts them; an exec (a probe's or
a lifecycle hook's) can be scripted by its command (`commands`: a result after some clock time),
and every exec is logged with its clock time (`execs`).

A pod with pod-level resources is placed as on a real engine: its sandbox under `/podyard`, its
containers under the sandbox (`cgroup_parent` of a record), or refused with the real engine's
reason when `cgroup_driver`/`cgroup_version` say the node cannot.

Every operation is recorded in `calls`, so tests can assert what was (not) done. `faults` makes
an operation raise what a test chooses (a bug's exception, not only the engine's errors), and
`ignores_term` makes a container's stop wait out its whole grace period on the clock, as a process
that traps SIGTERM does.

The engine lease is one record (`lease`), created only when absent (as Docker's unique names do),
renewed by id (each renewal a new stamp, as `StartedAt` is) and removed by id. Two controllers on
one engine share one FakeRuntime; `down` makes the lease calls fail like every other call.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Protocol

import attrs

from controller.model import labels
from controller.model.errors import (
    ConfigRefused,
    CreateFailed,
    EngineUnavailable,
    ImageNeverPull,
    ImagePullFailed,
    NameConflict,
    NotOurs,
    RuntimeFailure,
    StartFailed,
)
from controller.model.execs import ExecRequest
from controller.model.lease import LEASE_NAME, LeaseHolder, LeaseRecord
from controller.model.lifecycle import handler_from_label
from controller.model.logs import LogOptions, rfc3339_nano
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import (
    ContainerRole,
    HostPort,
    NodeCapacity,
    ObservedContainer,
    ObservedVolume,
    RunState,
    RuntimeEvent,
)
from controller.model.plan import ContainerConfig, EnsureVolume
from controller.model.pod import PullPolicy
from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    ProbeAction,
    ProbeResult,
)
from controller.runtime.docker.cgroups import POD_CGROUP_ROOT, pod_cgroup_refusal
from controller.runtime.fakeexec import ExecReply, FakeExecSession

RELIST = "relist"


class _Clock(Protocol):
    """The part of the engine's Clock port the fake needs (kept local: runtime may not import engine)."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Callable[[], None]: ...


@attrs.frozen
class Exit:
    """A scripted end: `after` seconds after start, exit with `code` (an OOM kill if `oom`)."""

    after: float
    code: int
    oom: bool = False


Behaviour = Callable[[ContainerConfig], Exit | None]

ProbeScript = Callable[[ProbeAction], ProbeResult] | ProbeResult
"""A scripted probe outcome: a fixed result, or a function of the action called on every run (a
test steps through a sequence, or reads its clock, to make a probe flap)."""


@attrs.frozen
class Command:
    """A scripted exec (a probe's or a hook's, by its command): it runs `seconds` of the clock,
    then ends with `result`; past the caller's timeout it is reported as timed out."""

    result: ProbeResult = ProbeResult(True)
    seconds: float = 0.0


def probe_handler_kind(action: ProbeAction) -> str:
    """The handler's field name in a Probe: "exec", "http_get" or "tcp_socket"."""
    if isinstance(action, ExecAction):
        return "exec"
    if isinstance(action, HTTPGetAction):
        return "http_get"
    return "tcp_socket"


def run_forever(config: ContainerConfig) -> Exit | None:
    return None


@attrs.define
class _Record:
    id: ContainerId
    config: ContainerConfig
    state: RunState
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom: bool = False
    error: str = ""
    ip: str | None = None
    cgroup_parent: str = ""
    """Docker's CgroupParent as the create set it (a pod with pod-level resources)."""


class FakeRuntime:
    def __init__(
        self,
        node: str,
        clock: _Clock,
        images: Iterable[str] = (),
        behaviour: Behaviour = run_forever,
    ) -> None:
        self._node = NodeName(node)
        self._clock = clock
        self.images: set[str] = set(images)
        self.pullable: set[str] = set()
        self.missing_commands: set[str] = set()
        self.create_latency = 0
        """Event-loop turns each create takes: a slow engine, while everything else runs on."""
        self.refused_configs: set[str] = set()
        """Manifest container names whose create the engine refuses as a bad configuration."""
        self.cgroup_driver: str | None = "cgroupfs"
        self.cgroup_version: str | None = "1"
        """What /info reports: the pod-level resources of a pod are refused unless cgroupfs/1."""
        self.behaviour = behaviour
        self.sandbox_start_failures = 0
        """Sandbox starts still to fail (fault injection), each as a port Docker cannot bind."""
        self.held_ports: set[HostPort] = set()
        """Host ports bound by processes outside the engine (a plain listening socket)."""
        self.down = False
        self.failing: set[str] = set()
        """Call kinds (`list`, `create`, `start`, ... as `calls` names them) that fail as if the
        engine could not be reached, while the others work: a partial outage."""
        self.faults: dict[str, Exception] = {}
        """Operation (first word of its `calls` entry: "list", "inspect", "events", ...) ->
        exception it raises, until removed."""
        self.ignores_term: set[str] = set()
        """Manifest container names whose process ignores SIGTERM: a stop waits the whole grace
        period (on the clock), then kills."""
        self.calls: list[str] = []
        self.containers: dict[ContainerId, _Record] = {}
        self.foreign: dict[ContainerId, str] = {}
        self.volumes: dict[str, ObservedVolume] = {}
        self.claim_volumes: dict[str, str] = {}
        """Claim volume name -> `<namespace>/<name>`; like Docker's, never removed with pods."""
        self.claim_volume_creates = 0
        self.probe_results: dict[tuple[str, str], ProbeScript] = {}
        """Probe outcomes of running containers by (manifest container name, handler kind as
        `probe_handler_kind` names it); an unscripted probe of a running container succeeds."""
        self.commands: dict[tuple[str, ...], Command] = {}
        """Scripted execs by command, checked before `probe_results`."""
        self.execs: list[tuple[float, str, tuple[str, ...]]] = []
        """Every exec run in a running container: (clock time it began, container name, command)."""
        self.exec_replies: dict[tuple[str, ...], ExecReply] = {}
        """Scripted interactive execs (`exec_session`) by command; others print nothing, exit 0."""
        self.sessions: list[tuple[str, FakeExecSession]] = []
        """Every interactive exec started: (manifest container name, its session)."""
        self._ids = itertools.count(1)
        self._ips = itertools.count(2)
        self._events: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        self.lease: LeaseRecord | None = None
        """The container named `LEASE_NAME`, as `read_lease` returns it."""
        self._stamps = itertools.count(1)
        self.logs: dict[ContainerId, list[tuple[float, bytes]]] = {}
        """Each container's output as (clock time, one line with its newline), oldest first."""
        self._log_changed = asyncio.Event()
        self.log_readers = 0
        """Log streams open now: a reader that left must not keep one."""

    @property
    def node(self) -> NodeName:
        return self._node

    # -- test controls -----------------------------------------------------------------------

    def add_foreign(self, name: str) -> ContainerId:
        """A container someone else runs, without Podyard's labels."""
        cid = ContainerId(f"foreign{next(self._ids):04d}")
        self.foreign[cid] = name
        return cid

    def exit(self, container_id: ContainerId, code: int, oom: bool = False) -> None:
        """The process ended by itself (crash, OOM kill, `docker kill`)."""
        record = self.containers.get(container_id)
        if record is None or record.state is not RunState.RUNNING:
            return
        record.state = RunState.EXITED
        self._wake_log_readers()
        record.finished_at = self._clock.now()
        record.exit_code = code
        record.oom = oom
        if oom:
            self._emit(record, "oom")
        self._emit(record, "die")

    def write_log(self, container_id: ContainerId, text: str) -> None:
        """The container's process wrote `text` (one line; the newline is added) now."""
        line = text.encode() + b"\n"
        self.logs.setdefault(container_id, []).append((self._clock.now(), line))
        self._wake_log_readers()

    def _wake_log_readers(self) -> None:
        changed, self._log_changed = self._log_changed, asyncio.Event()
        changed.set()

    def reconnect_events(self) -> None:
        """The event stream dropped and came back: the runtime says so with a relist event."""
        self._events.put_nowait(RuntimeEvent(self._node, ContainerId(""), RELIST))

    def find(self, container_name: str, *, running: bool | None = None) -> list[_Record]:
        """Records of a manifest container name (or "POD"), oldest first."""
        found = [
            r
            for r in self.containers.values()
            if r.config.identity.container_name == container_name
            and (running is None or (r.state is RunState.RUNNING) == running)
        ]
        return sorted(found, key=lambda r: r.created_at)

    # -- the port ----------------------------------------------------------------------------

    def _check(self, call: str) -> None:
        if self.down or call.split(" ", 1)[0] in self.failing:
            raise EngineUnavailable(f"{self._node}: cannot connect to the engine")
        fault = self.faults.get(call.split()[0])
        if fault is not None:
            raise fault
        self.calls.append(call)

    async def ping(self) -> None:
        self._check("ping")

    async def capacity(self) -> NodeCapacity:
        self._check("capacity")
        return NodeCapacity(cpu_cores=2, memory_bytes=4 << 30)

    async def prepare_pause_image(self, configured: str) -> str:
        self._check("prepare_pause_image")
        self.images.add(configured)
        return configured

    async def list_containers(self) -> list[ObservedContainer]:
        self._check("list")
        return [self._observe(r) for r in self.containers.values()]

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        self._check(f"inspect {container_id}")
        record = self._resolve(container_id)
        return self._observe(record) if record else None

    async def list_volumes(self) -> list[ObservedVolume]:
        self._check("list_volumes")
        return list(self.volumes.values())

    async def list_claim_volumes(self) -> dict[str, str]:
        self._check("list_claim_volumes")
        return {claim: name for name, claim in self.claim_volumes.items()}

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        self._check(f"ensure_image {image}")
        present = image in self.images
        if policy is PullPolicy.NEVER and not present:
            raise ImageNeverPull(
                f'Container image "{image}" is not present with pull policy of Never'
            )
        if present and policy is not PullPolicy.ALWAYS:
            return
        if image not in self.pullable:
            raise ImagePullFailed(f"pull access denied for {image}: connection refused")
        self.images.add(image)

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        self._check(f"create {config.docker_name}")
        for _ in range(self.create_latency):
            await asyncio.sleep(0)
        if self._by_name(config.docker_name) is not None:
            raise NameConflict(f'the container name "/{config.docker_name}" is already in use')
        if config.image not in self.images:
            raise CreateFailed(f"No such image: {config.image}")
        if config.identity.container_name in self.refused_configs:
            raise ConfigRefused(f"invalid mount config for {config.docker_name}")
        for mount in config.mounts:
            if mount.claim and mount.source not in self.claim_volumes:
                self.claim_volumes[mount.source] = mount.claim
                self.claim_volume_creates += 1
        if config.join_sandbox is not None:
            sandbox = self._by_name(config.join_sandbox)
            if sandbox is None:
                raise CreateFailed(f"No such container: {config.join_sandbox}")
        cgroup_parent = self._cgroup_parent(config)
        cid = ContainerId(f"{next(self._ids):012x}")
        self.containers[cid] = _Record(
            cid, config, RunState.CREATED, self._clock.now(), cgroup_parent=cgroup_parent
        )
        self._emit(self.containers[cid], "create")
        return cid

    def _cgroup_parent(self, config: ContainerConfig) -> str:
        """As `dockercgroups.PodCgroups.place` does it on a real engine."""
        if not config.pod_cgroup:
            return ""
        refusal = pod_cgroup_refusal(self._node, self.cgroup_driver, self.cgroup_version)
        if config.join_sandbox is None:
            return "" if refusal else POD_CGROUP_ROOT
        if refusal:
            raise ConfigRefused(refusal)
        sandbox = self._by_name(config.join_sandbox)
        if sandbox is None or sandbox.cgroup_parent != POD_CGROUP_ROOT:
            raise ConfigRefused(
                f"spec.resources: the pod's sandbox {config.join_sandbox} was "
                "created without the pod's cgroup"
            )
        return f"{POD_CGROUP_ROOT}/{sandbox.id}"

    async def start_container(self, container_id: ContainerId) -> None:
        self._check(f"start {container_id}")
        record = self._resolve(container_id)
        if record is None:
            raise StartFailed(f"No such container: {container_id}")
        if record.state is RunState.RUNNING:
            return
        entry = (record.config.entrypoint or ("sh",))[0]
        if entry in self.missing_commands:
            record.error = f'exec: "{entry}": executable file not found in $PATH'
            record.exit_code = 127
            raise StartFailed(record.error)
        refused = self._port_refusal(record)
        if refused:
            record.error = refused
            record.exit_code = 128
            raise StartFailed(record.error)
        if record.config.join_sandbox is not None:
            sandbox = self._by_name(record.config.join_sandbox)
            if sandbox is None or sandbox.state is not RunState.RUNNING:
                record.error = "cannot join network of a non running container"
                record.exit_code = 128
                raise StartFailed(record.error)
        record.state = RunState.RUNNING
        record.started_at = self._clock.now()
        record.finished_at = None
        record.exit_code = None
        record.error = ""
        if record.config.join_sandbox is None:
            record.ip = f"172.31.0.{next(self._ips) % 250 + 2}"
        self._emit(record, "start")
        script = self.behaviour(record.config)
        if script is not None:
            if script.after <= 0:
                self.exit(record.id, script.code, script.oom)
            else:
                cid = record.id
                self._clock.call_at(
                    self._clock.now() + script.after,
                    lambda: self.exit(cid, script.code, script.oom),
                )

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None:
        self._check(f"stop {container_id}")
        if container_id in self.foreign:
            raise NotOurs(f"{container_id} has no Podyard labels")
        record = self._resolve(container_id)
        if record is None:
            return
        if record.config.identity.container_name in self.ignores_term and grace_seconds > 0:
            if record.state is RunState.RUNNING:
                await self._wait_until(self._clock.now() + grace_seconds)
            self.exit(record.id, 137)  # SIGKILL after the grace period
            return
        self.exit(record.id, 143)

    async def _wait_until(self, when: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        cancel = self._clock.call_at(when, wake)
        try:
            await woken
        finally:
            cancel()

    async def remove_container(self, container_id: ContainerId) -> None:
        self._check(f"remove {container_id}")
        if container_id in self.foreign:
            raise NotOurs(f"{container_id} has no Podyard labels")
        record = self._resolve(container_id)
        if record is None:
            return
        self.exit(record.id, 137)
        del self.containers[record.id]
        self._emit(record, "destroy")

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        self._check(f"ensure_volume {volume.docker_name}")
        self.volumes[volume.docker_name] = ObservedVolume(
            volume.docker_name, self._node, volume.pod, volume.volume_name
        )

    async def remove_volume(self, docker_name: str) -> None:
        self._check(f"remove_volume {docker_name}")
        self.volumes.pop(docker_name, None)

    async def exec_session(
        self, container_id: ContainerId, request: ExecRequest
    ) -> FakeExecSession:
        """As Docker's: refused (its words) unless the container is running."""
        record = self._resolve(container_id)
        name = record.config.identity.container_name if record else container_id
        self._check(f"exec_session {name}")
        if record is None:
            raise RuntimeFailure(f"No such container: {container_id}")
        if record.state is not RunState.RUNNING:
            raise RuntimeFailure(f"Container {record.id} is not running")
        session = FakeExecSession(request, self.exec_replies.get(request.command, ExecReply()))
        self.sessions.append((name, session))
        return session

    async def attach_session(
        self, container_id: ContainerId, request: ExecRequest
    ) -> FakeExecSession:
        """As `exec_session`; the reply scripted under the command `("attach",)`."""
        return await self.exec_session(container_id, attrs.evolve(request, command=("attach",)))

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the port's name; the probe enforces it
    ) -> ProbeResult:
        """As Docker's: a container that is gone, foreign or not running fails the probe."""
        record = self._resolve(container_id)
        name = record.config.identity.container_name if record else container_id
        self._check(f"run_probe {name}")
        if container_id in self.foreign:
            return ProbeResult(
                False, f"container {self.foreign[container_id]} is not managed by Podyard"
            )
        if record is None:
            return ProbeResult(False, f"container {container_id} not found")
        if record.state is not RunState.RUNNING:
            return ProbeResult(False, f"container {record.config.docker_name} is not running")
        if isinstance(action, ExecAction):
            self.execs.append(
                (self._clock.now(), record.config.identity.container_name, action.command)
            )
            command = self.commands.get(action.command)
            if command is not None:
                return await self._run_command(action, command, timeout)
        script = self.probe_results.get(
            (record.config.identity.container_name, probe_handler_kind(action))
        )
        if script is None:
            return ProbeResult(True)
        return script if isinstance(script, ProbeResult) else script(action)

    async def _run_command(
        self,
        action: ExecAction,
        command: Command,
        timeout: float,  # noqa: ASYNC109 - the caller's deadline, on the fake clock
    ) -> ProbeResult:
        if command.seconds > timeout:
            await self._wait_until(self._clock.now() + timeout)
            return ProbeResult(False, f"command {' '.join(action.command)!r} timed out")
        if command.seconds > 0:
            await self._wait_until(self._clock.now() + command.seconds)
        return command.result

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        self._check("create_lease")
        if self.lease is not None or self._by_name(LEASE_NAME) is not None:
            raise NameConflict(f'the container name "/{LEASE_NAME}" is already in use')
        now = self._clock.now()
        cid = ContainerId(f"lease{next(self._ids):07x}")
        self.lease = LeaseRecord(cid, holder, duration_seconds, "", created_at=now)
        await self.renew_lease(cid)
        return self.lease

    async def read_lease(self) -> LeaseRecord | None:
        self._check("read_lease")
        return self.lease

    async def renew_lease(self, container_id: ContainerId) -> bool:
        self._check(f"renew_lease {container_id}")
        if self.lease is None or self.lease.container_id != container_id:
            return False
        stamp = f"{next(self._stamps):09d}"
        self.lease = attrs.evolve(self.lease, renewed=stamp, renewed_at=self._clock.now())
        return True

    async def remove_lease(self, container_id: ContainerId) -> None:
        self._check(f"remove_lease {container_id}")
        if container_id in self.foreign:
            raise NotOurs(f"{container_id} is not a lease")
        if self.lease is not None and self.lease.container_id == container_id:
            self.lease = None

    async def events(self) -> AsyncIterator[RuntimeEvent]:
        """As the real stream, never fails by itself (it reconnects); only a fault ends it."""
        self._stream_fault()
        yield RuntimeEvent(self._node, ContainerId(""), RELIST)
        while True:
            event = await self._events.get()
            self._stream_fault()
            yield event

    def _stream_fault(self) -> None:
        fault = self.faults.get("events")
        if fault is not None:
            raise fault

    async def container_logs(
        self, container_id: ContainerId, options: LogOptions
    ) -> AsyncIterator[bytes]:
        """As Docker's: the lines so far (after `since`, the last `tail_lines`), then with
        `follow` each new line until the container is no longer running."""
        self._check(f"logs {container_id}")
        if self._resolve(container_id) is None:
            raise RuntimeFailure(f"No such container: {container_id}")
        lines = [
            (at, line)
            for at, line in self.logs.get(container_id, [])
            if options.since is None or at >= options.since
        ]
        if options.tail_lines is not None:
            lines = lines[len(lines) - options.tail_lines :] if options.tail_lines else []
        self.log_readers += 1
        try:
            async for chunk in self._log_lines(container_id, lines, options):
                yield chunk
        finally:
            self.log_readers -= 1

    async def _log_lines(
        self, container_id: ContainerId, lines: list[tuple[float, bytes]], options: LogOptions
    ) -> AsyncIterator[bytes]:
        sent = len(self.logs.get(container_id, []))
        for at, line in lines:
            yield self._stamped(at, line, options)
        while options.follow:
            changed = self._log_changed
            written = self.logs.get(container_id, [])
            for at, line in written[sent:]:
                yield self._stamped(at, line, options)
            sent = len(written)
            record = self._resolve(container_id)
            if record is None or record.state is not RunState.RUNNING:
                for at, line in self.logs.get(container_id, [])[sent:]:
                    yield self._stamped(at, line, options)
                return
            await changed.wait()  # set by any write or exit since it was taken

    @staticmethod
    def _stamped(at: float, line: bytes, options: LogOptions) -> bytes:
        return (rfc3339_nano(at) + " ").encode() + line if options.timestamps else line

    async def close(self) -> None:
        self.calls.append("close")

    # -- internals ---------------------------------------------------------------------------

    def _port_refusal(self, record: _Record) -> str:
        """Docker's words when the container's host ports cannot be bound; "" when they can."""
        if record.config.identity.role is not ContainerRole.SANDBOX:
            return ""
        if self.sandbox_start_failures > 0:
            self.sandbox_start_failures -= 1
            return "driver failed programming external connectivity: injected fault"
        wanted = [HostPort(p.host_ip, p.host_port, p.protocol.value) for p in record.config.ports]
        running = [
            HostPort(p.host_ip, p.host_port, p.protocol.value)
            for other in self.containers.values()
            if other.state is RunState.RUNNING
            for p in other.config.ports
        ]
        for port in wanted:
            if any(port.clashes(other) for other in running):
                return (
                    "driver failed programming external connectivity on endpoint "
                    f"{record.config.docker_name}: Bind for {port.ip}:{port.port} failed: "
                    "port is already allocated"
                )
            if any(port.clashes(other) for other in self.held_ports):
                return (
                    "driver failed programming external connectivity on endpoint "
                    f"{record.config.docker_name}: Error starting userland proxy: listen "
                    f"{port.protocol.lower()}4 {port.ip}:{port.port}: bind: address already in use"
                )
        return ""

    def _by_name(self, name: str) -> _Record | None:
        return next((r for r in self.containers.values() if r.config.docker_name == name), None)

    def _resolve(self, ref: ContainerId) -> _Record | None:
        return self.containers.get(ref) or self._by_name(ref)

    def _emit(self, record: _Record, action: str) -> None:
        self._events.put_nowait(  # stamped like Docker's, so the engine can tell it saw it
            RuntimeEvent(
                self._node,
                record.id,
                action,
                record.config.identity.pod,
                time_ns=int(self._clock.now() * 1e9),
            )
        )

    def _observe(self, record: _Record) -> ObservedContainer:
        identity = labels.identity_from_labels(labels.identity_labels(record.config.identity))
        assert identity is not None  # round trip through the label contract, as Docker would
        return ObservedContainer(
            id=record.id,
            node=self._node,
            docker_name=record.config.docker_name,
            identity=identity,
            state=record.state,
            image=record.config.image,
            image_id=f"sha256:{abs(hash(record.config.image)):x}",
            exit_code=record.exit_code,
            oom_killed=record.oom,
            error=record.error,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            ip=record.ip,
            manifest=record.config.extra_labels.get(labels.POD_MANIFEST, ""),
            host_ports=labels.host_ports_from_labels(record.config.extra_labels)
            if record.config.identity.container_name == "POD"
            else (),
            source=record.config.extra_labels.get(labels.POD_SOURCE, ""),
            pre_stop=handler_from_label(record.config.extra_labels.get(labels.PRE_STOP)),
        )
