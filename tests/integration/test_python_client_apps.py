"""The official Kubernetes Python client's AppsV1Api against a real controller and engine.

A Deployment and a bare ReplicaSet from the folder are listed and read through the client's
typed models (spec, selector, status counts, owner references); watches of both kinds see a scale
change made in the folder as MODIFIED, with the new replica count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client

from tests.integration.harness import ControllerProcess
from tests.integration.kube_client import WatchRecorder, api_client, event_is, poll
from tests.integration.manifests import deployment_yaml, replicaset_yaml, write


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "front.yaml", deployment_yaml("front", 1, version="v1"))
    write(folder, "batch.yaml", replicaset_yaml("batch", 1))
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def _ready(apps: Any, kind: str, name: str, replicas: int) -> Any:
    read = getattr(apps, f"read_namespaced_{kind}")
    try:
        obj = read(name, "default")
    except (client.ApiException, urllib3.exceptions.HTTPError):
        return None  # not served yet (the API starts with the controller), or not found yet
    return obj if (obj.status.ready_replicas or 0) == replicas else None


def _scaled_to(kind: str, name: str, replicas: int) -> Any:
    return lambda e: bool(
        e["type"] == "MODIFIED"
        and e["object"].metadata.name == name
        and e["object"].spec.replicas == replicas
    )


def test_apps_list_read_and_watch_a_scale(controller: ControllerProcess) -> None:
    with api_client(controller) as api:
        apps = client.AppsV1Api(api)
        deployment = poll(lambda: _ready(apps, "deployment", "front", 1), 60, "front ready")
        assert deployment.spec.replicas == 1
        assert deployment.spec.selector.match_labels == {"app": "front"}
        assert deployment.spec.template.spec.containers[0].name == "main"
        assert deployment.metadata.creation_timestamp.tzinfo is not None
        assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == [
            "front"
        ]
        batch = poll(lambda: _ready(apps, "replica_set", "batch", 1), 60, "batch ready")
        assert batch.spec.selector.match_labels == {"app": "batch"}
        assert batch.status.replicas == 1

        sets = apps.list_namespaced_replica_set("default").items
        by_name = {rs.metadata.name: rs for rs in sets}
        assert len(by_name) == 2, sorted(by_name)
        assert "batch" in by_name
        (owned,) = [rs for name, rs in by_name.items() if name != "batch"]
        assert owned.metadata.name.startswith("front-")
        assert [(o.kind, o.name) for o in owned.metadata.owner_references] == [
            ("Deployment", "front")
        ]
        assert apps.read_namespaced_replica_set(owned.metadata.name, "default").spec.replicas == 1
        version = apps.list_namespaced_deployment("default").metadata.resource_version

        deployments = WatchRecorder(
            apps.list_namespaced_deployment,
            namespace="default",
            resource_version=version,
            timeout_seconds=90,
        )
        replicasets = WatchRecorder(
            apps.list_namespaced_replica_set, namespace="default", timeout_seconds=90
        )
        try:
            replicasets.wait_for(event_is("ADDED", "batch"), 15, "batch ADDED")
            write(controller.manifests, "front.yaml", deployment_yaml("front", 2, version="v1"))
            write(controller.manifests, "batch.yaml", replicaset_yaml("batch", 2))
            scaled = deployments.wait_for(_scaled_to("deployment", "front", 2), 30, "front x2")
            assert scaled["object"].spec.replicas == 2
            replicasets.wait_for(_scaled_to("replica_set", "batch", 2), 30, "batch x2")
            replicasets.wait_for(
                _scaled_to("replica_set", owned.metadata.name, 2), 30, "front's set x2"
            )
            deployments.wait_for(
                lambda e: (
                    e["object"].metadata.name == "front"
                    and (e["object"].status.ready_replicas or 0) == 2
                ),
                60,
                "front with 2 ready",
            )
            assert "ADDED" not in [t for t, _ in deployments.seen()], "resumed: no replay"
        finally:
            deployments.stop()
            replicasets.stop()
        assert poll(lambda: _ready(apps, "replica_set", "batch", 2), 60, "batch 2 ready")
