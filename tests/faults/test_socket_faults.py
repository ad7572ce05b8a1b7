"""The controller behind a faulty Docker socket: it converges, counts its errors, never spins.

Between `podyard run` and the private engine sits the fault proxy (``proxy.py``), seeded: 10% of
calls answered HTTP 500, 5% reset (half before the engine sees them, half after it acted, so the
controller never hears of what it did), 10% delayed 2 s, and its first event stream accepted and
then silent forever. The controller runs a ReplicaSet of 5 and 3 bare pods through it for the
variant's window; once converged, app containers are killed one after another (straight on the
engine), each restarted through the faults before the next.

It must converge, then bring every killed container back; count the failed calls in
``podyard_runtime_operations_errors_total``; and use little CPU meanwhile: retries must back off,
not spin (the bound is 25% of one core on average, from its API answering to the window's end).
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from pathlib import Path

from tests.faults.conftest import Record
from tests.faults.observe import SANDBOX, api_pods, cpu_seconds, metric_total, try_read_engine
from tests.faults.proxy import Fault, FaultPlan, FaultProxy
from tests.faults.variant import FaultVariant
from tests.faults.workloads import Declared, Workloads
from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, docker_cli, eventually

CPU_BOUND = 0.25
"""Average share of one core the controller may use while the faults run."""


async def test_controller_behind_a_faulty_socket_converges_without_a_hot_loop(
    private_dockerd: PrivateDockerd,
    docker_host: str,
    tmp_path: Path,
    variant: FaultVariant,
    record_figure: Record,
) -> None:
    rng = variant.rng("socket-faults")
    folder = tmp_path / "manifests"
    workloads = Workloads(replicas=5, with_deployment=False)
    for _ in range(3):
        workloads.add_bare()
    workloads.apply(folder)
    plan = FaultPlan(rng)
    proxy = FaultProxy(tmp_path / "faulty.sock", private_dockerd.socket_path, plan)
    c = ControllerProcess(proxy.docker_host, folder, tmp_path / "controller.log")
    converged_after: float | None = None
    restarts: list[float] = []
    cpu_share = errors = window = float("nan")
    measured_from = cpu_from = float("nan")
    try:
        proxy.start()
        c.start()
        assert c.proc is not None
        started = time.monotonic()
        await eventually(lambda: api_pods(c.server) is not None, timeout=30, what="the API")
        cpu_from, measured_from = cpu_seconds(c.proc.pid), time.monotonic()
        end = started + variant.proxy_seconds

        declared = Declared(workloads, c.server, docker_host)
        await declared.wait(variant.proxy_seconds, "convergence through the faults")
        converged_after = time.monotonic() - started
        while time.monotonic() < end:
            engine = try_read_engine(docker_host)
            assert engine is not None
            victim = rng.choice(sorted(x.id for x in engine.running() if x.name != SANDBOX))
            docker_cli(docker_host, "kill", victim)  # straight on the engine, not through faults
            killed = time.monotonic()
            await declared.wait(max(end - killed, 20.0), "the killed container back")
            restarts.append(time.monotonic() - killed)
        assert c.proc.poll() is None, "the controller exited"
    finally:
        # Measured even when the case failed: the figures then say how it went wrong.
        if c.proc is not None and c.proc.poll() is None and not math.isnan(measured_from):
            window = time.monotonic() - measured_from
            cpu_share = (cpu_seconds(c.proc.pid) - cpu_from) / window
            with contextlib.suppress(OSError, AssertionError):
                errors = metric_total(c.server, "podyard_runtime_operations_errors_total")
        c.stop()
        proxy.stop()
        counts = ", ".join(f"{fault.value} {n}" for fault, n in sorted(proxy.counts.items()))
        record_figure(
            f"{proxy.requests} engine calls through the proxy ({counts}); "
            f"event streams opened {proxy.event_streams}; "
            f"converged in {converged_after or float('nan'):.1f} s; "
            f"containers killed {len(restarts)}, back in max {max(restarts, default=float('nan')):.1f} s, "
            f"median {statistics.median(restarts) if restarts else float('nan'):.1f} s; "
            f"runtime errors counted {errors:g}; "
            f"controller CPU {cpu_share:.1%} of one core over {window:.0f} s (bound {CPU_BOUND:.0%})"
        )

    for fault in (Fault.ERROR, Fault.RESET, Fault.LOST, Fault.DELAY, Fault.STALL):
        assert proxy.counts[fault] >= 1, f"seed {variant.seed}: no {fault.value} was injected"
    assert errors > 0, (
        "failed engine calls are not counted in podyard_runtime_operations_errors_total"
    )
    assert restarts, "the window ended before any container was killed"
    assert cpu_share < CPU_BOUND, f"seed {variant.seed}: a hot loop? CPU {cpu_share:.1%}"
