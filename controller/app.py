"""Composition root: settings -> adapters -> engine, API and signals; clean shutdown.

`run_controller` is what `podyard run` does. Order of start-up: the API first (so /healthz answers
while engines are listed), then manifests, then the engine leases (engine/leadership.py), then the
engine (which relists every node before acting) for as long as this controller holds the leases
of a majority of the nodes (a node whose lease is not held is fenced: see engine/leadership.py).
Once every node was listed, the engine hands the pods found running to the folder source as its
baseline; the first snapshot judged against it (`baselined`) settles the engine, which acts then.
A controller that falls below a majority stops its engine (pods keep running) and stands by; a new term
gets a new Engine (a stopped one cannot start again), which relists, takes its baseline and
carries on as after a restart. SIGTERM and SIGINT stop the controller, release the leases and
leave every pod running, as a kubelet restart does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from aiohttp import web

from controller.api.leases import leases_handler
from controller.api.server import make_app
from controller.config import Settings
from controller.engine.changesignal import ChangeSignal
from controller.engine.engine import Engine
from controller.engine.events import EventRecorder
from controller.engine.execs import PodExec
from controller.engine.fence import FencedRuntime
from controller.engine.holds import REFUSED_REASON, report_held
from controller.engine.leadership import Leadership
from controller.engine.lease import NodeLease, local_holder
from controller.engine.logreader import open_logs
from controller.engine.metered import MeteredRuntime
from controller.engine.nodeviews import node_views
from controller.engine.podfactory import desired_from_pod
from controller.engine.ports import ContainerRuntime, SystemClock
from controller.engine.renewalgate import RenewalGate
from controller.engine.tasks import Supervisor, cancel_all, spawn
from controller.metrics import ControllerMetrics, make_registry, metrics_handler
from controller.metrics.leases import LeaseCollector
from controller.model.claims import PersistentVolumeClaim
from controller.model.configdata import ConfigMap, Secret
from controller.model.execs import ExecRequest, ExecSession
from controller.model.health import HealthCheck
from controller.model.manifests import ManifestFileStatus, Namespace
from controller.model.meta import NodeName, PodKey
from controller.runtime.docker.runtime import DockerRuntime
from controller.source.loader import LoadedObject
from controller.source.snapshot import Hold
from controller.source.watcher import DesiredSnapshot, FolderSource

log = logging.getLogger("podyard")


class FolderApplier:
    """Maps each published folder snapshot into the engine and logs what changed.

    Until the folder has been read once, nothing is applied and the engine does not start: a
    controller that cannot see its folder must not conclude that every pod should go.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._errors: set[str] = set()
        self._holds: set[Hold] = set()
        self.ready = asyncio.Event()
        self.files: list[ManifestFileStatus] = []
        self._last: DesiredSnapshot | None = None
        self.namespaces: list[Namespace] = []
        """The folder's Namespace objects as last applied, for the API's namespace list."""

    def attach(self, engine: Engine) -> None:
        """A new engine (a new term of holding the leases) gets the folder as last read."""
        self._engine = engine
        if self._last is not None and self.ready.is_set():
            self._apply(self._last)

    def __call__(self, snapshot: DesiredSnapshot) -> None:
        self._log(snapshot)
        self.files = [
            ManifestFileStatus(
                file=path,
                state=status.state.value,
                message=status.message,
                objects=status.objects,
                errors=tuple(str(e) for e in snapshot.errors if str(e.file) == path),
            )
            for path, status in sorted(snapshot.files.items())
        ]
        if not self.ready.is_set() and any(e.file == Path(".") for e in snapshot.errors):
            return  # the folder itself is missing or unreadable: wait, change nothing
        self._last = snapshot
        self._apply(snapshot)

    def _apply(self, snapshot: DesiredSnapshot) -> None:
        def of(kind: str) -> list[LoadedObject]:
            return [o for o in snapshot.objects if o.kind == kind]

        self._engine.set_protected_sources(
            path for path, status in snapshot.files.items() if status.state != "ok"
        )
        self._engine.set_configs(
            o.obj for o in snapshot.objects if isinstance(o.obj, ConfigMap | Secret)
        )  # first: a pod made in this pass reads them
        self._engine.set_desired(desired_from_pod(o.pod, source=str(o.file)) for o in of("Pod"))
        self._engine.set_replicasets((o.replicaset, str(o.file)) for o in of("ReplicaSet"))
        self._engine.set_deployments((o.deployment, str(o.file)) for o in of("Deployment"))
        self._engine.set_claims(
            o.obj for o in of("PersistentVolumeClaim") if isinstance(o.obj, PersistentVolumeClaim)
        )
        self.namespaces = [o.obj for o in snapshot.objects if isinstance(o.obj, Namespace)]
        self._engine.changes.objects()  # the folder's namespaces are read by the API alone
        self.ready.set()
        if snapshot.baselined:
            self._engine.settle()  # applied against the pods found running: the engine may act

    def _log(self, snapshot: DesiredSnapshot) -> None:
        """Each problem once when it appears and once when it is gone; holds when they change."""
        errors = {str(e): e for e in snapshot.errors}
        for text, error in errors.items():
            if text not in self._errors:
                (log.warning if error.ignored else log.error)("manifest: %s", text)
                if error.refused is not None:  # Pod Security admission: an event on the object
                    report_held(
                        self._engine.events,
                        self._engine.cache,
                        [error.refused],
                        f"Error creating: {error.message}",
                        REFUSED_REASON,
                    )
        for text in sorted(self._errors - errors.keys()):
            log.info("manifest problem resolved: %s", text)
        self._errors = set(errors)
        holds = set(snapshot.holds)
        if holds != self._holds:
            for notice in snapshot.notices:
                log.warning("held back: %s", notice)
            for hold in sorted(holds - self._holds, key=lambda h: (h.reason, h.file)):
                report_held(self._engine.events, self._engine.cache, hold.keys, hold.summary())
        self._holds = holds


