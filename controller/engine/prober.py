"""The prober: each running container's liveness, readiness and startup probes, on their schedule.

As the kubelet's prober workers:
- One worker per (container, probe). The first run is `initialDelaySeconds` after the container
  started, then one every `periodSeconds`, each bounded by `timeoutSeconds`.
- A result flips only after `failureThreshold` consecutive failures or `successThreshold`
  consecutive successes. Readiness starts out failing; a startup probe gates the other two (they
  do not run until it passed) and stops once it passed.
- Every failed run is a Warning `Unhealthy` event ("Readiness probe failed: ..."). A liveness or
  startup result that flips to failure kills the container ("Killing": "Container c failed liveness
  probe, will be restarted") with the probe's `terminationGracePeriodSeconds` or the pod's, its
  preStop first (see `hooks`), and the pod's restart policy and back-off take it from there,
  exactly as after a crash.
- An engine that cannot be reached gives no verdict: the run is not counted either way.

Workers follow the pod reconciler: after every reconcile of a pod, `sync` starts workers for its
running containers and drops those of containers that ended. A verdict that changes enqueues the pod,
so its status (Ready) and its ReplicaSet's ready count follow.

A run that raises (a bug, not a failed probe) is counted through `on_error` and the worker keeps its
schedule: one bad run must not end a container's probing for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import attrs

from controller.decide.instance import group_instances
from controller.engine.executor import PodEventSink
from controller.engine.hooks import HookRunner
from controller.engine.ports import Clock, ContainerRuntime, MetricsSink
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.errors import RuntimeFailure
from controller.model.events import EventType
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import ObservedContainer, RunState
from controller.model.pod import Container
from controller.model.probes import (
    ContainerProbeState,
    HTTPGetAction,
    Probe,
    ProbeAction,
    ProbeKind,
    ProbeResult,
    TCPSocketAction,
)

log = logging.getLogger(__name__)

GATED = (ProbeKind.LIVENESS, ProbeKind.READINESS)
"""Probes that wait for the startup probe to pass."""

KILLS = (ProbeKind.LIVENESS, ProbeKind.STARTUP)
"""Probes whose failure kills the container."""

TASK = "prober"
"""Task name under which the probe runs' errors are counted."""


@attrs.define(eq=False)
class _Worker:
    key: PodKey
    node: NodeName
    container: ObservedContainer
    spec: Container
    kind: ProbeKind
    probe: Probe
    pod_ip: str
    verdict: bool | None = None
    """The probe's result once a threshold was reached; None before (readiness: not ready)."""
    streak: int = 0
    last: bool | None = None
    changed_at: float | None = None
    done: bool = False
    """No more runs: a startup probe that passed, or a probe whose failure killed the container."""
    cancel: Callable[[], None] | None = None

    @property
    def id(self) -> tuple[ContainerId, ProbeKind]:
        return self.container.id, self.kind


