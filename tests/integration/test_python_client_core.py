"""The official Kubernetes Python client's CoreV1Api against a real controller and engine.

Every call goes through the client's typed models, so JSON that breaks one (a `None` where a
field is required, an unparsable timestamp) fails here as it would for any user of the client.
Reads: pods (namespaced, all namespaces, label and field selectors, one by name), nodes, events,
ConfigMaps, Secrets (values only in the full object), PVCs, and the metadata fields the client
relies on in the raw JSON. Watches: ADDED, MODIFIED (a restart) and DELETED for a pod that starts,
restarts and goes; resuming from a list's resourceVersion without replay; 410 for a version too old
(at once with a timeout, after the client's one retry without).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client

from tests.integration.harness import NODE, ControllerProcess
from tests.integration.kube_client import WatchRecorder, api_client, event_is, poll
from tests.integration.manifests import pod_yaml, write

SECRET_VALUE = "client-Sekr1t"

CONFIG = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels:
    tier: web
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  token: {SECRET_VALUE}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 16Mi
"""

FLAKY = pod_yaml("flaky", 1).replace("while true; do sleep 1; done", "sleep 2; exit 1")
"""A pod whose container exits after 2 s and is restarted: the change a watch shows as MODIFIED."""


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "web.yaml", pod_yaml("web", 2))
    write(folder, "config.yaml", CONFIG)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def _running(v1: Any, name: str) -> Any:
    try:
        pod = v1.read_namespaced_pod(name, "default")
    except (client.ApiException, urllib3.exceptions.HTTPError):
        return None  # not served yet (the API starts with the controller), or not found yet
    return pod if pod.status.phase == "Running" else None


def test_core_reads_through_the_typed_models(controller: ControllerProcess) -> None:
    with api_client(controller) as api:
        v1 = client.CoreV1Api(api)
        web = poll(lambda: _running(v1, "web"), 60, "web Running")
        assert (web.metadata.name, web.metadata.namespace) == ("web", "default")
        assert [c.name for c in web.spec.containers] == ["c0", "c1"]
        assert web.spec.node_name == NODE
        assert web.metadata.creation_timestamp.tzinfo is not None, "a parsed, aware datetime"
        assert sorted(s.name for s in web.status.container_statuses) == ["c0", "c1"]
        assert all(s.ready and s.state.running for s in web.status.container_statuses)

        pods = v1.list_namespaced_pod("default")
        assert [p.metadata.name for p in pods.items] == ["web"]
        assert int(pods.metadata.resource_version) > 0
        everywhere = v1.list_pod_for_all_namespaces(label_selector="app=web")
        assert [p.metadata.name for p in everywhere.items] == ["web"]
        assert v1.list_pod_for_all_namespaces(label_selector="app=none").items == []
        running = v1.list_pod_for_all_namespaces(
            field_selector=f"status.phase=Running,spec.nodeName={NODE}"
        )
        assert [p.metadata.name for p in running.items] == ["web"]
        assert v1.list_namespaced_pod("default", field_selector="metadata.name=other").items == []
        with pytest.raises(client.ApiException) as missing:
            v1.read_namespaced_pod("absent", "default")
        assert missing.value.status == 404

        nodes = v1.list_node()
        assert [n.metadata.name for n in nodes.items] == [NODE]
        node = v1.read_node(NODE)
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert [c.status for c in ready] == ["True"]

        events = poll(lambda: v1.list_namespaced_event("default").items, 30, "events in default")
        assert any(e.involved_object.name == "web" for e in events)
        assert all(e.metadata.name and e.reason for e in events)

        def about_web() -> list[Any] | None:
            items = v1.list_namespaced_event(
                "default", field_selector="involvedObject.kind=Pod,involvedObject.name=web"
            ).items
            return items if {e.reason for e in items} >= {"Scheduled", "Started"} else None

        selected = poll(about_web, 30, "web's Scheduled and Started events")
        assert {e.involved_object.name for e in selected} == {"web"}

        maps = v1.list_namespaced_config_map("default", label_selector="tier=web")
        assert [m.metadata.name for m in maps.items] == ["app-config"]
        assert v1.read_namespaced_config_map("app-config", "default").data == {"greeting": "hello"}

        secret = v1.read_namespaced_secret("creds", "default")
        assert secret.type == "Opaque"
        assert base64.b64decode(secret.data["token"]).decode() == SECRET_VALUE
        listed = v1.list_namespaced_secret("default")
        assert [s.metadata.name for s in listed.items] == ["creds"]

        claims = v1.list_namespaced_persistent_volume_claim("default")
        assert [c.metadata.name for c in claims.items] == ["notes"]
        claim = v1.read_namespaced_persistent_volume_claim("notes", "default")
        assert claim.spec.access_modes == ["ReadWriteOnce"]
        assert claim.spec.resources.requests == {"storage": "16Mi"}

        assert client.VersionApi(api).get_code().git_version.startswith("v1.32.")
        served = {r.name for r in v1.get_api_resources().resources}
        assert {"pods", "nodes", "events", "configmaps", "secrets"} <= served

        raw = json.loads(v1.read_namespaced_pod("web", "default", _preload_content=False).data)
        meta = raw["metadata"]
        assert meta["uid"]
        assert int(meta["resourceVersion"]) > 0
        assert meta["creationTimestamp"].endswith("Z")
        raw_list = json.loads(v1.list_namespaced_pod("default", _preload_content=False).data)
        assert raw_list["kind"] == "PodList"
        assert raw_list["metadata"]["resourceVersion"]


