"""kubectl 1.32 against a real controller, as a user types it: every kind it reads prints the
columns and words a real cluster prints for the same objects (namespaces, nodes with `-o wide`,
`get all -A`, ConfigMaps, Secrets, claims), `--sort-by`, `-o jsonpath`, `describe node` with its
pods, and a kubeconfig from `podyard kubeconfig` in place of `-s`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import NODE, ControllerProcess, eventually
from tests.integration.kubectl import KUBECTL, run_kubectl
from tests.integration.manifests import IDLE, deployment_yaml, write

pytestmark = pytest.mark.kubectl

SHOP = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "{IDLE}"]
"""
CONFIGS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello
  colour: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  token: s3cret
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


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "shop.yaml", SHOP)
    write(folder, "hello.yaml", deployment_yaml("hello", 1, version="1"))
    write(folder, "configs.yaml", CONFIGS)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def _running(c: ControllerProcess) -> bool:
    if not c.ready():
        return False
    pods = c.get("/api/v1/pods")["items"]
    return len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)


def kubectl(c: ControllerProcess, *args: str) -> str:
    """kubectl's stdout; it must succeed and print no warning."""
    done = run_kubectl(*args, server=c.server)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    return done.stdout


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()]


async def test_kubectl_get_every_kind(controller: ControllerProcess, tmp_path: Path) -> None:
    c = controller
    await eventually(lambda: _running(c), timeout=60, what="both pods Running")

    namespaces = kubectl(c, "get", "ns")
    assert namespaces.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    assert [r[:2] for r in rows(namespaces)[1:]] == [
        ["default", "Active"],
        ["kube-node-lease", "Active"],
        ["shop", "Active"],
    ]
    mine = subprocess.run(
        [sys.executable, "-m", "controller", "get", "ns", "--server", c.server],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert [r[:2] for r in rows(mine)] == [r[:2] for r in rows(namespaces)], "podyard get agrees"
    described = kubectl(c, "describe", "ns", "shop")
    for line in ("Name:         shop", "Status:       Active", "No resource quota.",
                 "No LimitRange resource."):  # fmt: skip
        assert line in described.splitlines(), described
    labels = kubectl(c, "get", "ns", "shop", "-o", "jsonpath={.metadata.labels}")
    assert '"team":"shop"' in labels
    assert '"kubernetes.io/metadata.name":"shop"' in labels

    nodes = kubectl(c, "get", "nodes", "-o", "wide")
    assert nodes.splitlines()[0].split() == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
        "KERNEL-VERSION", "CONTAINER-RUNTIME",
    ]  # fmt: skip
    node = rows(nodes)[1]
    assert node[:3] == [NODE, "Ready", "<none>"]
    assert node[4] == "v1.32.0" or node[4].startswith("v1.32")
    assert node[-1].startswith("docker://")

    events = kubectl(c, "get", "events", "-A", "-o", "wide")
    assert events.splitlines()[0].split() == [
        "NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
        "FIRST", "SEEN", "COUNT", "NAME",
    ]  # fmt: skip

    everything = kubectl(c, "get", "all", "-A")
    sections = [block.splitlines() for block in everything.strip().split("\n\n")]
    headers = [block[0].split() for block in sections]
    assert headers == [
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "AGE"],
    ]
    pods = sorted(r.split()[:4] for r in sections[0][1:])
    assert pods[1] == ["shop", "pod/web", "1/1", "Running"]
    assert pods[0][0] == "default"
    assert pods[0][1].startswith("pod/hello-")
    assert [r.split()[:5] for r in sections[1][1:]] == [
        ["default", "deployment.apps/hello", "1/1", "1", "1"]
    ]
    replicaset = sections[2][1].split()
    assert replicaset[0] == "default"
    assert replicaset[1].startswith("replicaset.apps/hello-")
    assert replicaset[2:5] == ["1", "1", "1"]

    resources = rows(kubectl(c, "api-resources"))
    assert resources[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in resources
    assert ["namespaces", "ns", "v1", "false", "Namespace"] in resources
    assert ["secrets", "v1", "true", "Secret"] in resources, "secrets have no short name"
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in resources
    # Aggregated discovery: `/api` and `/apis` answer everything, no request per group version.
    fresh = str(tmp_path / "discovery-cache")
    verbose = run_kubectl("get", "cm", "-v=6", "--cache-dir", fresh, server=c.server)
    asked = [line for line in verbose.stderr.splitlines() if " GET " in line]
    assert any("/apis?" in line for line in asked), verbose.stderr
    assert not any("/api/v1?" in line or "/apis/apps/v1?" in line for line in asked), asked

    config_maps = rows(kubectl(c, "get", "cm"))
    assert config_maps[0] == ["NAME", "DATA", "AGE"]
    assert config_maps[1][:2] == ["settings", "2"]
    assert config_maps[1][2].endswith("s"), "an age, not <unknown>"
    secrets = kubectl(c, "get", "secrets")
    assert rows(secrets)[0] == ["NAME", "TYPE", "DATA", "AGE"]
    assert rows(secrets)[1][:3] == ["creds", "Opaque", "1"]
    assert "s3cret" not in kubectl(c, "get", "secret", "creds", "-o", "json")
    claims = rows(kubectl(c, "get", "pvc"))
    assert claims[0] == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE",
    ]  # fmt: skip
    assert claims[1][:2] == ["notes", "Pending"]


