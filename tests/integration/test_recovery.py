"""The controller process can die at any moment: nothing duplicated, orphaned or needlessly restarted."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ControllerProcess, docker_cli, eventually, podyard_containers
from tests.integration.manifests import pod_yaml, write

PODS = 6


def _containers(docker_host: str) -> list[dict[str, str]]:
    return podyard_containers(docker_host)


def _converged(docker_host: str) -> bool:
    rows = _containers(docker_host)
    running = [r for r in rows if r["state"] == "running"]
    per_pod = {f"p{i}" for i in range(PODS)}
    for pod in per_pod:
        names = sorted(r["name"] for r in running if r["pod"] == pod)
        if names != ["POD", "c0", "c1"]:
            return False
    return len(rows) == len(running) == PODS * 3


@pytest.fixture
def controller_factory(docker_host: str, tmp_path: Path) -> Iterator[list[ControllerProcess]]:
    started: list[ControllerProcess] = []
    yield started
    for c in started:
        c.stop()


async def test_sigkill_during_creation_then_restart_converges_exactly(
    docker_host: str, tmp_path: Path, controller_factory: list[ControllerProcess]
) -> None:
    folder = tmp_path / "manifests"
    for i in range(PODS):
        write(folder, f"p{i}.yaml", pod_yaml(f"p{i}"))
    first = ControllerProcess(docker_host, folder, tmp_path / "first.log")
    controller_factory.append(first)
    first.start()
    # Kill it while it is creating: some pods exist, others do not yet.
    await eventually(
        lambda: len(_containers(docker_host)) >= 4,
        timeout=60,
        interval=0.02,
        what="creation under way",
    )
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    assert not _converged(docker_host), "killed too late to test anything"

    second = ControllerProcess(docker_host, folder, tmp_path / "second.log")
    controller_factory.append(second)
    second.start()
    await eventually(
        lambda: _converged(docker_host), timeout=90, what="exactly one sandbox and container each"
    )
    before = {r["id"] for r in _containers(docker_host)}

    # A third controller after a SIGKILL of a converged one changes nothing that runs.
    assert second.kill(signal.SIGKILL) == -signal.SIGKILL
    third = ControllerProcess(docker_host, folder, tmp_path / "third.log")
    controller_factory.append(third)
    third.start()
    await eventually(third.ready, timeout=30, what="third controller ready")
    pods = await eventually(lambda: third.get("/api/v1/pods")["items"], what="pods listed")
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert {r["id"] for r in _containers(docker_host)} == before
    assert all(cs["restartCount"] == 0 for p in pods for cs in p["status"]["containerStatuses"]), (
        "a healthy container was restarted"
    )


async def test_sigterm_stops_the_controller_and_leaves_pods_running(
    docker_host: str, tmp_path: Path, controller_factory: list[ControllerProcess]
) -> None:
    folder = tmp_path / "manifests"
    write(folder, "keep.yaml", pod_yaml("keep", 1))
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    controller_factory.append(c)
    c.start()

    def running() -> list[dict[str, str]]:
        rows = [
            r for r in _containers(docker_host) if r["pod"] == "keep" and r["state"] == "running"
        ]
        return rows if len(rows) == 2 else []

    before = await eventually(running, timeout=60, what="pod keep running")
    assert c.kill(signal.SIGTERM) == 0
    assert "stopping; pods keep running" in c.log_text()
    assert running() == before


async def test_unlabelled_containers_are_never_touched(
    docker_host: str, tmp_path: Path, controller_factory: list[ControllerProcess]
) -> None:
    from tests.integration.dockerd import DEMO_IMAGE

    foreign = docker_cli(
        docker_host,
        "run",
        "-d",
        "--name",
        "podyard-test-unlabelled",
        DEMO_IMAGE,
        "sh",
        "-c",
        "sleep 3600",
    ).strip()
    folder = tmp_path / "manifests"
    manifest = write(folder, "gone.yaml", pod_yaml("gone", 1))
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    controller_factory.append(c)
    c.start()
    await eventually(
        lambda: len(_containers(docker_host)) == 2, timeout=60, what="pod gone running"
    )
    # restart without the manifest: the controller deletes its own pod, not the stranger
    c.kill(signal.SIGTERM)
    manifest.unlink()
    c2 = ControllerProcess(docker_host, folder, tmp_path / "c2.log")
    controller_factory.append(c2)
    c2.start()
    await eventually(lambda: not _containers(docker_host), timeout=60, what="pod gone deleted")
    state = docker_cli(docker_host, "inspect", "-f", "{{.State.Status}}", foreign).strip()
    assert state == "running"


async def test_a_manifest_broken_while_the_controller_was_down_keeps_its_pods(
    docker_host: str, tmp_path: Path, controller_factory: list[ControllerProcess]
) -> None:
    from tests.integration.manifests import replicaset_yaml

    folder = tmp_path / "manifests"
    pod_file = write(folder, "solo.yaml", pod_yaml("solo", 1))
    rs_file = write(folder, "pack.yaml", replicaset_yaml("pack", 2))
    first = ControllerProcess(docker_host, folder, tmp_path / "first.log")
    controller_factory.append(first)
    first.start()
    await eventually(
        lambda: len(_running_ids(docker_host)) == 6, timeout=60, what="solo and pack running"
    )
    before = _running_ids(docker_host)
    assert first.kill(signal.SIGTERM) == 0

    pod_file.write_text(pod_file.read_text().replace("containers:", "containers: [broken"))
    rs_file.write_text(rs_file.read_text().replace("replicas: 2", "replicas: two"))
    second = ControllerProcess(docker_host, folder, tmp_path / "second.log")
    controller_factory.append(second)
    second.start()
    await eventually(second.ready, timeout=30, what="second controller ready")
    for _ in range(40):  # 4 s: relists, syncs and rechecks all had their turn
        assert _running_ids(docker_host) == before, "a pod behind a broken manifest was touched"
        await asyncio.sleep(0.1)
    log = second.log_text()
    assert "solo.yaml" in log
    assert "pack.yaml" in log

    pod_file.write_text(pod_yaml("solo", 1))
    rs_file.write_text(replicaset_yaml("pack", 2))
    await asyncio.sleep(3)
    assert _running_ids(docker_host) == before, "fixing the files must not restart anything"


def _running_ids(docker_host: str) -> set[str]:
    return {r["id"] for r in _containers(docker_host) if r["state"] == "running"}
