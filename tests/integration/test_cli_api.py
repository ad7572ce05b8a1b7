"""Operating it: the HTTP API, `podyard get pods`, kubectl against the API, refused manifests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import pod_yaml, write


@pytest.fixture
def running_controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "web.yaml", pod_yaml("web", 2))
    write(
        folder,
        "broken.yaml",
        pod_yaml("broken", 1).replace(
            "  restartPolicy: Always\n",
            "  restartPolicy: Always\n  securityContext:\n    seLinuxOptions:\n      level: s0\n",
        ),
    )
    write(folder, "typo.yaml", pod_yaml("typo", 1).replace("image:", "imagee:"))
    write(
        folder,
        "quantity.yaml",
        pod_yaml("quantity", 1) + "      resources:\n        limits:\n          memory: 64Mo\n",
    )
    write(
        folder,
        "wrongtype.yaml",
        pod_yaml("wrongtype", 1).replace(
            "terminationGracePeriodSeconds: 2", 'terminationGracePeriodSeconds: "2"'
        ),
    )
    write(
        folder,
        "noimage.yaml",
        "\n".join(line for line in pod_yaml("noimage", 1).splitlines() if "image:" not in line),
    )
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def podyard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def _web_running(c: ControllerProcess) -> dict[str, object]:
    def probe() -> dict[str, object] | None:
        if not c.ready():
            return None
        pods = c.get("/api/v1/namespaces/default/pods")["items"]
        web = [p for p in pods if p["metadata"]["name"] == "web"]
        ok = (
            web
            and web[0]["status"]["phase"] == "Running"
            and all(s["ready"] for s in web[0]["status"]["containerStatuses"])
        )
        return web[0] if ok else None

    return await eventually(probe, timeout=60, what="web Running via the API")


async def test_api_and_get_pods(running_controller: ControllerProcess) -> None:
    c = running_controller
    web = await _web_running(c)
    assert web["kind"] == "Pod"
    assert web["apiVersion"] == "v1"
    meta = web["metadata"]
    assert isinstance(meta, dict)
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    status = web["status"]
    assert isinstance(status, dict)
    assert status["podIP"]
    assert [cond["type"] for cond in status["conditions"]] == [
        "PodScheduled",
        "Initialized",
        "ContainersReady",
        "Ready",
    ]

    table = podyard("get", "pods", "--server", c.server)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == ["web", "2/2", "Running", "0"]
    assert not any(line.startswith(("broken", "typo")) for line in lines), (
        "refused manifests must not run"
    )

    wide = podyard("get", "pods", "-o", "wide", "--server", c.server)
    assert "IP" in wide.stdout.splitlines()[0]
    assert status["podIP"] in wide.stdout

    as_json = json.loads(podyard("get", "pods", "-o", "json", "--server", c.server).stdout)
    assert as_json["kind"] == "PodList"
    assert as_json["items"][0]["metadata"]["name"] == "web"
    as_yaml = podyard("get", "pods", "web", "-o", "yaml", "--server", c.server).stdout
    assert "kind: Pod" in as_yaml
    assert "name: web" in as_yaml

    # Selectors go to the server, which applies them (as kubectl's -l and --field-selector).
    chosen = podyard("get", "pods", "-l", "app in (web,api)", "--server", c.server)
    assert chosen.returncode == 0, chosen.stderr
    assert [line.split()[0] for line in chosen.stdout.splitlines()[1:]] == ["web"]
    none = podyard("get", "pods", "--field-selector", "metadata.name!=web", "--server", c.server)
    assert none.returncode == 0
    assert none.stdout == ""
    assert "No resources found in default namespace." in none.stderr
    refused = podyard("get", "pods", "--field-selector", "spec.foo=1", "--server", c.server)
    assert refused.returncode != 0
    assert "field label not supported: spec.foo" in refused.stderr

    missing = podyard("get", "pods", "nope", "--server", c.server)
    assert missing.returncode != 0
    assert 'pods "nope" not found' in missing.stderr


async def test_refused_manifests_name_file_and_field(running_controller: ControllerProcess) -> None:
    await _web_running(running_controller)
    log = running_controller.log_text()
    assert "broken.yaml" in log
    assert "spec.securityContext.seLinuxOptions" in log
    assert "not supported" in log
    assert "typo.yaml" in log
    assert "spec.containers[0].imagee" in log
    for file, field in [
        ("quantity.yaml", "spec.containers[0].resources.limits.memory"),
        ("wrongtype.yaml", "spec.terminationGracePeriodSeconds"),
        ("noimage.yaml", "spec.containers[0].image: Required value"),
    ]:
        assert any(file in line and field in line for line in log.splitlines()), (file, field)
    pods = running_controller.get("/api/v1/pods")["items"]
    assert [p["metadata"]["name"] for p in pods] == ["web"], (
        "nothing is created for refused manifests"
    )


@pytest.mark.kubectl
async def test_kubectl_reads_the_api(running_controller: ControllerProcess) -> None:
    await _web_running(running_controller)
    done = subprocess.run(
        ["kubectl", "-s", running_controller.server, "get", "pods"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:3] == ["web", "2/2", "Running"]


@pytest.mark.kubectl
async def test_kubectl_and_podyard_get_events(running_controller: ControllerProcess) -> None:
    await _web_running(running_controller)
    done = subprocess.run(
        ["kubectl", "-s", running_controller.server, "get", "events"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    shown = [line.split() for line in lines[1:]]
    assert any(cells[1:4] == ["Normal", "Scheduled", "pod/web"] for cells in shown), done.stdout
    assert any(cells[1:4] == ["Normal", "Started", "pod/web"] for cells in shown), done.stdout
    mine = podyard("get", "ev", "--server", running_controller.server)
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.splitlines()[0].split() == lines[0].split()
    assert "pod/web" in mine.stdout
