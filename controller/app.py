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
from controller.model.meta import NodeName
from controller.runtime.docker import DockerRuntime
from controller.source.loader import LoadResult, load_directory

log = logging.getLogger("podyard")


def load_folder(directory: Path) -> LoadResult:
    """Everything declared in the folder; every refused document is logged with file, line and
    field, and kept out."""
    result = load_directory(directory)
    for error in result.errors:
        if error.ignored:
            log.warning("%s", error)
        else:
            log.error("manifest refused: %s", error)
    for loaded in result.deployments:
        log.warning(
            "%s:%d: %s is valid but not run by this version yet",
            loaded.file,
            loaded.line,
            loaded.key,
        )
    return result


def apply_folder(engine: Engine, result: LoadResult) -> None:
    engine.set_desired(desired_from_pod(p.pod, source=str(p.file)) for p in result.pods)
    engine.set_replicasets((r.replicaset, str(r.file)) for r in result.replicasets)


def build_engine(settings: Settings) -> Engine:
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
        backoff=settings.backoff,
        image_pull=settings.image_pull,
    )


async def run_controller(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine = build_engine(settings)
    started = asyncio.Event()
    runner = web.AppRunner(make_app(engine.pod_views, started.is_set), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.api.listen_host, settings.api.listen_port)
    await site.start()
    log.info("API listening on http://%s:%d", settings.api.listen_host, settings.api.listen_port)
    try:
        manifests = Path(settings.manifests_dir)
        folder = load_folder(manifests)
        log.info("loaded %d object(s) from %s", len(folder.objects), manifests)
        apply_folder(engine, folder)
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
