"""PersistentVolumeClaims on a real engine: a claim's data outlives its pods, and its file.

The ReplicaSet's pod counts its starts in a file on the claim. Scaled to 0 and back, the new pod
(another name, another uid) reads the count the old one wrote; the claim's volume is labelled as
the claim's and never as a pod's. Deleting the whole file removes the pods and keeps the volume
(Retain); declaring the claim again finds the data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import ControllerProcess, docker_cli, eventually, podyard_containers
from tests.integration.manifests import write

CLAIM = """\
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

REPLICASET = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: counter
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: counter}}
  template:
    metadata:
      labels: {{app: counter}}
    spec:
      terminationGracePeriodSeconds: 1
      volumes:
        - name: data
          persistentVolumeClaim: {{claimName: notes}}
      containers:
        - name: main
          image: localhost/podyard-busybox:1
          command: ["sh", "-c"]
          args:
            - |
              n=$(cat /data/starts 2>/dev/null || echo 0)
              echo $((n + 1)) > /data/starts
              echo "$(hostname)" >> /data/pods
              echo "$(hostname)" > /sub/last
              trap 'exit 0' TERM
              while true; do sleep 1; done
          volumeMounts:
            - name: data
              mountPath: /data
            - name: data
              mountPath: /sub
              subPath: nested
"""


def manifest(replicas: int) -> str:
    return f"{CLAIM}---\n{REPLICASET.format(replicas=replicas)}"


def running(c: ControllerProcess) -> list[dict[str, Any]]:
    try:
        items = c.get("/api/v1/namespaces/default/pods")["items"]
    except OSError:
        return []
    return [
        p
        for p in items
        if p["metadata"]["name"].startswith("counter-")
        and p["status"]["phase"] == "Running"
        and all(s["ready"] for s in p["status"].get("containerStatuses", []))
    ]


def claim_volumes(docker_host: str) -> list[dict[str, Any]]:
    names = docker_cli(
        docker_host, "volume", "ls", "-q", "--filter", "label=io.podyard.pvc=default/notes"
    ).split()
    return [json.loads(docker_cli(docker_host, "volume", "inspect", n))[0] for n in names]


def read_volume(volume: dict[str, Any], name: str) -> str:
    """The engine's host is this machine: read the local driver's directory directly."""
    return (Path(volume["Mountpoint"]) / name).read_text()


async def test_a_claims_data_outlives_its_pods_and_its_file(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    path = write(folder, "counter.yaml", manifest(1))
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log", "--hold-seconds", "1")
    processes.append(c)
    c.start()
    [first] = await eventually(lambda: running(c), timeout=60, what="the first pod running")
    [volume] = await eventually(lambda: claim_volumes(docker_host), timeout=10, what="the volume")
    assert "io.podyard.pod.uid" not in (volume["Labels"] or {}), "a claim's volume is no pod's"
    assert volume["Name"].startswith("podyard-pvc-default-notes-")
    await eventually(lambda: read_volume(volume, "starts") == "1\n", timeout=10, what="1 start")
    last = read_volume(volume, "nested/last").strip()
    assert last == first["metadata"]["name"], "a subPath of the claim is inside its volume"

    # The pod goes (containers, sandbox, pod volumes); the claim's volume stays.
    path.write_text(manifest(0))
    await eventually(lambda: not podyard_containers(docker_host), timeout=60, what="pod gone")
    assert [v["Name"] for v in claim_volumes(docker_host)] == [volume["Name"]]

    # A new pod, another name and uid, finds what the first one wrote.
    path.write_text(manifest(1))
    [second] = await eventually(lambda: running(c), timeout=60, what="the replacement running")
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert second["metadata"]["name"] != first["metadata"]["name"]
    await eventually(lambda: read_volume(volume, "starts") == "2\n", timeout=10, what="2 starts")
    assert read_volume(volume, "pods").split() == [
        first["metadata"]["name"],
        second["metadata"]["name"],
    ]

    # Deleting the claim's file deletes the pods and keeps the data: reclaim policy Retain.
    path.unlink()
    await eventually(lambda: not podyard_containers(docker_host), timeout=60, what="all gone")
    assert [v["Name"] for v in claim_volumes(docker_host)] == [volume["Name"]]
    assert read_volume(volume, "starts") == "2\n"

    # Declared again, the claim is bound to the same volume and its data.
    write(folder, "counter.yaml", manifest(1))
    await eventually(lambda: running(c), timeout=60, what="a pod of the claim declared again")
    await eventually(lambda: read_volume(volume, "starts") == "3\n", timeout=10, what="3 starts")


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


GHOST = """\
apiVersion: v1
kind: Pod
metadata:
  name: ghost
