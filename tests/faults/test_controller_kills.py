"""The controller SIGKILLed at seeded random points of create, scale, rollout and delete.

A folder with a ReplicaSet, a Deployment and bare pods is changed the way a user changes it (a
ReplicaSet scaled up or down, a Deployment rolled out, bare pods created and deleted by writing
and removing files); at a random moment after each change the `podyard run` process is
SIGKILLed and started again on the same folder and port. After each restart the case polls the
engine and the API until both show exactly what the folder declares, and counts:

- duplicates: a pod name with two live instances (running containers of two uids) at any poll;
- orphans: a container or volume whose pod is not declared, once converged (or at the deadline);
- needless restarts: a container of a pod that was Running before the change and still exists
  after it, whose container id (and so its restart-count label) changed;
- convergence: seconds from the restart to the engine and the API showing the declared pods,
  in sync; the promise is 10 s.

The first kill lands during the initial creation. Deleting a bare pod's file and killing the
controller before it acted leaves the next one a missing file whose pod runs, which it holds for
`--hold-seconds` before deleting (the start-up rule for files missing while their pods run): the
case shortens the hold to 2 s so the 10 s bound measures recovery, not that wait.
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.conftest import Record
from tests.faults.observe import (
    EngineView,
    api_pods,
    orphans,
    sync_problems,
    try_read_engine,
)
from tests.faults.variant import FaultVariant
from tests.faults.workloads import DEPLOYMENT, REPLICASET, Workloads, group_of
from tests.integration.harness import ControllerProcess, eventually

CONVERGENCE_BOUND = 10.0
"""Seconds from a restart to the declared state: the promise."""
WAIT = 30.0
"""How long a restart is watched before it counts as not converged (beyond the bound, so the
figure still says by how much the bound was missed)."""
HOLD_SECONDS = "2"
OPS = ("scale", "rollout", "create", "delete")


@dataclass
class Before:
    """The converged state a change starts from: what must come through it untouched."""

    containers: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(pod uid, container name) -> (running container id, its restart-count label), of pods
    Running and ready."""
    pods: dict[str, tuple[str, str]] = field(default_factory=dict)
    """pod uid -> (its group: bare, ReplicaSet or Deployment; its name), same pods."""
    replicas: int = 0
    version: int = 0


@dataclass
class Recovery:
    op: str
    kill_after: float
    converged_after: float | None = None
    duplicates: set[str] = field(default_factory=set)
    orphans: int = 0
    restarted: list[str] = field(default_factory=list)
    """Containers of pods that came through, whose container changed."""
    replaced: list[str] = field(default_factory=list)
    """Pods gone although the change did not remove them (their containers made again)."""
    problems: list[str] = field(default_factory=list)
    after: Before = field(default_factory=Before)


def change(workloads: Workloads, op: str, rng: random.Random) -> str:
    """Apply one user change to the model; returns what was done, for the figures."""
    if op == "delete" and len(workloads.bare) <= 1:
        op = "create"
    if op == "create" and len(workloads.bare) >= 4:
        op = "delete"
    if op == "scale":
        old = workloads.replicas
        workloads.replicas = rng.choice([n for n in range(1, 6) if n != old])
        return f"scale {old}->{workloads.replicas}"
    if op == "rollout":
        workloads.version += 1
        return f"rollout v{workloads.version}"
    if op == "create":
        return f"create {workloads.add_bare()}"
    return f"delete {workloads.bare.pop(0)}"


def snapshot(pods: list[dict[str, Any]], engine: EngineView, workloads: Workloads) -> Before:
    ready = {
        str(p["metadata"]["uid"]): (group_of(p), str(p["metadata"]["name"]))
        for p in pods
        if p["status"].get("phase") == "Running"
        and all(cs.get("ready") for cs in p["status"].get("containerStatuses") or [])
    }
    containers = {(c.uid, c.name): (c.id, c.attempt) for c in engine.running() if c.uid in ready}
    return Before(containers, ready, workloads.replicas, workloads.version)


def needlessly_replaced(before: Before, live: set[str], workloads: Workloads) -> list[str]:
    """Pods of `before` gone beyond what the change removes (a scale-down's difference, the
    old pods of a rollout, a deleted file's pod)."""
    gone = [(group, name) for uid, (group, name) in before.pods.items() if uid not in live]
    out = [name for group, name in gone if group == "bare" and name in workloads.bare]
    scaled_down = max(0, before.replicas - workloads.replicas)
    pack = [name for group, name in gone if group == REPLICASET]
    out += pack[scaled_down:]
    if workloads.version == before.version:
        out += [name for group, name in gone if group == DEPLOYMENT]
    return out


