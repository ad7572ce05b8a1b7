"""A controller restarted while one of its three hosts is dead: three real engines.

A ReplicaSet of 3 spreads one pod per node, and a bare pod runs beside it. The controller stops
(pods keep running), the host of the bare pod dies, and a new controller starts. It has never
listed that node, so it knows nothing of what runs there: nothing is replaced before the node has
been silent for the grace period and the eviction timeout (Kubernetes' node lifecycle for a node
that never posted a status), and only then is the ReplicaSet's pod there replaced on a live node.
The bare pod, which may be running there, is not started anywhere else: it stays Pending, saying
why. When the host returns, the replaced pod is removed there first: never more than 3 replicas
run, and the bare pod runs again where it was.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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

REPLICAS = 3
GRACE = 3
EVICTION = 4
SHORT_NODE_TIMES = (
    "--node-monitor-grace-period",
    str(GRACE),
    "--pod-eviction-timeout",
    str(EVICTION),
)


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def live_web(process: ClusterProcess) -> list[dict[str, Any]]:
    return [
        p
        for p in process.pods()
        if p["metadata"]["name"].startswith("web-") and not p["metadata"].get("deletionTimestamp")
    ]


def test_a_node_dead_when_the_controller_starts_is_replaced_only_after_grace_and_eviction(
    node_engines: list[PrivateDockerd],
    tmp_path: Path,
    processes: list[ControllerProcess],
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(folder, "web.yaml", replicaset_yaml("web", REPLICAS))
    write(folder, "solo.yaml", pod_yaml("solo", containers=1))
    nodes_file = write_nodes_file(tmp_path / "nodes.yaml", node_engines)

    def controller(log: str) -> ClusterProcess:
        process = ClusterProcess(
            nodes_file, node_engines[0].docker_host, folder, tmp_path / log, *SHORT_NODE_TIMES
        )
        processes.append(process)
        process.start()
        return process

    first = controller("first.log")
    poll(lambda: sum(ready(p) for p in live_web(first)) == REPLICAS, 90, "3 ready replicas")
    solo = first.get_or_none("/api/v1/namespaces/default/pods/solo")
    assert solo is not None
    victim = solo["spec"]["nodeName"]
    lost = {p["metadata"]["name"] for p in live_web(first) if p["spec"]["nodeName"] == victim}
    assert len(lost) == 1, lost  # one replica per node
    first.stop()

    def never_more_than_desired() -> None:
        counts = running_replicas(node_engines, "web")
        assert sum(counts.values()) <= REPLICAS, counts

    node_engines[NODE_NAMES.index(victim)].kill_host()
    second = controller("second.log")
    started = time.monotonic()
    poll(lambda: second.ready(), 60, "second controller ready")

    def replaced() -> bool:
        pods = live_web(second)
        return len(pods) == REPLICAS and all(
            ready(p) and p["spec"]["nodeName"] != victim for p in pods
        )

    poll(replaced, GRACE + EVICTION + 30, "3 ready replicas off the dead node",
         check=never_more_than_desired)  # fmt: skip
    took = time.monotonic() - started
    assert took >= GRACE + EVICTION, f"replaced after {took:.1f} s, before grace and eviction"
    assert f"node {victim}: not listed since the controller started" in second.log_text()
    solo = second.get_or_none("/api/v1/namespaces/default/pods/solo")
    assert solo["status"]["phase"] == "Pending"  # it may run there: never started twice
    scheduled = next(c for c in solo["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["status"] == "False"
    assert f"node(s) {victim} not listed since the controller started" in scheduled["message"]

    node_engines[NODE_NAMES.index(victim)].restart(kill_containers=True)
    poll(lambda: second.node_ready(victim) is True, 60, f"{victim} Ready again",
         check=never_more_than_desired)  # fmt: skip
    poll(
        lambda: not ({p["metadata"]["name"] for p in second.pods()} & lost),
        60,
        "the replaced pod removed from the returning node",
        check=never_more_than_desired,
    )

    def solo_back() -> bool:
        pod = second.get_or_none("/api/v1/namespaces/default/pods/solo")
        return pod is not None and pod["status"]["phase"] == "Running" and ready(pod)

    poll(solo_back, 60, "solo running again on its node", check=never_more_than_desired)
    assert sum(running_replicas(node_engines, "web").values()) == REPLICAS
