"""`podyard run --nodes FILE` on three private engines: three Ready nodes, in the API, in
`podyard get nodes` and in real `kubectl get nodes`, with each engine's capacity and identity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, eventually, write_nodes_file
from tests.integration.test_kubectl_watch import KUBECTL

EXTRA = """\
  labels: {zone: a}
  taints: [{key: dedicated, value: test, effect: PreferNoSchedule}]
  capacity: {pods: 20}
"""


def _ready_nodes(c: ControllerProcess) -> list[str] | None:
    try:
        items = c.get("/api/v1/nodes")["items"]
    except OSError:
        return None
    ready = [
        n["metadata"]["name"]
        for n in items
        for cond in n["status"]["conditions"]
        if cond["type"] == "Ready" and cond["status"] == "True"
    ]
    return ready if len(ready) == 3 else None


async def test_three_engines_from_a_nodes_file_are_three_ready_nodes(
    node_engines: list[PrivateDockerd], tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    hosts = [engine.docker_host for engine in node_engines]
    nodes = write_nodes_file(tmp_path / "nodes.yaml", hosts, EXTRA)
    folder = tmp_path / "manifests"
    folder.mkdir()
    c = ControllerProcess(hosts[0], folder, tmp_path / "controller.log", nodes=nodes)
    processes.append(c)
    c.start()
    assert await eventually(lambda: _ready_nodes(c), timeout=60, what="3 Ready nodes") == [
        "n1",
        "n2",
        "n3",
    ]
    items = c.get("/api/v1/nodes")["items"]
    engine_ids = {n["status"]["nodeInfo"]["machineID"] for n in items}
    assert len(engine_ids) == 3  # three engines, each its own ID
    assert "" not in engine_ids
    for node in items:
        status = node["status"]
        assert int(status["capacity"]["cpu"]) >= 1
        assert status["capacity"]["memory"].endswith("Ki")
        assert (status["capacity"]["pods"], status["allocatable"]["pods"]) == ("110", "20")
        assert status["nodeInfo"]["containerRuntimeVersion"].startswith("docker://")
        assert status["nodeInfo"]["operatingSystem"] == "linux"
        assert node["metadata"]["labels"]["zone"] == "a"
        assert node["spec"]["taints"] == [
            {"key": "dedicated", "value": "test", "effect": "PreferNoSchedule"}
        ]
    metrics = c.get_text("/metrics")
    for name in ("n1", "n2", "n3"):
        assert (
            f'kube_node_status_condition{{condition="Ready",node="{name}",status="true"}} 1.0'
            in (metrics)
        )

    ours = subprocess.run(
        [sys.executable, "-m", "controller", "get", "nodes", "--server", c.server, "-o", "wide"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = ours.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [line.split()[:2] for line in lines[1:]] == [[n, "Ready"] for n in ("n1", "n2", "n3")]

    assert KUBECTL is not None, "kubectl is part of the test environment"
    listed = subprocess.run(
        [KUBECTL, "-s", c.server, "get", "nodes"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row[:3] for row in rows[1:]] == [[n, "Ready", "<none>"] for n in ("n1", "n2", "n3")]
    described = subprocess.run(
        [KUBECTL, "-s", c.server, "get", "node", "n2", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(described.stdout)["status"]["allocatable"]["pods"] == "20"
    selected = subprocess.run(
        [KUBECTL, "-s", c.server, "get", "nodes", "-l", "kubernetes.io/hostname=n3", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert selected.stdout.split() == ["node/n3"]


def test_a_bad_nodes_file_stops_podyard_run_with_line_and_field(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("nodes:\n- name: n1\n  dockerHost: unix:///nowhere.sock\n- name: n2\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "controller",
            "run",
            "--manifests",
            str(tmp_path),
            "--nodes",
            str(nodes),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 2
    assert f"{nodes}:4: nodes[1].dockerHost: Required value" in run.stderr
