"""Every object Podyard serves, in the states the samples and a few failures reach, parses in the
official Kubernetes Python client's typed models (required fields, strict types, timestamps):
lists and reads of every kind, then watches of every kind through a Deployment rollout and pods
going (Terminating, then DELETED), each event deserialized by the client's `Watch`.

Traps: the samples' web pod asks for a fixed host port, which may be taken: a free one is used. A failure to parse shows as the client's own error (pydantic's, in `kubernetes` 37).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client

from tests.integration.harness import NODE, ControllerProcess, free_port
from tests.integration.kube_client import WatchRecorder, api_client, event_is, poll
from tests.integration.manifests import pod_yaml, write

ROOT = Path(__file__).resolve().parents[2]

FAILED = pod_yaml("failed", 1, restart_policy="Never").replace(
    "while true; do sleep 1; done", "exit 3"
)
CRASHING = pod_yaml("crashing", 1).replace("while true; do sleep 1; done", "exit 2")
NO_IMAGE = pod_yaml("noimage", 1).replace("image: ", "image: podyard-absent/", 1)
SLOW = pod_yaml("slow", 1).replace("trap 'exit 0' TERM", "trap '' TERM")
"""Ignores TERM, so it shows Terminating for its 2 s grace period."""
UNSCHEDULABLE = pod_yaml("nowhere", 1).replace(
    "spec:\n", "spec:\n  nodeSelector:\n    zone: none\n", 1
)


def _listed(v1: Any, apps: Any) -> dict[str, list[Any]]:
    try:
        return {
            "pods": v1.list_pod_for_all_namespaces().items,
            "events": v1.list_event_for_all_namespaces().items,
            "nodes": v1.list_node().items,
            "configmaps": v1.list_config_map_for_all_namespaces().items,
            "secrets": v1.list_secret_for_all_namespaces().items,
            "claims": v1.list_persistent_volume_claim_for_all_namespaces().items,
            "replicasets": apps.list_replica_set_for_all_namespaces().items,
            "deployments": apps.list_deployment_for_all_namespaces().items,
        }
    except urllib3.exceptions.HTTPError:
        return {}  # not served yet


def _raw_lists(v1: Any, apps: Any) -> dict[str, Any]:
    """Each kind's list as the raw JSON the client reads its metadata from."""
    calls = {
        "pods": v1.list_pod_for_all_namespaces,
        "events": v1.list_event_for_all_namespaces,
        "nodes": v1.list_node,
        "configmaps": v1.list_config_map_for_all_namespaces,
        "secrets": v1.list_secret_for_all_namespaces,
        "claims": v1.list_persistent_volume_claim_for_all_namespaces,
        "replicasets": apps.list_replica_set_for_all_namespaces,
        "deployments": apps.list_deployment_for_all_namespaces,
    }
    return {kind: json.loads(call(_preload_content=False).data) for kind, call in calls.items()}


def _states(pods: list[Any]) -> dict[str, tuple[str, str]]:
    """Each pod's phase and its first container's state (running, waiting or terminated)."""
    out = {}
    for pod in pods:
        statuses = pod.status.container_statuses or []
        state = statuses[0].state if statuses else None
        shown = [k for k in ("running", "waiting", "terminated") if getattr(state, k, None)]
        out[pod.metadata.name] = (pod.status.phase, "".join(shown))
    return out