def build_engine(
    settings: Settings,
    metrics: ControllerMetrics | None = None,
    events: EventRecorder | None = None,
    may_act: Callable[[NodeName], bool] | None = None,
    renewal_gates: Mapping[NodeName, RenewalGate] | None = None,
) -> Engine:
    """The engine on every node; with `may_act`, each node's changes are fenced by its lease, and
    with `renewal_gates` its pod calls make way for a slow renewal of that lease."""
    runtimes: dict[NodeName, ContainerRuntime] = {}
    for node in settings.nodes:
        name = NodeName(node.name)
        docker = DockerRuntime(
            name, settings.runtime, node.docker_host, settings.image_pull, tls=node.tls
        )
        runtimes[name] = (
            docker if may_act is None else FencedRuntime(docker, partial(may_act, name))
        )
    return Engine(
        runtimes,
        SystemClock(),
        node_settings={NodeName(n.name): n for n in settings.nodes},
        engine=settings.engine,
        runtime=settings.runtime,
        health=settings.health,
        supervision=settings.supervision,
        node_lifecycle=settings.node_lifecycle,
        backoff=settings.backoff,
        image_pull=settings.image_pull,
        metrics=metrics,
        events=events,
        renewal_gates=renewal_gates,
    )


class EngineTerms:
    """The engine of the current term: started when every lease is held, stopped at a loss, and
    replaced by a fresh one (not started) so the API and the folder always have one to read."""

    def __init__(
        self,
        settings: Settings,
        metrics: ControllerMetrics,
        events: EventRecorder,
        may_act: Callable[[NodeName], bool],
        renewal_gates: Mapping[NodeName, RenewalGate] | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self.events = events
        """Shared by every term: events outlive a lost lease."""
        self._may_act = may_act
        self._renewal_gates = renewal_gates
        """Shared by every term, like the leases they belong to."""
        self.on_new_engine: Callable[[Engine], None] = lambda engine: None
        """Called with each new engine (the folder applier attaches to it)."""
        self.engine = self._new_engine()
        self.started = asyncio.Event()
        self._begun = False

    async def start(self) -> None:
        self._begun = True
        await self.engine.start()
        self.started.set()
        log.info("controller started on node(s): %s", ", ".join(self.engine.runtimes))

    async def stop(self) -> None:
        """Idempotent: stops the running engine (pods keep running) and prepares the next one."""
        if not self._begun:
            return
        self._begun = False
        self.started.clear()
        old, self.engine = self.engine, self._new_engine()
        self.on_new_engine(self.engine)
        await old.stop()

    def _new_engine(self) -> Engine:
        return build_engine(
            self._settings, self._metrics, self.events, self._may_act, self._renewal_gates
        )


class TermExec:
    """`kubectl exec` into the pods of the current term's engine (api.exec.PodExecOpener)."""

    def __init__(self, terms: EngineTerms) -> None:
        self._terms = terms

    def _exec(self) -> PodExec:
        engine = self._terms.engine
        return PodExec(engine.pod_views, engine.cache, engine.slotted)  # metered, no slot held

    async def __call__(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession:
        return await self._exec()(namespace, pod, container, request)

    async def attach(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession:
        return await self._exec().attach(namespace, pod, container, request)

    def check(self, namespace: str, pod: str, container: str) -> None:
        self._exec().check(namespace, pod, container)


def build_leadership(
    settings: Settings, metrics: ControllerMetrics, events: EventRecorder
) -> Leadership:
    """One lease per node, each on a runtime of its own (the engine's close with the engine)."""
    api = f"http://{settings.api.listen_host}:{settings.api.listen_port}"
    me = local_holder(str(Path(settings.manifests_dir).absolute()), api)
    leases = [
        NodeLease(
            MeteredRuntime(
                DockerRuntime(
                    NodeName(node.name), settings.runtime, node.docker_host, tls=node.tls
                ),
                metrics,
            ),
            me,
            settings.lease,
            time.monotonic,
        )
        for node in settings.nodes
    ]
    return Leadership(leases, settings.lease, events=events)


def with_tasks(checks: list[HealthCheck], failing: list[str]) -> list[HealthCheck]:
    """The engine's liveness checks, with the controller's own failing tasks in `tasks`."""
    if not failing:
        return checks
    return [
        HealthCheck(c.name, "; ".join(r for r in (c.failure, *failing) if r))
        if c.name == "tasks"
        else c
        for c in checks
    ]


async def _wait_for_folder(ready: asyncio.Event, stop: asyncio.Event, folder: str) -> bool:
    """True once the folder was read; False if asked to stop first. Logs every 10 s meanwhile."""
    while not ready.is_set():
        waiters = [asyncio.ensure_future(ready.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if stop.is_set():
            return False
        if not ready.is_set():
            log.warning("waiting for the manifests folder %s; pods are left as they are", folder)
    return True


async def run_controller(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    started_at = time.time()
    """When the nodes were first served: their creationTimestamp."""
    controller_metrics = ControllerMetrics([node.name for node in settings.nodes])
    events = EventRecorder(SystemClock())
    leadership = build_leadership(settings, controller_metrics, events)
    terms = EngineTerms(
        settings, controller_metrics, events, leadership.may_act, leadership.renewal_gates()
    )
    applier = FolderApplier(terms.engine)
    app_tasks = Supervisor(SystemClock(), controller_metrics, settings.supervision)
    """Tasks of the controller itself, beside each term's engine: the folder watcher."""
    controller_metrics.in_flight = lambda: terms.engine.in_flight()
    changes = ChangeSignal()
    """Every term's engine's change signal, passed on to the API's watches."""
    app = make_app(
        lambda: terms.engine.pod_views(),
        terms.started.is_set,
        replicasets=lambda: terms.engine.replicasets.views(),
        deployments=lambda: terms.engine.deployments.views(),
        files=lambda: applier.files,
        events=terms.events.list,
        nodes=lambda: node_views(terms.engine.nodes.all(), started_at),
        configs=lambda: [*terms.engine.configs.config_maps(), *terms.engine.configs.secrets()],
        claims=lambda: terms.engine.reconciler.claims.views(),
        delete_pod=lambda ns, name, grace, uid: terms.engine.deleter.delete(ns, name, grace, uid),
        logs=lambda node, cid, options: open_logs(terms.engine.slotted, node, cid, options),
        namespaces=lambda: applier.namespaces,
        liveness=lambda: with_tasks(terms.engine.liveness(), app_tasks.failing()),
        readiness=lambda: terms.engine.readiness(),
        exec_in_pod=TermExec(terms),
        changes=changes,
        pod_views_for=lambda keys: terms.engine.reconciler.views(PodKey(*k) for k in keys),
        watch_resync_seconds=settings.api.watch_resync_seconds,
    )
    registry = make_registry(
        lambda: applier.files,
        pods=lambda: terms.engine.pod_views(),
        replicasets=lambda: terms.engine.replicasets.views(),
        deployments=lambda: terms.engine.deployments.views(),
        nodes=lambda: node_views(terms.engine.nodes.all(), started_at),
        controller=controller_metrics,
    )
    registry.register(LeaseCollector(leadership.views))
    app.router.add_get("/metrics", metrics_handler(registry))
    app.router.add_get("/podyard/v1/leases", leases_handler(leadership.views))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.api.listen_host, settings.api.listen_port)
    await site.start()
    log.info("API listening on http://%s:%d", settings.api.listen_host, settings.api.listen_port)
    folder = FolderSource(
        Path(settings.manifests_dir), settings.watch, applier, pod_security=settings.pod_security
    )

    def attach(engine: Engine) -> None:
        engine.on_baseline = folder.set_baseline  # the next snapshot after it settles the engine
        applier.attach(engine)
        engine.changes.listen(changes.forward)
        changes.everything()  # another engine's views: render them afresh

    attach(terms.engine)
    terms.on_new_engine = attach
    app_tasks.supervise("folder", folder.run)  # outlives each term's engine
    leading: list[asyncio.Task[None]] = []
    try:
        if not await _wait_for_folder(applier.ready, stop, settings.manifests_dir):
            return
        leading.append(spawn("leases", leadership.run(terms.start, terms.stop)))
        await stop.wait()
        log.info("stopping; pods keep running")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await app_tasks.stop()
        await cancel_all(leading)
        await runner.cleanup()
        await leadership.shutdown(terms.stop)
        await terms.engine.stop()
        for lease in leadership.leases:
            await lease.runtime.close()
