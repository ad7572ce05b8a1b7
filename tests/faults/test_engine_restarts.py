"""dockerd restarted three times under a running controller: it never exits and resyncs in 15 s.

Each restart takes every container down with it (the private engine runs without live-restore,
like a default install), one of each kind, in a seeded order:

- graceful: SIGTERM and start again, as ``systemctl restart docker`` does;
- crash: dockerd SIGKILLed; the new one finds the containers still running and stops them;
- reboot: dockerd and every container SIGKILLed, as a node that lost power.

From the moment the engine answers again the case measures how long until the API's pods match
the engine (every declared pod Running and ready on the containers the engine runs), then kills
one app container on the engine and measures how long until it runs again. The promise: back in
sync within 15 s each time, the controller process alive throughout.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.conftest import Record
from tests.faults.observe import SANDBOX, read_engine, wait_ready
from tests.faults.variant import FaultVariant
from tests.faults.workloads import Declared, Workloads
from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, docker_cli

RESYNC_BOUND = 15.0
WAIT = 45.0
"""How long each step is watched (beyond the bound, so the figure shows by how much it missed)."""
MODES = ("graceful", "crash", "reboot")


def restart_engine(engine: PrivateDockerd, mode: str) -> None:
    if mode == "graceful":
        engine.restart()
    elif mode == "crash":
        engine.kill_engine()
        engine.restart()
    else:
        engine.restart(kill_containers=True)


async def test_controller_outlives_three_engine_restarts_and_resyncs(
    private_dockerd: PrivateDockerd,
    docker_host: str,
    tmp_path: Path,
    variant: FaultVariant,
    record_figure: Record,
) -> None:
    rng = variant.rng("engine-restarts")
    modes = list(MODES)
    rng.shuffle(modes)
    folder = tmp_path / "manifests"
    workloads = Workloads(replicas=2, with_deployment=False)
    workloads.add_bare()
    workloads.add_bare()
    workloads.apply(folder)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    declared = Declared(workloads, c.server, docker_host)
    figures: list[str] = []
    resyncs: list[float] = []
    kills: list[float] = []
    most_dead = 0
    try:
        c.start()
        assert c.proc is not None
        await wait_ready(c)
        await declared.wait(60, "the pods running before any restart")
        for mode in modes:
            await asyncio.to_thread(restart_engine, private_dockerd, mode)
            figures.append(f"{mode} resync ...")
            resyncs.append(await declared.wait(WAIT, f"back in sync after a {mode} restart"))
            assert c.proc.poll() is None, f"the controller exited after a {mode} restart"
            victim = rng.choice(
                sorted(x.id for x in read_engine(docker_host).running() if x.name != SANDBOX)
            )
            docker_cli(docker_host, "kill", victim)
            kills.append(await declared.wait(WAIT, f"a killed container back after {mode}"))
            most_dead = max(most_dead, read_engine(docker_host).most_dead_kept())
            figures[-1] = (
                f"{mode} resync {resyncs[-1]:.1f} s, killed container back {kills[-1]:.1f} s"
            )
        assert c.proc.poll() is None, "the controller exited"
    finally:
        alive = c.proc is not None and c.proc.poll() is None
        c.stop()
        record_figure(
            f"{len(resyncs)} engine restarts: {'; '.join(figures) or 'none'} "
            f"(bound {RESYNC_BOUND:g} s); controller {'alive' if alive else 'EXITED'}; "
            f"most dead instances kept of one container {most_dead}"
        )
    assert max(resyncs) <= RESYNC_BOUND, f"seed {variant.seed}: {figures}"
    assert max(kills) <= RESYNC_BOUND, f"seed {variant.seed}: {figures}"
