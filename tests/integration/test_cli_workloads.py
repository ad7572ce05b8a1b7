"""ReplicaSets through the API: `podyard get rs|pods|deploy` and kubectl against a real controller."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import IDLE, write
from tests.integration.test_cli_api import podyard

RS_NAME = "web"
REPLICASET = f"""apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {RS_NAME}
  labels:
    app: {RS_NAME}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {RS_NAME}
  template:
    metadata:
      labels:
        app: {RS_NAME}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: {DEMO_IMAGE}
          command: ["sh", "-c", "{IDLE}"]
"""
POD_NAME = re.compile(rf"^{RS_NAME}-[a-z0-9]{{5}}$")
needs_kubectl = pytest.mark.kubectl


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "rs.yaml", REPLICASET)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


async def _ready(c: ControllerProcess) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        if not c.ready():
            return None
        items = c.get("/apis/apps/v1/namespaces/default/replicasets")["items"]
        ok = items and items[0]["status"].get("readyReplicas") == 2
        return items[0] if ok else None

    return await eventually(probe, timeout=90, what="ReplicaSet web with 2 ready replicas")


def kubectl(c: ControllerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "-s", c.server, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_get_replicasets_pods_and_deployments(controller: ControllerProcess) -> None:
    c = controller
    rs = await _ready(c)
    assert rs["kind"] == "ReplicaSet"
    assert rs["apiVersion"] == "apps/v1"
    assert rs["metadata"]["uid"]
    assert rs["spec"]["replicas"] == 2
    assert rs["status"]["replicas"] == 2

    table = podyard("get", "rs", "--server", c.server)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert [r.split()[:4] for r in rows] == [[RS_NAME, "2", "2", "2"]]

    wide = podyard("get", "replicasets", "-o", "wide", "--server", c.server)
    assert wide.stdout.splitlines()[0].split()[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide.stdout.splitlines()[1].split()[5:] == ["main", DEMO_IMAGE, f"app={RS_NAME}"]

    everywhere = podyard("get", "rs", "-A", "--server", c.server)
    assert everywhere.stdout.splitlines()[1].split()[:2] == ["default", RS_NAME]

    one = json.loads(podyard("get", "rs", RS_NAME, "-o", "json", "--server", c.server).stdout)
    assert one["metadata"]["name"] == RS_NAME

    pods = podyard("get", "pods", "--server", c.server)
    assert pods.returncode == 0, pods.stderr
    names = [line.split()[0] for line in pods.stdout.splitlines()[1:]]
    assert len(names) == 2
    assert all(POD_NAME.match(n) for n in names), names

    pod = json.loads(podyard("get", "pods", names[0], "-o", "json", "--server", c.server).stdout)
    assert pod["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": RS_NAME,
            "uid": rs["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]

    missing = podyard("get", "rs", "nope", "--server", c.server)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): replicasets.apps "nope" not found' in missing.stderr

    deployments = podyard("get", "deploy", "--server", c.server)
    assert deployments.returncode == 0, deployments.stderr
    assert deployments.stdout == ""
    assert deployments.stderr.strip() == "No resources found in default namespace."


@needs_kubectl
async def test_kubectl_reads_replicasets(controller: ControllerProcess) -> None:
    c = controller
    rs = await _ready(c)

    table = kubectl(c, "get", "rs")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert [r.split()[:4] for r in rows] == [[RS_NAME, "2", "2", "2"]]

    wide = kubectl(c, "get", "replicaset", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    assert wide.stdout.splitlines()[0].split()[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide.stdout.splitlines()[1].split()[-1] == f"app={RS_NAME}"

    as_json = kubectl(c, "get", "replicasets", "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    items = json.loads(as_json.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == [RS_NAME]
    assert items[0]["metadata"]["uid"] == rs["metadata"]["uid"]
    assert items[0]["status"]["readyReplicas"] == 2

    pods = kubectl(c, "get", "pods", "-o", "json")
    owners = [p["metadata"]["ownerReferences"][0] for p in json.loads(pods.stdout)["items"]]
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("ReplicaSet", RS_NAME, rs["metadata"]["uid"])
    ] * 2

    missing = kubectl(c, "get", "rs", "nope")
    assert missing.returncode != 0
    assert 'replicasets.apps "nope" not found' in missing.stderr

    deployments = kubectl(c, "get", "deploy")
    assert deployments.returncode == 0, deployments.stderr
    assert "No resources found in default namespace." in deployments.stderr
