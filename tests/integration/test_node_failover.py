"""A Docker host dies under a three-node `podyard run` and comes back: three real engines.

A ReplicaSet of 6 spreads 2/2/2 and a bare pod runs beside it. The host of the bare pod dies
(dockerd, containerd, shims and containers killed): its node is NotReady within the grace period,
its ReplicaSet pods run on the other two within grace + eviction + 10 s, and from then on the
ReplicaSet is at 6 ready, never more than 6 running anywhere. The bare pod stays bound, Unknown.
The host comes back: the node is Ready, the pods replaced meanwhile are removed there, the total
stays 6 (never 8), and the bare pod runs again on its node.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from controller.config import NodeLifecycleSettings
from tests.integration.cluster import (
    NODE_NAMES,
    ClusterProcess,
    poll,
    running_replicas,
    write_nodes_file,
)
from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess
from tests.integration.manifests import pod_yaml, replicaset_yaml, write

GRACE = NodeLifecycleSettings().monitor_grace_seconds
EVICTION = NodeLifecycleSettings().pod_eviction_timeout_seconds
REPLICAS = 6


def web_pods(process: ClusterProcess) -> list[dict[str, Any]]:
    return [p for p in process.pods() if p["metadata"]["name"].startswith("web-")]


def live_web_pods(process: ClusterProcess) -> list[dict[str, Any]]:
    """Pods of the ReplicaSet not being deleted."""
    return [p for p in web_pods(process) if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def solo(process: ClusterProcess) -> dict[str, Any] | None:
    return process.get_or_none("/api/v1/namespaces/default/pods/solo")


def test_a_dead_host_is_replaced_and_its_return_never_doubles_the_replicas(
    node_engines: list[PrivateDockerd],
    tmp_path: Path,
    processes: list[ControllerProcess],
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(folder, "web.yaml", replicaset_yaml("web", REPLICAS))
    write(folder, "solo.yaml", pod_yaml("solo", containers=1))
    nodes_file = write_nodes_file(tmp_path / "nodes.yaml", node_engines)
    process = ClusterProcess(
        nodes_file, node_engines[0].docker_host, folder, tmp_path / "podyard.log"
    )
    processes.append(process)
    process.start()

    def spread() -> Counter[str]:
        return Counter(p["spec"].get("nodeName", "") for p in live_web_pods(process))

    poll(
        lambda: sum(ready(p) for p in live_web_pods(process)) == REPLICAS,
        90,
        "6 ready replicas",
    )
    assert sorted(spread().values()) == [2, 2, 2], spread()
    solo_pod = solo(process)
    assert solo_pod is not None
    victim = solo_pod["spec"]["nodeName"]
    engine = node_engines[NODE_NAMES.index(victim)]
    lost = {
        p["metadata"]["name"] for p in live_web_pods(process) if p["spec"]["nodeName"] == victim
    }

    def never_more_than_desired() -> None:
        counts = running_replicas(node_engines, "web")
        assert sum(counts.values()) <= REPLICAS, counts

    killed_at = time.monotonic()
    engine.kill_host()
    not_ready_after = poll(
        lambda: process.node_ready(victim) is False, GRACE + 10, f"{victim} NotReady"
    )
    assert not_ready_after <= GRACE + 2, not_ready_after  # within the grace period
    assert solo(process)["status"]["phase"] == "Running"  # bound, its readiness unknown
    assert not ready(solo(process))

    def replaced() -> bool:
        pods = live_web_pods(process)
        return len(pods) == REPLICAS and all(
            ready(p) and p["spec"]["nodeName"] != victim for p in pods
        )

    poll(
        replaced,
        GRACE + EVICTION + 10,
        "6 ready replicas off the dead node",
        check=never_more_than_desired,
    )
    took = time.monotonic() - killed_at
    assert took <= GRACE + EVICTION + 10, took
    assert set(spread()) <= set(NODE_NAMES) - {victim}
    evicted = {
        p["metadata"]["name"] for p in web_pods(process) if p["metadata"].get("deletionTimestamp")
    }
    assert evicted == lost
    poll(lambda: solo(process)["status"]["phase"] == "Unknown", 10, "solo Unknown")
    assert solo(process)["spec"]["nodeName"] == victim  # bare pods are not moved

    engine.restart(kill_containers=True)
    poll(
        lambda: process.node_ready(victim) is True,
        60,
        f"{victim} Ready again",
        check=never_more_than_desired,
    )

    def stale_gone() -> bool:
        return not ({p["metadata"]["name"] for p in web_pods(process)} & lost)

    poll(
        stale_gone,
        60,
        "the replaced pods removed from the returning node",
        check=never_more_than_desired,
    )
    poll(
        lambda: solo(process)["status"]["phase"] == "Running" and ready(solo(process)),
        60,
        "solo running again on its node",
        check=never_more_than_desired,
    )
    assert solo(process)["spec"]["nodeName"] == victim
    counts = running_replicas(node_engines, "web")
    assert sum(counts.values()) == REPLICAS, counts
    assert sum(ready(p) for p in live_web_pods(process)) == REPLICAS