def test_every_served_object_parses(docker_host: str, tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", folder)
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("hostPort: 18080", f"hostPort: {free_port()}"))
    failures = write(
        folder, "failures.yaml", "---\n".join([FAILED, CRASHING, NO_IMAGE, UNSCHEDULABLE, SLOW])
    )
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    try:
        with api_client(c) as api:
            v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)

            def settled() -> dict[str, list[Any]] | None:
                seen = _listed(v1, apps)
                states = _states(seen.get("pods", []))
                wanted = {
                    "failed": ("Failed", "terminated"),
                    "noimage": ("Pending", "waiting"),
                    "nowhere": ("Pending", ""),
                    "slow": ("Running", "running"),
                    "countdown": ("Succeeded", "terminated"),
                    "web": ("Running", "running"),
                }
                ok = all(states.get(name) == state for name, state in wanted.items())
                return seen if ok and seen["deployments"] and seen["claims"] else None

            seen = poll(settled, 90, "the samples and failures settled")
            for kind, raw in _raw_lists(v1, apps).items():
                for item in raw["items"]:
                    meta = item["metadata"]
                    where = (kind, meta["name"])
                    assert meta["uid"], where
                    assert int(meta["resourceVersion"]) > 0, where
                    # ConfigMaps and Secrets have no time of their own; a pod that no engine
                    # holds yet (unscheduled) has none either
                    unplaced = kind == "pods" and "nodeName" not in item["spec"]
                    if kind not in ("configmaps", "secrets") and not unplaced:
                        assert meta["creationTimestamp"].endswith("Z"), where
            assert [n.metadata.name for n in seen["nodes"]] == [NODE]
            assert {e.type for e in seen["events"]} == {"Normal", "Warning"}
            assert all(e.last_timestamp or e.event_time for e in seen["events"])
            nowhere = next(p for p in seen["pods"] if p.metadata.name == "nowhere")
            scheduled = [c for c in nowhere.status.conditions if c.type == "PodScheduled"]
            assert [(c.status, c.reason) for c in scheduled] == [("False", "Unschedulable")]
            assert nowhere.spec.node_name is None
            for pod in seen["pods"]:
                read = v1.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
                assert read.metadata.uid == pod.metadata.uid
            (hello,) = seen["deployments"]
            apps.read_namespaced_deployment(hello.metadata.name, hello.metadata.namespace)
            for claim in seen["claims"]:
                v1.read_namespaced_persistent_volume_claim(claim.metadata.name, "default")

            watches = {
                "pods": WatchRecorder(v1.list_pod_for_all_namespaces, timeout_seconds=90),
                "events": WatchRecorder(v1.list_event_for_all_namespaces, timeout_seconds=90),
                "nodes": WatchRecorder(v1.list_node, timeout_seconds=90),
                "replicasets": WatchRecorder(
                    apps.list_replica_set_for_all_namespaces, timeout_seconds=90
                ),
                "deployments": WatchRecorder(
                    apps.list_deployment_for_all_namespaces, timeout_seconds=90
                ),
                "claims": WatchRecorder(
                    v1.list_persistent_volume_claim_for_all_namespaces, timeout_seconds=90
                ),
            }
            try:
                watches["nodes"].wait_for(event_is("ADDED", NODE), 15, "the node ADDED")
                watches["pods"].wait_for(event_is("ADDED", "failed"), 15, "failed ADDED")
                deployment = folder / "deployment.yaml"
                deployment.write_text(deployment.read_text().replace("GREETING", "SALUTATION"))
                failures.unlink()
                for name in ("failed", "crashing", "noimage", "nowhere", "slow"):
                    watches["pods"].wait_for(event_is("DELETED", name), 60, f"{name} DELETED")
                rollout = watches["replicasets"].wait_for(
                    lambda e: (
                        e["type"] == "ADDED"
                        and e["object"].metadata.name.startswith("hello-")
                        and e["object"].metadata.name
                        not in {r.metadata.name for r in seen["replicasets"]}
                    ),
                    60,
                    "the rollout's new ReplicaSet",
                )
                assert rollout["object"].metadata.owner_references[0].name == "hello"
                watches["deployments"].wait_for(
                    event_is("MODIFIED", "hello"), 30, "hello MODIFIED by the rollout"
                )
                new_set = rollout["object"].metadata.name
                scaled = watches["events"].wait_for(
                    lambda e: (
                        e["object"].involved_object.name == "hello"
                        and new_set in (e["object"].message or "")
                    ),
                    30,
                    "the Deployment's event about its new ReplicaSet",
                )
                assert scaled["object"].reason == "ScalingReplicaSet"
                terminating = [
                    e
                    for e in watches["pods"].events
                    if e["type"] == "MODIFIED" and e["object"].metadata.deletion_timestamp
                ]
                going = {e["object"].metadata.name for e in terminating}
                assert "slow" in going, "a pod going is first MODIFIED with its deletionTimestamp"
                for name, recorder in watches.items():
                    assert recorder.error is None, (name, recorder.error)
            finally:
                for recorder in watches.values():
                    recorder.stop()
    finally:
        c.stop()
