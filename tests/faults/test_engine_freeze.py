"""dockerd frozen (SIGSTOP): the API keeps answering, /healthz says so, recovery follows SIGCONT.

A hung engine accepts connections and never answers, the worst case for a controller: only
deadlines protect it. While the private dockerd is stopped for the variant's freeze (15 s short,
30 s long), the case polls the controller's API (``/healthz``, ``/readyz``, ``/api/v1/pods``,
``/metrics``) twice a second: every request must be answered within `API_BOUND` seconds, and
``/healthz`` must report the controller unable to do its job (HTTP 500, or a ``[-]`` check in
its body) at some point during the freeze, since its node cannot be relisted. One second into
the freeze an app container's process is SIGKILLed from the host (containerd still runs; the
frozen engine learns of it when it wakes). After SIGCONT, within 15 s, ``/healthz`` must be ok
again and that container running again, the API and the engine in sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from tests.faults.conftest import Record
from tests.faults.observe import SANDBOX, http_get, read_engine, wait_ready
from tests.faults.variant import FaultVariant
from tests.faults.workloads import Declared, Workloads
from tests.integration.dockerd import PrivateDockerd, engine_request
from tests.integration.harness import ControllerProcess, eventually

API_BOUND = 3.0
"""Seconds any API request may take while the engine is frozen."""
RELIST_THRESHOLD = "5"
"""`--relist-threshold`: the age (s) of a node's last good relist at which `/healthz` fails.
The default is the kubelet's 3 minutes; the case brings it under the freeze, above the 2 s
relist interval `ControllerProcess` sets."""
RECOVERY_BOUND = 15.0
PATHS = ("/healthz", "/readyz", "/api/v1/pods", "/metrics")


def unhealthy(status: int, body: str) -> bool:
    return status >= 500 or "[-]" in body


def healthy(server: str) -> bool:
    try:
        status, body = http_get(server, "/healthz", timeout=API_BOUND)
    except OSError:
        return False
    return status == 200 and not unhealthy(status, body)


async def test_frozen_engine_keeps_the_api_answering_fails_healthz_and_recovers(
    private_dockerd: PrivateDockerd,
    docker_host: str,
    tmp_path: Path,
    variant: FaultVariant,
    record_figure: Record,
) -> None:
    rng = variant.rng("engine-freeze")
    folder = tmp_path / "manifests"
    workloads = Workloads(replicas=2, with_deployment=False)
    workloads.add_bare()
    workloads.apply(folder)
    c = ControllerProcess(
        docker_host, folder, tmp_path / "controller.log", "--relist-threshold", RELIST_THRESHOLD
    )
    declared = Declared(workloads, c.server, docker_host)
    slowest = dict.fromkeys(PATHS, 0.0)
    unanswered: list[str] = []
    health_failed_after: float | None = None
    recovery: float | None = None
    frozen_for = 0.0
    try:
        c.start()
        await wait_ready(c)
        await declared.wait(60, "the pods running before the freeze")
        await eventually(lambda: healthy(c.server), timeout=30, what="/healthz ok before")
        victim = rng.choice(
            sorted(
                (x.uid, x.name, x.id)
                for x in read_engine(docker_host).running()
                if x.name != SANDBOX
            )
        )
        inspect = engine_request(docker_host, "GET", f"/containers/{victim[2]}/json")
        victim_pid = int(inspect["State"]["Pid"])
        dockerd = private_dockerd.pid
        assert dockerd is not None

        os.kill(dockerd, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            killed = False
            # The freeze has a fixed length by definition: sample the API through it.
            while (elapsed := time.monotonic() - frozen_at) < variant.freeze_seconds:
                for path in PATHS:
                    asked = time.monotonic()
                    try:
                        status, body = await asyncio.to_thread(http_get, c.server, path, API_BOUND)
                    except OSError as exc:
                        unanswered.append(f"{path} at {elapsed:.1f} s: {exc}")
                        continue
                    slowest[path] = max(slowest[path], time.monotonic() - asked)
                    if (
                        path == "/healthz"
                        and health_failed_after is None
                        and unhealthy(status, body)
                    ):
                        health_failed_after = time.monotonic() - frozen_at
                if not killed and elapsed >= 1.0:
                    os.kill(victim_pid, signal.SIGKILL)
                    killed = True
                await asyncio.sleep(0.5)
        finally:
            os.kill(dockerd, signal.SIGCONT)
            frozen_for = time.monotonic() - frozen_at
        thawed_at = time.monotonic()

        def recovered() -> bool:
            if not healthy(c.server) or not declared():
                return False
            now = {(x.uid, x.name): x.id for x in read_engine(docker_host).running()}
            return now.get((victim[0], victim[1]), victim[2]) != victim[2]

        with contextlib.suppress(AssertionError):
            await eventually(recovered, timeout=45, interval=0.25, what="recovery")
            recovery = time.monotonic() - thawed_at
    finally:
        c.stop()
        if not frozen_for:
            record_figure("the engine was never frozen: the case failed before")
        else:
            record_figure(
                f"engine frozen {frozen_for:.1f} s; API slowest answer "
                + ", ".join(f"{p} {s:.2f} s" for p, s in slowest.items())
                + f", unanswered {len(unanswered)} (bound {API_BOUND:g} s); /healthz failed "
                + (
                    f"{health_failed_after:.1f} s in"
                    if health_failed_after is not None
                    else "never"
                )
                + "; recovered (healthz ok, killed container back, in sync) "
                + (f"{recovery:.1f} s after SIGCONT" if recovery is not None else "not in 45 s")
                + f" (bound {RECOVERY_BOUND:g} s)"
            )

    assert not unanswered, f"API requests blocked by the frozen engine: {unanswered}"
    assert max(slowest.values()) <= API_BOUND
    assert health_failed_after is not None, "/healthz said ok all through the freeze"
    assert recovery is not None, f"no recovery after SIGCONT; still: {declared.problems}"
    assert recovery <= RECOVERY_BOUND