async def recover(
    c: ControllerProcess,
    docker_host: str,
    workloads: Workloads,
    before: Before,
    op: str,
    delay: float,
) -> Recovery:
    """Start the controller again and watch until it shows the declared state, or WAIT ends."""
    outcome = Recovery(op, delay)
    last: dict[str, Any] = {}
    started = time.monotonic()
    c.start()

    def converged() -> bool:
        engine = try_read_engine(docker_host)
        pods = api_pods(c.server)
        if engine is not None:
            outcome.duplicates |= engine.duplicated_names()
        last.update(engine=engine, pods=pods)
        if engine is None or pods is None:
            outcome.problems = ["engine or API not answering"]
            return False
        outcome.problems = workloads.declared_problems(pods) + sync_problems(pods, engine)
        return not outcome.problems

    try:
        await eventually(converged, timeout=WAIT, interval=0.2, what="the declared state")
        outcome.converged_after = time.monotonic() - started
    except AssertionError:
        pass
    engine, pods = last.get("engine"), last.get("pods")
    if isinstance(engine, EngineView) and pods is not None:
        outcome.orphans = orphans(workloads.declared(pods), engine)
        now = {(c.uid, c.name): (c.id, c.attempt) for c in engine.running()}
        live_uids = {str(p["metadata"]["uid"]) for p in pods}
        names = {uid: name for uid, (_, name) in before.pods.items()}
        outcome.restarted = [
            f"{names[uid]}/{name} (restart-count {was[1]} -> {now.get((uid, name), ('', '-'))[1]})"
            for (uid, name), was in before.containers.items()
            if uid in live_uids and now.get((uid, name)) != was
        ]
        outcome.replaced = needlessly_replaced(before, live_uids, workloads)
        outcome.after = snapshot(pods, engine, workloads)
    return outcome


def figure(outcomes: list[Recovery], kills: int) -> str:
    times = [o.converged_after for o in outcomes if o.converged_after is not None]
    ops: dict[str, int] = {}
    for o in outcomes:
        kind = o.op.split()[0]
        ops[kind] = ops.get(kind, 0) + 1
    return (
        f"kills {len(outcomes)}/{kills} ({', '.join(f'{k} {n}' for k, n in ops.items())}); "
        f"convergence max {max(times, default=float('nan')):.1f} s, "
        f"median {statistics.median(times) if times else float('nan'):.1f} s "
        f"(bound {CONVERGENCE_BOUND:g} s, not converged in {WAIT:g} s: {len(outcomes) - len(times)}); "
        f"duplicates {sum(len(o.duplicates) for o in outcomes)}; "
        f"orphans {sum(o.orphans for o in outcomes)}; "
        f"needless restarts {sum(len(o.restarted) for o in outcomes)} "
        f"(+ pods needlessly replaced {sum(len(o.replaced) for o in outcomes)})"
    )


async def test_controller_sigkilled_at_seeded_points_converges_without_harm(
    docker_host: str, tmp_path: Path, variant: FaultVariant, record_figure: Record
) -> None:
    rng = variant.rng("controller-kills")
    folder = tmp_path / "manifests"
    workloads = Workloads()
    workloads.add_bare()
    workloads.add_bare()
    workloads.apply(folder)
    c = ControllerProcess(
        docker_host, folder, tmp_path / "controller.log", "--hold-seconds", HOLD_SECONDS
    )
    outcomes: list[Recovery] = []
    before = Before()
    ops: list[str] = []
    try:
        c.start()
        for k in range(variant.kills):
            if k == 0:
                op, delay = f"create {REPLICASET} and all", rng.uniform(0.8, 2.5)
            else:
                if not ops:
                    ops = list(OPS)
                    rng.shuffle(ops)
                op = change(workloads, ops.pop(), rng)
                workloads.apply(folder)
                delay = rng.uniform(0.0, 1.5)
            # The kill point itself, drawn from the seed: not a wait for anything.
            await asyncio.sleep(delay)
            code = c.kill(signal.SIGKILL)
            assert code == -signal.SIGKILL, (
                f"the controller exited by itself ({code}) before kill {k}"
            )
            outcome = await recover(c, docker_host, workloads, before, op, delay)
            outcomes.append(outcome)
            if outcome.converged_after is None:
                break  # what follows would measure this failure again
            before = outcome.after
    finally:
        c.stop()
        record_figure(figure(outcomes, variant.kills))

    details = "; ".join(
        f"{o.op} killed after {o.kill_after:.2f} s: "
        + (f"{o.converged_after:.1f} s" if o.converged_after is not None else "not converged")
        + (f", duplicates {sorted(o.duplicates)}" if o.duplicates else "")
        + (f", orphans {o.orphans}" if o.orphans else "")
        + (f", restarted {o.restarted}" if o.restarted else "")
        + (f", replaced {o.replaced}" if o.replaced else "")
        + (f", last problems {o.problems}" if o.problems else "")
        for o in outcomes
    )
    assert all(o.converged_after is not None for o in outcomes), f"seed {variant.seed}: {details}"
    assert not any(o.duplicates for o in outcomes), f"seed {variant.seed}: {details}"
    assert not any(o.orphans for o in outcomes), f"seed {variant.seed}: {details}"
    assert not any(o.restarted for o in outcomes), f"seed {variant.seed}: {details}"
    assert not any(o.replaced for o in outcomes), f"seed {variant.seed}: {details}"
    slowest = max(o.converged_after or 0.0 for o in outcomes)
    assert slowest <= CONVERGENCE_BOUND, f"seed {variant.seed}: {details}"
    assert len(outcomes) == variant.kills
