"""One stuck pod blocks only itself, on a real engine.

Six pods whose process ignores SIGTERM are deleted with a 30 s grace period, so each deletion waits
the full 30 s; meanwhile another pod's container is killed (`docker kill`) and must be running again
within 2 s. With a fixed pool of workers, the six stops held every worker and the killed container
stayed down for the whole grace period.
"""

from __future__ import annotations

import asyncio
import time

import aiodocker

from controller.config import RuntimeSettings
from controller.runtime.docker.runtime import DockerRuntime
from tests.factories import container, pod
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import NODE, Controller, eventually

IGNORES_TERM = "trap 'echo term' TERM; while true; do sleep 1; done"
"""Reports SIGTERM on its output and carries on, as `trap '' TERM` would without saying so."""
IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"
STUBBORN = [f"stubborn-{n}" for n in range(6)]
RESTART_WITHIN_SECONDS = 2.0


async def _got_term(docker: aiodocker.Docker, container_id: str) -> bool:
    lines = await docker.containers.container(container_id).log(stdout=True)
    return any("term" in line for line in lines)


async def test_six_pods_in_their_grace_period_do_not_delay_another_pods_restart(
    controller: Controller, docker: aiodocker.Docker
) -> None:
    stubborn = [
        pod(name, [container("c", "sh", "-c", IGNORES_TERM, image=DEMO_IMAGE)], grace=30)
        for name in STUBBORN
    ]
    web = pod("web", [container("app", "sh", "-c", IDLE, image=DEMO_IMAGE)], grace=2)
    await controller.start([*stubborn, web])
    for name in [*STUBBORN, "web"]:
        await controller.wait_running_ready(name, timeout=60)
    stubborn_ids = {name: controller.running(name, "c")[0].id for name in STUBBORN}
    (app,) = controller.running("web", "app")

    controller.set_pods([web])  # the six are deleted: SIGTERM, ignored, then 30 s of grace

    async def terms() -> int:
        return sum([await _got_term(docker, cid) for cid in stubborn_ids.values()])

    await eventually(lambda: _at_least(terms, 4), timeout=10, what="deletions under way")
    await docker.containers.container(app.id).kill()
    killed = time.monotonic()

    def restarted() -> bool:
        return any(c.id != app.id for c in controller.running("web", "app"))

    await eventually(restarted, timeout=40, interval=0.02, what="web's app running again")
    took = time.monotonic() - killed
    print(f"\nkilled container running again after {took:.2f} s (six pods in grace)")
    assert took < RESTART_WITHIN_SECONDS, f"running again only after {took:.2f} s"

    # all six really were in their grace period meanwhile, each stopping on its own
    assert await terms() == 6
    for name, cid in stubborn_ids.items():
        running = [c.id for c in controller.running(name, "c")]
        assert running == [cid], f"{name} should still wait out its grace period"
    view = controller.view("web")
    assert view is not None
    assert view.status.container_statuses[0].restart_count == 1


async def test_a_hundred_stops_in_their_grace_period_leave_other_calls_a_connection(
    controller: Controller, docker: aiodocker.Docker, docker_host: str
) -> None:
    """Each waiting stop holds an HTTP connection to the engine for its whole grace period; past
    aiohttp's default pool of 100 connections, every other call would wait for one."""
    stubborn = pod("stubborn", [container("c", "sh", "-c", IGNORES_TERM, image=DEMO_IMAGE)])
    await controller.start([stubborn])
    await controller.wait_running_ready("stubborn", timeout=60)
    (target,) = controller.running("stubborn", "c")
    await controller.stop()  # the runtime alone from here: no controller acts meanwhile
    runtime = DockerRuntime(NODE, RuntimeSettings(), docker_host)
    stops = [
        asyncio.create_task(runtime.stop_container(target.id, grace_seconds=5)) for _ in range(110)
    ]
    try:
        await eventually(lambda: _got_term(docker, target.id), timeout=5, what="SIGTERM sent")
        started = time.monotonic()
        listed = await runtime.list_containers()
        took = time.monotonic() - started
        assert any(c.id == target.id for c in listed)
        assert took < 2.0, f"a listing waited {took:.2f} s behind 110 stops in their grace period"
        assert not any(s.done() for s in stops)  # they still wait out the grace period
        await asyncio.wait_for(asyncio.gather(*stops), timeout=30)
    finally:
        for stop in stops:
            stop.cancel()
        await asyncio.gather(*stops, return_exceptions=True)
        await runtime.close()


async def _at_least(count: object, wanted: int) -> bool:
    return await count() >= wanted  # type: ignore[operator, no-any-return]