async def test_kubectl_sorts_and_prints_jsonpath(controller: ControllerProcess) -> None:
    c = controller
    await eventually(lambda: _running(c), timeout=60, what="both pods Running")
    names = sorted(p["metadata"]["name"] for p in c.get("/api/v1/pods")["items"])
    by_name = rows(kubectl(c, "get", "pods", "-A", "--sort-by=.metadata.name"))
    assert by_name[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[1] for r in by_name[1:]] == names
    pods = c.get("/api/v1/pods")["items"]
    by_start = sorted(pods, key=lambda p: (p["status"]["startTime"], p["metadata"]["name"]))
    started = rows(kubectl(c, "get", "pods", "-A", "--sort-by=.status.startTime"))
    assert sorted(r[1] for r in started[1:]) == names
    if by_start[0]["status"]["startTime"] != by_start[1]["status"]["startTime"]:
        assert [r[1] for r in started[1:]] == [p["metadata"]["name"] for p in by_start]
    printed = kubectl(c, "get", "pods", "-A", "-o", "jsonpath={.items[*].metadata.name}")
    assert sorted(printed.split()) == names
    shop = kubectl(c, "get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].metadata.name}")
    assert shop == "web"


async def test_kubectl_describe_node(controller: ControllerProcess) -> None:
    c = controller
    await eventually(lambda: _running(c), timeout=60, what="both pods Running")
    described = kubectl(c, "describe", "node", NODE)
    for section in (
        "Name:", "Roles:", "Labels:", "Annotations:", "CreationTimestamp:", "Taints:",
        "Unschedulable:", "Conditions:", "Addresses:", "Capacity:", "Allocatable:",
        "System Info:", "Non-terminated Pods:", "Allocated resources:", "Events:",
    ):  # fmt: skip
        assert any(line.startswith(section) for line in described.splitlines()), section
    assert "(2 in total)" in described, described
    assert f"HolderIdentity:  {NODE}" in described, "the node's lease, not `Failed to get lease`"
    pod_lines = [line.split() for line in described.splitlines() if " web " in f" {line} "]
    assert any(cells[:2] == ["shop", "web"] for cells in pod_lines), described
    ready = [line.split() for line in described.splitlines() if line.strip().startswith("Ready ")]
    assert ready, described
    assert ready[0][1] == "True", described


async def test_kubectl_with_a_podyard_kubeconfig(
    controller: ControllerProcess, tmp_path: Path
) -> None:
    c = controller
    await eventually(lambda: _running(c), timeout=60, what="both pods Running")
    printed = subprocess.run(
        [sys.executable, "-m", "controller", "kubeconfig", "--api", c.server, "-n", "shop"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    config = tmp_path / "podyard.kubeconfig"
    config.write_text(printed)
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), "get", "pods"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in rows(done.stdout)[1:]] == ["web"], "the context's namespace is shop"
    # Merged with a user's own kubeconfig (KUBECONFIG=theirs:ours), picked by its context name.
    # A process substitution (`--kubeconfig <(podyard kubeconfig)`) does not serve: kubectl 1.32
    # reads the file more than once, and a pipe reads once (so for any kubeconfig).
    theirs = tmp_path / "theirs.kubeconfig"
    theirs.write_text(
        printed.replace("podyard", "elsewhere").replace(c.server, "http://127.0.0.1:1")
    )
    yard = subprocess.run(
        [sys.executable, "-m", "controller", "kubeconfig", "--api", c.server, "--context", "yard"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    ours = tmp_path / "yard.kubeconfig"
    ours.write_text(yard)
    done = subprocess.run(
        [KUBECTL, "--context", "yard", "get", "deploy"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"KUBECONFIG": f"{theirs}:{ours}", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout)[1][:2] == ["hello", "1/1"]
