"""Deployments from a live folder on a real engine: rolling-update bounds, a bad rollout, revert."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import deployment_yaml, write


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[tuple[ControllerProcess, Path]]:
    folder = tmp_path / "m"
    folder.mkdir()
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log", "--hold-seconds", "2")
    yield c, folder
    c.stop()


def pods(c: ControllerProcess) -> list[dict[str, Any]]:
    try:
        return list(c.get("/api/v1/namespaces/default/pods")["items"])
    except OSError:
        return []


def version(pod: dict[str, Any]) -> str:
    env = pod["spec"]["containers"][0].get("env", [])
    return next((e["value"] for e in env if e["name"] == "VERSION"), "")


def ready(pod: dict[str, Any]) -> bool:
    return (
        pod["status"]["phase"] == "Running"
        and not pod["metadata"].get("deletionTimestamp")
        and all(s["ready"] for s in pod["status"].get("containerStatuses", []))
    )


def live(c: ControllerProcess) -> list[dict[str, Any]]:
    return [p for p in pods(c) if not p["metadata"].get("deletionTimestamp")]


async def test_rolling_update_bounds_and_a_bad_rollout(
    controller: tuple[ControllerProcess, Path],
) -> None:
    c, folder = controller
    manifest = write(folder, "hello.yaml", deployment_yaml("hello", 4, version="1"))
    c.start()
    await eventually(
        lambda: sum(map(ready, pods(c))) == 4, timeout=60, what="4 ready pods of version 1"
    )

    manifest.write_text(deployment_yaml("hello", 4, version="2"))
    worst_ready, worst_total, samples = 4, 4, 0
    deadline = asyncio.get_running_loop().time() + 90
    while asyncio.get_running_loop().time() < deadline:
        current = live(c)
        samples += 1
        worst_ready = min(worst_ready, sum(map(ready, current)))
        worst_total = max(worst_total, len(current))
        if len(current) == 4 and all(ready(p) and version(p) == "2" for p in current):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the rollout to version 2 did not finish")
    assert samples > 5, "sampled too little to judge the bounds"
    assert worst_ready >= 3, f"ready pods dropped to {worst_ready}"
    assert worst_total <= 5, f"{worst_total} pods at once"

    deployments = c.get("/apis/apps/v1/namespaces/default/deployments")["items"]
    status = deployments[0]["status"]
    assert (status["updatedReplicas"], status["availableReplicas"]) == (4, 4)

    # A rollout to an image that cannot be pulled stops with the old pods serving.
    manifest.write_text(
        deployment_yaml("hello", 4, version="3", image="localhost:5999/podyard/absent:1")
    )

    def stuck() -> bool:
        current = live(c)
        return any(version(p) == "3" for p in current) and sum(ready(p) for p in current) == 3

    await eventually(stuck, timeout=60, what="the bad rollout stuck with 3 old pods ready")
    await asyncio.sleep(3)  # nothing may change while it is stuck: the old pods keep serving
    current = live(c)
    assert sum(ready(p) and version(p) == "2" for p in current) == 3
    assert not any(ready(p) for p in current if version(p) == "3")

    # Reverting the file rolls back to version 2 through the old ReplicaSet.
    rs_before = {r["metadata"]["name"] for r in c.get("/apis/apps/v1/replicasets")["items"]}
    manifest.write_text(deployment_yaml("hello", 4, version="2"))
    await eventually(
        lambda: len(live(c)) == 4 and all(ready(p) and version(p) == "2" for p in live(c)),
        timeout=60,
        what="back on version 2",
    )
    rs_after = {r["metadata"]["name"] for r in c.get("/apis/apps/v1/replicasets")["items"]}
    assert rs_after <= rs_before
