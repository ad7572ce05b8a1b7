"""Composition root: settings -> adapters -> engine, API and signals; clean shutdown.

`run_controller` is what `podyard run` does. Order of start-up: the API first (so /healthz answers
while engines are listed), then manifests, then the engine (which relists every node before acting).
SIGTERM and SIGINT stop the controller and leave every pod running, as a kubelet restart does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from aiohttp import web

from controller.api.server import make_app
from controller.config import Settings
from controller.engine.engine import Engine
from controller.engine.podfactory import desired_from_pod
from controller.engine.ports import SystemClock
from controller.metrics import ControllerMetrics, make_registry, metrics_handler
from controller.model.manifests import ManifestFileStatus
from controller.model.meta import NodeName
from controller.runtime.docker import DockerRuntime
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

        def of(kind: str) -> list[LoadedObject]:
            return [o for o in snapshot.objects if o.kind == kind]

        self._engine.set_protected_sources(
            path for path, status in snapshot.files.items() if status.state != "ok"
        )
        self._engine.set_desired(desired_from_pod(o.pod, source=str(o.file)) for o in of("Pod"))
        self._engine.set_replicasets((o.replicaset, str(o.file)) for o in of("ReplicaSet"))
        self._engine.set_deployments((o.deployment, str(o.file)) for o in of("Deployment"))
        self.ready.set()

    def _log(self, snapshot: DesiredSnapshot) -> None:
        """Each problem once when it appears and once when it is gone; holds when they change."""
        errors = {str(e): e for e in snapshot.errors}
        for text, error in errors.items():
            if text not in self._errors:
                (log.warning if error.ignored else log.error)("manifest: %s", text)
        for text in sorted(self._errors - errors.keys()):
            log.info("manifest problem resolved: %s", text)
        self._errors = set(errors)
        holds = set(snapshot.holds)
        if holds != self._holds:
            for notice in snapshot.notices:
                log.warning("held back: %s", notice)
        self._holds = holds


def build_engine(settings: Settings, metrics: ControllerMetrics | None = None) -> Engine:
    runtimes = {
        NodeName(node.name): DockerRuntime(
            NodeName(node.name), settings.runtime, node.docker_host, settings.image_pull
        )
        for node in settings.nodes
    }
    return Engine(
        runtimes,
        SystemClock(),
        host_ips={NodeName(n.name): n.host_ip for n in settings.nodes},
        engine=settings.engine,
        runtime=settings.runtime,
        health=settings.health,
        supervision=settings.supervision,
        backoff=settings.backoff,
        image_pull=settings.image_pull,
        metrics=metrics,
    )


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
    controller_metrics = ControllerMetrics([node.name for node in settings.nodes])
    engine = build_engine(settings, controller_metrics)
    controller_metrics.in_flight = engine.in_flight
    started = asyncio.Event()
    applier = FolderApplier(engine)
    app = make_app(
        engine.pod_views,
        started.is_set,
        replicasets=engine.replicasets.views,
        deployments=engine.deployments.views,
        files=lambda: applier.files,
        events=engine.events.list,
        liveness=engine.liveness,
        readiness=engine.readiness,
    )
    registry = make_registry(
        lambda: applier.files,
        pods=engine.pod_views,
        replicasets=engine.replicasets.views,
        deployments=engine.deployments.views,
        nodes=engine.nodes.all,
        controller=controller_metrics,
    )
    app.router.add_get("/metrics", metrics_handler(registry))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.api.listen_host, settings.api.listen_port)
    await site.start()
    log.info("API listening on http://%s:%d", settings.api.listen_host, settings.api.listen_port)
    folder = FolderSource(Path(settings.manifests_dir), settings.watch, applier)
    engine.supervisor.supervise("folder", folder.run)  # stopped by engine.stop()
    try:
        if not await _wait_for_folder(applier.ready, stop, settings.manifests_dir):
            return
        await engine.start()
        started.set()
        log.info("controller started on node(s): %s", ", ".join(engine.runtimes))
        await stop.wait()
        log.info("stopping; pods keep running")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
        await engine.stop()