def _restarted(event: dict[str, Any]) -> bool:
    statuses = event["object"].status.container_statuses or []
    return bool(
        event["type"] == "MODIFIED"
        and event["object"].metadata.name == "flaky"
        and any(s.restart_count >= 1 for s in statuses)
    )


def test_core_watches_see_start_restart_and_deletion(controller: ControllerProcess) -> None:
    with api_client(controller) as api:
        v1 = client.CoreV1Api(api)
        poll(lambda: _running(v1, "web"), 60, "web Running")
        listed = v1.list_namespaced_pod("default")
        version = listed.metadata.resource_version

        full = WatchRecorder(v1.list_namespaced_pod, namespace="default", timeout_seconds=90)
        resumed = WatchRecorder(
            v1.list_namespaced_pod,
            namespace="default",
            resource_version=version,
            timeout_seconds=90,
        )
        selective = WatchRecorder(
            v1.list_pod_for_all_namespaces, label_selector="app=flaky", timeout_seconds=90
        )
        try:
            full.wait_for(event_is("ADDED", "web"), 15, "web ADDED on a watch from now")
            manifest = write(controller.manifests, "flaky.yaml", FLAKY)
            full.wait_for(event_is("ADDED", "flaky"), 30, "flaky ADDED")
            restart = full.wait_for(_restarted, 60, "flaky restarted (MODIFIED)")
            assert restart["raw_object"]["metadata"]["resourceVersion"]

            first = resumed.wait_for(lambda e: True, 30, "the first resumed event")
            assert (first["type"], first["object"].metadata.name) == ("ADDED", "flaky")
            assert ("ADDED", "web") not in resumed.seen(), "nothing before the list is replayed"
            resumed.wait_for(_restarted, 30, "the restart on the resumed watch")

            manifest.unlink()
            gone = full.wait_for(event_is("DELETED", "flaky"), 60, "flaky DELETED")
            assert gone["object"].metadata.name == "flaky"
            resumed.wait_for(event_is("DELETED", "flaky"), 30, "flaky DELETED, resumed")
            selective.wait_for(event_is("DELETED", "flaky"), 30, "flaky DELETED, selected")
            assert {name for _, name in selective.seen()} == {"flaky"}, "web is not selected"
            assert selective.seen()[0] == ("ADDED", "flaky")
            assert not [e for e in full.seen() if e[1] == "web"][1:], "web never changed"
            versions = [int(e["object"].metadata.resource_version) for e in resumed.events]
            assert versions == sorted(versions)
            assert versions[0] > int(version)
        finally:
            full.stop()
            resumed.stop()
            selective.stop()

        expired = WatchRecorder(
            v1.list_namespaced_pod, namespace="default", resource_version="1", timeout_seconds=10
        )
        assert expired.done.wait(15), "a watch from a version too old ends at once"
        assert isinstance(expired.error, client.ApiException), expired.error
        assert expired.error.status == 410
        assert "Expired" in str(expired.error.reason)
        assert expired.events == []
        # without a timeout the client's Watch retries a 410 once from the same version, then raises
        retried = WatchRecorder(v1.list_namespaced_pod, namespace="default", resource_version="1")
        assert retried.done.wait(15), "the retry of a version too old ends at once too"
        assert isinstance(retried.error, client.ApiException), retried.error
        assert retried.error.status == 410
