"""Pod-level resources on a real engine (cgroup v1, cgroupfs): the pod's containers share one
limit, their sandbox's, though each alone is unlimited.

Memory is taken by busybox's `tail -c 48m`, which keeps the last 48 MiB of its input in anonymous
memory until it has written them; its output goes to a FIFO nobody reads, so it holds them. It is a
child of the container's shell, not PID 1: an OOM kill of a PID 1 is sometimes missed by the
engine on cgroup v1, the kill of a child never (the shell then exits with its 137).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiodocker
import attrs

from controller.model.pod import Container, Pod, ResourceList, ResourceRequirements, RestartPolicy
from controller.model.quantity import Quantity
from controller.model.status import Running, Terminated
from controller.runtime.docker.cgroups import POD_CGROUP_ROOT
from tests.factories import container, pod
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually

HOLD_48_MIB = (
    "mkfifo /in /out; head -c 48m /dev/zero > /in & sleep 3600 < /out & "
    "tail -c 48m /in > /out; exit $?"
)
BUSY = "while :; do :; done"
MiB = 2**20


def with_pod_limits(p: Pod, **limits: str) -> Pod:
    values = ResourceList(**{k: Quantity.parse(v) for k, v in limits.items()})
    spec = attrs.evolve(p.spec, resources=ResourceRequirements(limits=values))
    return attrs.evolve(p, spec=spec)


def two(name: str, script: str, policy: RestartPolicy = RestartPolicy.NEVER) -> Pod:
    members: list[Container] = [
        container(c, "sh", "-c", script, image=DEMO_IMAGE) for c in ("a", "b")
    ]
    return pod(name, members, restart_policy=policy, grace=1)


def memory_used(docker_host: str, container_id: str) -> int:
    """The container's memory use as `docker stats` reads it from its cgroup, in bytes."""
    text = docker_cli(
        docker_host, "stats", "--no-stream", "--format", "{{.MemUsage}}", container_id
    )
    match = re.match(r"([\d.]+)([KMG]i?B|B)", text.strip())
    assert match, text
    unit = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[match[2]]
    return int(float(match[1]) * unit)


async def delete_and_wait(controller: Controller, name: str) -> None:
    controller.set_pods([])
    await eventually(lambda: not controller.containers(name), timeout=30, what="pod removed")


async def test_two_containers_over_the_pods_memory_limit_one_is_oom_killed(
    controller: Controller, docker_host: str
) -> None:
    await controller.start([with_pod_limits(two("shared", HOLD_48_MIB), memory="64Mi")])
    await controller.wait_phase("shared", "Running")
    sandbox = controller.running("shared", "POD")[0]
    for app in ("a", "b"):
        found = [c for c in controller.containers("shared") if c.identity.container_name == app]
        raw = docker_cli(docker_host, "inspect", "-f", "{{.HostConfig.CgroupParent}}", found[0].id)
        assert raw.strip() == f"{POD_CGROUP_ROOT}/{sandbox.id}"

    def one_killed() -> tuple[str, str] | None:
        view = controller.view("shared")
        if view is None:
            return None
        by_state = {type(s.state).__name__: s for s in view.status.container_statuses}
        killed, alive = by_state.get("Terminated"), by_state.get("Running")
        if killed is None or alive is None:
            return None
        assert isinstance(killed.state, Terminated)
        return (killed.state.reason, alive.name)

    reason, survivor = await eventually(one_killed, timeout=30, what="one container OOM-killed")
    assert reason == "OOMKilled"
    # the other holds its 48 MiB within the pod's limit: each alone fits
    survivor_id = controller.running("shared", survivor)[0].id
    held = await eventually(
        lambda: (m := memory_used(docker_host, survivor_id)) >= 45 * MiB and m,
        timeout=15,
        what="the survivor holding its 48 MiB",
    )
    assert held <= 64 * MiB
    assert memory_used(docker_host, sandbox.id) <= 64 * MiB  # the pod's cgroup counts both
    view = controller.view("shared")
    assert view is not None
    states = {s.name: s.state for s in view.status.container_statuses}
    assert isinstance(states[survivor], Running)

    # deleted apps first, then the sandbox: no cgroup of the pod stays behind on the host
    await delete_and_wait(controller, "shared")
    assert not list(Path("/sys/fs/cgroup").glob(f"*{POD_CGROUP_ROOT}/{sandbox.id}"))


