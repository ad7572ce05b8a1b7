"""One controller for three engines: the lease holds on every node, and a standby takes over all
three within 15 s of the holder's SIGKILL, replacing no pod."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.integration.cluster import NODE_NAMES, ClusterProcess, write_nodes_file
from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, eventually, podyard_containers
from tests.integration.manifests import pod_yaml, replicaset_yaml, write
from tests.integration.test_engine_lease import TAKEOVER_LIMIT, all_running


def held_nodes(process: ClusterProcess) -> set[str]:
    """The nodes whose lease this controller holds, as its API says."""
    body = process.get_or_none("/podyard/v1/leases")
    if body is None:
        return set()
    return {item["node"] for item in body["items"] if item.get("heldByThisController")}


def engine_ids(engines: list[PrivateDockerd]) -> set[str]:
    return {row["id"] for engine in engines for row in podyard_containers(engine.docker_host)}


def nodes_of(process: ClusterProcess) -> dict[str, Any]:
    return {p["metadata"]["name"]: p["spec"].get("nodeName") for p in process.pods()}


async def test_a_standby_takes_over_three_nodes_within_15s_replacing_no_pod(
    node_engines: list[PrivateDockerd], tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "manifests"
    write(folder, "rs.yaml", replicaset_yaml("web", 6))
    write(folder, "solo.yaml", pod_yaml("solo", containers=1))
    nodes_file = write_nodes_file(tmp_path / "nodes.yaml", node_engines)
    host = node_engines[0].docker_host

    def start(log: str) -> ClusterProcess:
        process = ClusterProcess(nodes_file, host, folder, tmp_path / log)
        processes.append(process)
        process.start()
        return process

    first = start("first.log")
    await eventually(first.ready, timeout=60, what="the first controller acting")
    before = await eventually(lambda: all_running(first, 7), timeout=120, what="7 pods running")
    assert held_nodes(first) == set(NODE_NAMES)
    placed = nodes_of(first)
    assert set(placed.values()) == set(NODE_NAMES)  # pods on every node
    ids = engine_ids(node_engines)

    second = start("second.log")
    await eventually(
        lambda: "standing by" in second.log_text(), timeout=30, what="the standby's log line"
    )
    assert not second.ready()
    assert held_nodes(second) == set()

    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    killed = time.monotonic()
    await eventually(
        lambda: held_nodes(second) == set(NODE_NAMES) and second.ready(),
        timeout=TAKEOVER_LIMIT + 5,
        interval=0.05,
        what="the standby holding all three nodes",
    )
    took = time.monotonic() - killed
    print(f"takeover of three nodes after SIGKILL of the holder: {took:.2f} s")
    assert took <= TAKEOVER_LIMIT
    after = await eventually(lambda: all_running(second, 7), timeout=30, what="7 pods, new holder")
    assert after == before  # same uids, same container ids, same restart counts
    assert nodes_of(second) == placed
    assert engine_ids(node_engines) == ids
