"""Real kubectl with selectors: `get pods -l`, `--field-selector`, `get pod <name> -w`, `events --for`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import pod_yaml, write
from tests.integration.test_kubectl_watch import KUBECTL, watching

pytestmark = pytest.mark.kubectl


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "web.yaml", pod_yaml("web", 1))
    write(folder, "api.yaml", pod_yaml("api", 1))
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def kubectl(c: ControllerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "-s", c.server, *args], capture_output=True, text=True, timeout=30, check=False
    )


def first_cells(output: str) -> list[str]:
    """The first cell of each row, header left out."""
    return [line.split()[0] for line in output.splitlines()[1:] if line.strip()]


def _all_running(c: ControllerProcess, *names: str) -> bool:
    if not c.ready():
        return False
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in c.get("/api/v1/pods")["items"]}
    return all(phases.get(name) == "Running" for name in names)


async def test_kubectl_lists_by_label_and_field(controller: ControllerProcess) -> None:
    await eventually(lambda: _all_running(controller, "web", "api"), timeout=60, what="Running")
    only_web = kubectl(controller, "get", "pods", "-l", "app=web")
    assert only_web.returncode == 0, only_web.stderr
    assert first_cells(only_web.stdout) == ["web"]
    both = kubectl(controller, "get", "pods", "-l", "app in (web,api)", "--no-headers")
    assert sorted(line.split()[0] for line in both.stdout.splitlines()) == ["api", "web"]
    not_web = kubectl(controller, "get", "pods", "--field-selector", "metadata.name!=web")
    assert first_cells(not_web.stdout) == ["api"]
    none = kubectl(controller, "get", "pods", "-l", "app=nothing")
    assert none.returncode == 0
    assert "No resources found" in none.stderr

    bad = kubectl(controller, "get", "pods", "--field-selector", "spec.foo=x")
    assert bad.returncode != 0
    assert "field label not supported: spec.foo" in bad.stderr

    events = kubectl(controller, "events", "--for", "pod/web")
    assert events.returncode == 0, events.stderr
    objects = {line.split()[3] for line in events.stdout.splitlines()[1:] if line.strip()}
    assert objects == {"Pod/web"}, events.stdout
    described = kubectl(controller, "describe", "pod", "web")
    assert described.returncode == 0, described.stderr
    assert "Started container c0" in described.stdout
    assert "default/api" not in described.stdout, "another pod's events are not described"


async def test_kubectl_watch_of_one_pod_prints_only_that_pod(
    controller: ControllerProcess,
) -> None:
    await eventually(lambda: _all_running(controller, "web", "api"), timeout=60, what="Running")
    async with watching(controller.server, "web", "--output-watch-events") as named:
        await named.line(lambda c: c[:2] == ["ADDED", "web"], 30, "web ADDED")
        write(controller.manifests, "extra.yaml", pod_yaml("extra", 1))
        await eventually(lambda: _all_running(controller, "extra"), timeout=60, what="extra")
        # events reach a watch in order, so anything about extra would come before this line
        (controller.manifests / "web.yaml").unlink()
        await named.line(lambda c: c[:2] == ["DELETED", "web"], 60, "web DELETED")
        assert [line.split()[1] for line in named.lines[1:]] == ["web"] * (len(named.lines) - 1)
        assert not [line for line in named.lines if "extra" in line or "api" in line]