class Prober:
    def __init__(
        self,
        runtimes: Mapping[NodeName, ContainerRuntime],
        desired: DesiredStore,
        cache: ObservedCache,
        clock: Clock,
        enqueue: Callable[[PodKey], None],
        on_event: PodEventSink,
        metrics: MetricsSink,
        on_error: Callable[[str, str, BaseException], None] | None = None,
    ) -> None:
        self._runtimes = runtimes
        self._on_error = on_error
        self._desired = desired
        self._cache = cache
        self._clock = clock
        self._enqueue = enqueue
        self._on_event = on_event
        self._metrics = metrics
        self._workers: dict[tuple[ContainerId, ProbeKind], _Worker] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._hooks = HookRunner(cache, clock, on_event)

    # -- what the status reads ------------------------------------------------------------------

    def states(self) -> dict[str, ContainerProbeState]:
        """Per container id with probes: ready, started and when either last changed."""
        by_container: dict[ContainerId, dict[ProbeKind, _Worker]] = {}
        for worker in self._workers.values():
            by_container.setdefault(worker.container.id, {})[worker.kind] = worker
        out: dict[str, ContainerProbeState] = {}
        for cid, workers in by_container.items():
            readiness = workers.get(ProbeKind.READINESS)
            startup = workers.get(ProbeKind.STARTUP)
            changes = [w.changed_at for w in workers.values() if w.changed_at is not None]
            out[cid] = ContainerProbeState(
                ready=readiness is None or readiness.verdict is True,
                started=startup is None or startup.verdict is True,
                changed_at=max(changes) if changes else None,
            )
        return out

    # -- following the pods ---------------------------------------------------------------------

    def sync(self, key: PodKey) -> None:
        """Workers for the running containers of `key`'s current instance; no others of `key`."""
        wanted = {w.id: w for w in self._wanted(key)}
        for wid, worker in list(self._workers.items()):
            if worker.key == key and wid not in wanted:
                self._drop(wid)
        for wid, worker in wanted.items():
            if wid not in self._workers:
                self._workers[wid] = worker
                started = worker.container.started_at or self._clock.now()
                self._schedule(worker, started + worker.probe.initial_delay_seconds)

    def _wanted(self, key: PodKey) -> list[_Worker]:
        desired = self._desired.get(key)
        if desired is None:
            return []
        instances = [
            i
            for i in group_instances(self._cache.containers_for(key))
            if i.spec_hash == desired.spec_hash
        ]
        sandbox = instances[-1].sandbox if instances else None
        if sandbox is None or sandbox.state is not RunState.RUNNING or not sandbox.ip:
            return []
        instance = instances[-1]
        out = []
        for spec in (*desired.pod.spec.sidecars(), *desired.pod.spec.containers):
            latest = instance.latest(spec.name)
            if latest is None or latest.state is not RunState.RUNNING:
                continue
            for kind, probe in (
                (ProbeKind.STARTUP, spec.startup_probe),
                (ProbeKind.LIVENESS, spec.liveness_probe),
                (ProbeKind.READINESS, spec.readiness_probe),
            ):
                if probe is not None:
                    out.append(_Worker(key, latest.node, latest, spec, kind, probe, sandbox.ip))
        return out

    def _drop(self, wid: tuple[ContainerId, ProbeKind]) -> None:
        worker = self._workers.pop(wid)
        if worker.cancel is not None:
            worker.cancel()

    def stop(self) -> None:
        for wid in list(self._workers):
            self._drop(wid)
        for task in self._tasks:
            task.cancel()

    # -- running probes -------------------------------------------------------------------------

    def _current(self, worker: _Worker) -> bool:
        return self._workers.get(worker.id) is worker and not worker.done

    def _schedule(self, worker: _Worker, when: float) -> None:
        worker.cancel = self._clock.call_at(when, lambda: self._fire(worker))

    def _fire(self, worker: _Worker) -> None:
        if not self._current(worker):
            return
        period = worker.probe.period_seconds
        if worker.kind in GATED and not self._started(worker):
            self._schedule(worker, self._clock.now() + period)  # the startup probe goes first
            return
        task = asyncio.get_running_loop().create_task(self._run(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _started(self, worker: _Worker) -> bool:
        startup = self._workers.get((worker.container.id, ProbeKind.STARTUP))
        return startup is None or startup.verdict is True

    async def _run(self, worker: _Worker) -> None:
        began = self._clock.now()
        try:
            result = await self._probe(worker)
            if not self._current(worker):
                return
            if result is None:
                self._metrics.probed(worker.kind, "unknown")
            else:
                self._metrics.probed(worker.kind, "successful" if result.success else "failed")
                await self._record(worker, result)
        except Exception as exc:
            what = f"{worker.kind} probe of {worker.key.namespace}/{worker.key.name}"
            if self._on_error is None:
                log.exception("%s failed", what)
            else:
                self._on_error(TASK, what, exc)
        if self._current(worker):
            self._schedule(worker, max(began + worker.probe.period_seconds, self._clock.now()))

    async def _probe(self, worker: _Worker) -> ProbeResult | None:
        action = _resolved(worker.probe, worker.spec)
        if action is None:
            return ProbeResult(False, "port name not found in the container's ports")
        runtime = self._runtimes[worker.node]
        try:
            return await runtime.run_probe(
                worker.container.id, worker.pod_ip, action, float(worker.probe.timeout_seconds)
            )
        except RuntimeFailure as failure:
            log.debug("%s probe of %s: no verdict: %s", worker.kind, worker.container.id, failure)
            return None

    async def _record(self, worker: _Worker, result: ProbeResult) -> None:
        ok = result.success
        if not ok:
            self._event(worker, EventType.WARNING, "Unhealthy", _failed(worker.kind, result))
        worker.streak = worker.streak + 1 if worker.last == ok else 1
        worker.last = ok
        threshold = worker.probe.success_threshold if ok else worker.probe.failure_threshold
        if worker.streak < threshold or worker.verdict == ok:
            return
        worker.verdict = ok
        worker.changed_at = self._clock.now()
        if ok and worker.kind is ProbeKind.STARTUP:
            worker.done = True  # passed once: the other probes take over
        self._enqueue(worker.key)
        if not ok and worker.kind in KILLS:
            worker.done = True
            await self._kill(worker)

    async def _kill(self, worker: _Worker) -> None:
        name = worker.spec.name
        self._event(
            worker,
            EventType.NORMAL,
            "Killing",
            f"Container {name} failed {worker.kind.lower()} probe, will be restarted",
        )
        grace = worker.probe.termination_grace_period_seconds
        if grace is None:
            grace = worker.container.identity.grace_seconds
        runtime = self._runtimes[worker.node]
        try:
            await self._hooks.stop(worker.key, runtime, worker.container.id, grace)
            observed = await runtime.inspect_container(worker.container.id)
        except RuntimeFailure as failure:
            log.warning(
                "could not kill %s after its %s probe failed: %s", name, worker.kind, failure
            )
            worker.done = False  # try again at the next failed run
            return
        if observed is not None:
            self._cache.upsert(observed)
        self._enqueue(worker.key)

    def _event(self, worker: _Worker, type: EventType, reason: str, message: str) -> None:
        uid = worker.container.identity.pod.uid
        self._on_event(worker.key, type, reason, message, uid=uid, node=worker.node)


def _failed(kind: ProbeKind, result: ProbeResult) -> str:
    return f"{kind} probe failed: {result.message}".rstrip(": ")


def _resolved(probe: Probe, spec: Container) -> ProbeAction | None:
    """The probe's handler with a named port replaced by its number; None if the name is unknown."""
    action = probe.action
    if not isinstance(action, HTTPGetAction | TCPSocketAction):
        return action
    named = {p.name: p.container_port for p in spec.ports if p.name}
    number = action.port.resolve(named)
    if number is None:
        return None
    return attrs.evolve(action, port=attrs.evolve(action.port, value=number))