spec:
  volumes:
    - name: d
      persistentVolumeClaim: {claimName: ghost}
  containers:
    - name: main
      image: localhost/podyard-busybox:1
      command: ["sleep", "1000000"]
      volumeMounts:
        - {name: d, mountPath: /data}
"""

SPARE = CLAIM.replace("name: notes", "name: spare")


async def test_claims_in_the_api_and_podyard_get_pvc(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    write(folder, "counter.yaml", manifest(1))
    write(folder, "spare.yaml", SPARE)
    write(folder, "ghost.yaml", GHOST)
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    processes.append(c)
    c.start()
    await eventually(lambda: running(c), timeout=60, what="the counter pod running")

    def ghost_waits() -> dict[str, Any] | None:
        pod = c.get("/api/v1/namespaces/default/pods/ghost")
        conditions = pod["status"].get("conditions") or []
        return pod if conditions and conditions[0].get("reason") == "Unschedulable" else None

    ghost = await eventually(ghost_waits, timeout=30, what="the ghost pod unschedulable")
    assert ghost["status"]["phase"] == "Pending"
    assert ghost["status"]["conditions"][0]["message"] == (
        '0/1 nodes are available: persistentvolumeclaim "ghost" not found.'
    )
    assert not [r for r in podyard_containers(docker_host) if r["pod"] == "ghost"]

    notes = c.get("/api/v1/namespaces/default/persistentvolumeclaims/notes")
    assert notes["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "16Mi"},
    }
    assert notes["spec"]["volumeName"].startswith("podyard-pvc-default-notes-")
    assert notes["metadata"]["annotations"]["podyard.io/reclaim-policy"] == "Retain"
    spare = c.get("/api/v1/namespaces/default/persistentvolumeclaims/spare")
    assert spare["status"] == {"phase": "Pending"}
    listed = c.get("/api/v1/persistentvolumeclaims")["items"]
    assert [o["metadata"]["name"] for o in listed] == ["notes", "spare"]

    table = run(sys.executable, "-m", "controller", "get", "pvc", "--server", c.server)
    rows = [line.split() for line in table.splitlines()]
    assert rows[0][:4] == ["NAME", "STATUS", "VOLUME", "CAPACITY"]
    assert rows[1][:2] == ["notes", "Bound"]
    assert rows[1][3:5] == ["16Mi", "RWO"]
    assert rows[2][:2] == ["spare", "Pending"]

    # Declaring the claim lets the waiting pod start.
    write(folder, "ghost-claim.yaml", CLAIM.replace("name: notes", "name: ghost"))
    await eventually(
        lambda: c.get("/api/v1/namespaces/default/pods/ghost")["status"]["phase"] == "Running",
        timeout=60,
        what="the ghost pod running once its claim exists",
    )


@pytest.mark.kubectl
async def test_kubectl_get_pvc(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    write(folder, "spare.yaml", SPARE)
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    processes.append(c)
    c.start()
    await eventually(c.ready, timeout=30, what="the controller ready")
    rows = [line.split() for line in run("kubectl", "-s", c.server, "get", "pvc").splitlines()]
    assert rows[0] == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE",
    ]  # fmt: skip
    assert rows[1][:3] == ["spare", "Pending", "<unset>"]
