"""One controller per engine: two real `podyard run` processes on one private engine.

Exactly one acts; the other stands by, says who holds the lease, and takes over when the holder dies
(SIGKILL: its process is gone), freezes (SIGSTOP: only expiry tells) or stops (SIGTERM: released),
without replacing a single pod. A standby on another folder never touches the holder's pods.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import attrs
import pytest

from controller.config import LeaseSettings, RuntimeSettings
from controller.engine.lease import NodeLease, local_holder
from controller.engine.renewalgate import RenewalGate
from controller.engine.slots import SlottedRuntime
from controller.model.errors import NameConflict, NotOurs
from controller.model.lease import LeaseRecord
from controller.model.meta import ContainerId
from controller.runtime.docker.runtime import DockerRuntime
from tests.integration.dockerd import PAUSE_IMAGE, PrivateDockerd
from tests.integration.harness import NODE, ControllerProcess, eventually, podyard_containers
from tests.integration.manifests import pod_yaml, replicaset_yaml, write

TAKEOVER_LIMIT = 15.0
"""Seconds from the holder's death to the standby acting: the issue's promise."""


def start(
    processes: list[ControllerProcess], host: str, folder: Path, log: Path
) -> ControllerProcess:
    process = ControllerProcess(host, folder, log)
    processes.append(process)
    process.start()
    return process


def lease(process: ControllerProcess) -> dict[str, Any] | None:
    try:
        items = process.get("/podyard/v1/leases")["items"]
    except OSError:
        return None
    return items[0] if items and items[0]["holder"] else None


def metric(process: ControllerProcess, name: str, labels: str) -> float | None:
    with urllib.request.urlopen(process.server + "/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(match[1]) if match else None


def pods_state(
    process: ControllerProcess,
) -> dict[str, tuple[str, tuple[tuple[str, str, int], ...]]]:
    """Per pod: its uid and, per container, (name, container id, restart count)."""
    result = {}
    for item in process.get("/api/v1/pods")["items"]:
        statuses = tuple(
            sorted(
                (s["name"], s.get("containerID", ""), s["restartCount"])
                for s in item["status"].get("containerStatuses", [])
            )
        )
        result[item["metadata"]["name"]] = (item["metadata"]["uid"], statuses)
    return result


def all_running(process: ControllerProcess, count: int) -> dict[str, Any] | None:
    try:
        items = process.get("/api/v1/pods")["items"]
    except OSError:
        return None
    running = [
        i
        for i in items
        if i["status"]["phase"] == "Running"
        and all(s.get("ready") for s in i["status"].get("containerStatuses", []))
    ]
    return pods_state(process) if len(items) == len(running) == count else None


def engine_ids(host: str) -> set[str]:
    return {row["id"] for row in podyard_containers(host)}


async def acting_pair(
    processes: list[ControllerProcess], host: str, tmp_path: Path
) -> tuple[ControllerProcess, ControllerProcess, dict[str, Any], set[str]]:
    """A holder running a ReplicaSet of 3 and a bare Pod, and a standby on the same folder."""
    folder = tmp_path / "manifests"
    write(folder, "rs.yaml", replicaset_yaml("web", 3))
    write(folder, "solo.yaml", pod_yaml("solo", containers=1))
    first = start(processes, host, folder, tmp_path / "first.log")
    await eventually(first.ready, timeout=60, what="the first controller acting")
    state = await eventually(lambda: all_running(first, 4), timeout=90, what="4 pods running")
    second = start(processes, host, folder, tmp_path / "second.log")
    seen = await eventually(lambda: lease(second), timeout=30, what="the standby reading the lease")
    assert seen["heldByThisController"] is False
    assert seen["holder"]["pid"] == first.proc.pid  # type: ignore[union-attr]
    assert seen["holder"]["api"] == first.server
    assert not second.ready()
    await eventually(
        lambda: "standing by" in second.log_text(), timeout=10, what="the standby's log line"
    )
    assert (lease(first) or {}).get("heldByThisController") is True
    assert metric(first, "podyard_lease_held", f'node="{NODE}"') == 1.0
    assert metric(second, "podyard_lease_held", f'node="{NODE}"') == 0.0
    return first, second, state, engine_ids(host)


async def test_sigkill_of_the_holder_hands_over_within_15s_replacing_no_pod(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    first, second, before, ids = await acting_pair(processes, docker_host, tmp_path)
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    killed = time.monotonic()
    await eventually(second.ready, timeout=TAKEOVER_LIMIT + 5, interval=0.05, what="takeover")
    took = time.monotonic() - killed
    print(f"takeover after SIGKILL of the holder: {took:.2f} s")
    assert took <= TAKEOVER_LIMIT
    after = await eventually(lambda: all_running(second, 4), timeout=30, what="4 pods, new holder")
    assert after == before  # same uids, same container ids, same restart counts
    assert engine_ids(docker_host) == ids
    assert metric(second, "podyard_lease_held", f'node="{NODE}"') == 1.0
    events = second.get("/api/v1/namespaces/default/events")["items"]
    assert any(e["reason"] == "LeaderElection" and "became leader" in e["message"] for e in events)


async def test_a_frozen_holder_loses_the_lease_by_expiry_and_stops_acting(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    first, second, before, ids = await acting_pair(processes, docker_host, tmp_path)
    assert first.proc is not None
    first.proc.send_signal(signal.SIGSTOP)  # alive, so only expiry can hand the lease over
    frozen = time.monotonic()
    await eventually(second.ready, timeout=TAKEOVER_LIMIT + 5, interval=0.05, what="takeover")
    took = time.monotonic() - frozen
    print(f"takeover from a frozen holder (lease expiry): {took:.2f} s")
    assert 8.0 <= took <= TAKEOVER_LIMIT
    first.proc.send_signal(signal.SIGCONT)
    await eventually(lambda: not first.ready(), timeout=10, what="the woken holder standing by")
    await eventually(
        lambda: (lease(first) or {}).get("heldByThisController") is False,
        timeout=10,
        what="the woken holder reporting the new holder",
    )
    assert "stopping at once" in first.log_text()
    after = await eventually(lambda: all_running(second, 4), timeout=30, what="4 pods, new holder")
    assert after == before
    assert engine_ids(docker_host) == ids


async def test_a_standby_on_another_folder_never_touches_the_holders_pods(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    write(tmp_path / "mine", "mine.yaml", pod_yaml("mine", containers=1))
    write(tmp_path / "theirs", "theirs.yaml", pod_yaml("theirs", containers=1))
    first = start(processes, docker_host, tmp_path / "mine", tmp_path / "first.log")
    before = await eventually(lambda: all_running(first, 1), timeout=60, what="the first pod")
    ids = engine_ids(docker_host)
    second = start(processes, docker_host, tmp_path / "theirs", tmp_path / "second.log")
    seen = await eventually(lambda: lease(second), timeout=30, what="the standby reading the lease")
    assert seen["holder"]["manifests"] == str((tmp_path / "mine").absolute())
    # Five looks at the lease (ten seconds) and still nothing of the second folder on the engine.
    await eventually(
        lambda: (
            (
                metric(
                    second,
                    "podyard_runtime_operations_total",
                    f'node="{NODE}",operation="read_lease"',
                )
                or 0
            )
            >= 5
        ),
        timeout=30,
        what="five looks at the lease",
    )
    assert engine_ids(docker_host) == ids
    assert {row["pod"] for row in podyard_containers(docker_host)} == {"mine"}
    assert pods_state(first) == before
    # SIGTERM releases the lease: the standby acts at its next look, not after the expiry.
    first.stop()
    released = time.monotonic()
    await eventually(second.ready, timeout=10, interval=0.05, what="takeover after release")
    took = time.monotonic() - released
    print(f"takeover after SIGTERM (released): {took:.2f} s")
    assert took < 5.0


async def test_the_docker_primitive_create_renew_remove_by_id(docker_host: str) -> None:
    runtime = DockerRuntime(NODE, RuntimeSettings(pause_image=PAUSE_IMAGE), docker_host)
    me = local_holder("/srv/a", "http://127.0.0.1:1")
    try:
        first = await runtime.create_lease(me, 10.0)
        assert first.holder == me
        assert first.duration_seconds == 10.0
        assert first.renewed
        with pytest.raises(NameConflict):
            await runtime.create_lease(attrs.evolve(me, id="other"), 10.0)

        async def renewed_anew() -> LeaseRecord | None:
            # a renewal while the last start's process has not exited yet is a 304 (the lease
            # is as fresh as it was): renew again until the engine stamps a new start
            assert await runtime.renew_lease(first.container_id)
            lease = await runtime.read_lease()
            return lease if lease is not None and lease.renewed != first.renewed else None

        renewed = await eventually(renewed_anew, timeout=10, what="a renewal stamped anew")
        assert renewed.container_id == first.container_id
        assert await runtime.list_containers() == []  # never seen as a pod's container
        with pytest.raises(NotOurs):
            await runtime.remove_container(first.container_id)
        await runtime.remove_lease(first.container_id)
        second = await runtime.create_lease(attrs.evolve(me, id="other"), 10.0)
        await runtime.remove_lease(first.container_id)  # the old id: the new lease stays
        assert not await runtime.renew_lease(first.container_id)
        current = await runtime.read_lease()
        assert current is not None
        assert current.container_id == second.container_id
    finally:
        await runtime.close()


async def test_a_renewal_held_up_by_the_engine_holds_pod_calls_back_and_costs_no_lease(
    private_dockerd: PrivateDockerd,
) -> None:
    """dockerd frozen for about four seconds, less than the renew deadline: the renewal is slow,
    so the gate closes and a pod's call waits at the slots instead of joining the engine's queue;
    once the engine answers, the renewal goes through, the gate opens, the call goes on, and the
    lease was never lost."""
    host = private_dockerd.docker_host
    runtime = DockerRuntime(NODE, RuntimeSettings(pause_image=PAUSE_IMAGE), host)
    gate = RenewalGate(NODE, ceiling=8.0)
    me = local_holder("/srv/a", "http://127.0.0.1:1")
    lease = NodeLease(runtime, me, LeaseSettings(), time.monotonic, gate=gate)
    slotted = SlottedRuntime(runtime, slots=2, wait_seconds=30.0, gate=gate)
    pid = private_dockerd.pid
    assert pid is not None
    try:
        assert await lease.try_acquire()
        os.kill(pid, signal.SIGSTOP)
        try:
            assert await lease.renew()  # no answer within the retry period: held, tried again
            assert lease.renewal_failing
            # pending for a retry period: the gate closes (as the attempt gave up, or just after)
            await eventually(lambda: gate.closed, timeout=3, interval=0.05, what="gate closed")
            pod_call = asyncio.create_task(slotted.inspect_container(ContainerId("nosuch")))
            await asyncio.sleep(0.5)
            assert slotted.in_flight == 0  # held at the gate, not sent to the engine
            assert not pod_call.done()
        finally:
            os.kill(pid, signal.SIGCONT)

        async def renewed() -> bool:
            assert await lease.renew()  # never lost: the freeze is shorter than the deadline
            return not lease.renewal_failing

        await eventually(renewed, timeout=10, interval=0.5, what="renewed again")
        assert not gate.closed
        assert await asyncio.wait_for(pod_call, timeout=10) is None  # it went on: 404, None
        assert lease.valid()
        assert gate.closings == 1
    finally:
        os.kill(pid, signal.SIGCONT)
        await lease.release()
        await runtime.close()