async def test_without_the_pod_limit_both_hold_their_memory(
    controller: Controller, docker_host: str
) -> None:
    await controller.start([two("apart", HOLD_48_MIB)])
    await controller.wait_running_ready("apart")
    ids = [controller.running("apart", c)[0].id for c in ("a", "b")]
    for cid in ids:
        await eventually(
            lambda cid=cid: memory_used(docker_host, cid) >= 45 * MiB,
            timeout=15,
            what="48 MiB held",
        )
    view = await controller.wait_running_ready("apart")
    assert all(isinstance(s.state, Running) for s in view.status.container_statuses)
    assert all(s.restart_count == 0 for s in view.status.container_statuses)


async def _cpu_seconds(docker: aiodocker.Docker, container_id: str) -> float:
    [stats] = await docker.containers.container(container_id).stats(stream=False)
    return int(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9


async def test_two_busy_containers_together_use_no_more_than_the_pods_cpu(
    controller: Controller, docker: aiodocker.Docker
) -> None:
    await controller.start([with_pod_limits(two("busy", BUSY), cpu="500m")])
    await controller.wait_running_ready("busy")
    ids = [controller.running("busy", c)[0].id for c in ("a", "b")]
    before = [await _cpu_seconds(docker, cid) for cid in ids]
    started = time.monotonic()
    await asyncio.sleep(4.0)  # the measurement window (no state to wait for)
    after = [await _cpu_seconds(docker, cid) for cid in ids]
    elapsed = time.monotonic() - started
    cores = (sum(after) - sum(before)) / elapsed
    print(f"two busy containers under a 500m pod limit used {cores:.3f} cores")
    assert cores <= 0.5 * 1.1, cores
    assert cores >= 0.2, cores  # they did run, and share what the pod has
    each = [(a - b) / elapsed for a, b in zip(after, before, strict=True)]
    assert all(c >= 0.05 for c in each), each  # both got cpu, neither alone used the pod's
    await delete_and_wait(controller, "busy")


async def test_a_killed_sandbox_rebuilds_the_pod_in_a_new_cgroup_and_leaves_none_behind(
    controller: Controller, docker_host: str
) -> None:
    idle = "trap 'exit 0' TERM; while true; do sleep 1; done"
    rebuilt_pod = two("rebuilt", idle, RestartPolicy.ALWAYS)
    await controller.start([with_pod_limits(rebuilt_pod, memory="64Mi", cpu="500m")])
    await controller.wait_running_ready("rebuilt")
    old = controller.running("rebuilt", "POD")[0]
    old_cgroups = f"*{POD_CGROUP_ROOT}/{old.id}"
    assert list(Path("/sys/fs/cgroup").glob(old_cgroups))
    # the pause process dies while the containers run: its cgroup cannot go (it has children)
    docker_cli(docker_host, "kill", "-s", "KILL", old.id)

    def rebuilt() -> str | None:
        sandboxes = [s for s in controller.running("rebuilt", "POD") if s.id != old.id]
        apps = [c for n in ("a", "b") for c in controller.running("rebuilt", n)]
        if len(sandboxes) != 1 or len(apps) != 2:
            return None
        return sandboxes[0].id

    new = await eventually(rebuilt, timeout=30, what="the pod rebuilt in a new sandbox")
    for app in ("a", "b"):
        cid = controller.running("rebuilt", app)[0].id
        parent = docker_cli(docker_host, "inspect", "-f", "{{.HostConfig.CgroupParent}}", cid)
        assert parent.strip() == f"{POD_CGROUP_ROOT}/{new}"
    # the dead sandbox is removed with the rebuild, and its emptied cgroups with it
    await eventually(
        lambda: not list(Path("/sys/fs/cgroup").glob(old_cgroups)),
        timeout=15,
        what="the old sandbox's cgroups removed",
    )
    await delete_and_wait(controller, "rebuilt")
    assert not list(Path("/sys/fs/cgroup").glob(f"*{POD_CGROUP_ROOT}/{new}"))
