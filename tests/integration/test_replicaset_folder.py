"""ReplicaSets from a live folder on a real engine: counts follow the file, failures are replaced."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.integration.harness import ControllerProcess, docker_cli, eventually, podyard_containers
from tests.integration.manifests import replicaset_yaml, write


def start(
    docker_host: str,
    folder: Path,
    log: Path,
    processes: list[ControllerProcess],
    *extra: str,
) -> ControllerProcess:
    c = ControllerProcess(
        docker_host, folder, log, "--hold-seconds", "2", "--rescan-interval", "5", *extra
    )
    processes.append(c)
    c.start()
    return c


def pods_of(c: ControllerProcess, rs: str) -> list[dict[str, Any]]:
    try:
        items = c.get("/api/v1/namespaces/default/pods")["items"]
    except OSError:
        return []
    return [
        p
        for p in items
        if any(ref.get("name") == rs for ref in p["metadata"].get("ownerReferences", []))
        or p["metadata"]["name"].startswith(f"{rs}-")
    ]


def running_ready(c: ControllerProcess, rs: str) -> list[dict[str, Any]]:
    return [
        p
        for p in pods_of(c, rs)
        if p["status"]["phase"] == "Running"
        and all(s["ready"] for s in p["status"].get("containerStatuses", []))
        and not p["metadata"].get("deletionTimestamp")
    ]


def container_rows(docker_host: str) -> list[tuple[str, str, str]]:
    return [(r["state"], r["pod"], r["name"]) for r in podyard_containers(docker_host)]


async def test_replicas_follow_the_file(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    manifest = write(folder, "web.yaml", replicaset_yaml("web", 3))
    c = start(docker_host, folder, tmp_path / "c.log", processes)
    three = await eventually(
        lambda: len(running_ready(c, "web")) == 3 and running_ready(c, "web"),
        timeout=60,
        what="3 pods",
    )
    names = {p["metadata"]["name"] for p in three}
    assert all(len(n) == len("web-") + 5 for n in names)
    ref = three[0]["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("ReplicaSet", "web", True)

    manifest.write_text(replicaset_yaml("web", 5))
    five = await eventually(
        lambda: len(running_ready(c, "web")) == 5 and running_ready(c, "web"),
        timeout=60,
        what="5 pods",
    )
    assert names <= {p["metadata"]["name"] for p in five}

    # The pod that restarted most recently is the first to go: more restarts, shorter ready time.
    victim = sorted(names)[0]
    [main] = list(
        docker_cli(
            docker_host,
            "ps",
            "-q",
            "--filter",
            f"label=io.podyard.pod.name={victim}",
            "--filter",
            "label=io.podyard.container.name=main",
        ).split()
    )
    docker_cli(docker_host, "kill", main)

    def restarted() -> bool:
        for p in running_ready(c, "web"):
            if p["metadata"]["name"] == victim:
                return p["status"]["containerStatuses"][0]["restartCount"] == 1
        return False

    await eventually(restarted, timeout=30, what=f"{victim} restarted")
    manifest.write_text(replicaset_yaml("web", 4))
    await eventually(lambda: len(pods_of(c, "web")) == 4, timeout=60, what="scaled to 4")
    assert victim not in {p["metadata"]["name"] for p in pods_of(c, "web")}

    manifest.write_text(replicaset_yaml("web", 2))
    await eventually(
        lambda: len(pods_of(c, "web")) == 2 and len(running_ready(c, "web")) == 2,
        timeout=60,
        what="scaled to 2",
    )
    await eventually(
        lambda: len(container_rows(docker_host)) == 4, timeout=30, what="containers of 2 pods only"
    )

    # Deleting the file removes every pod: a mass deletion, so held back first, then applied.
    manifest.unlink()
    await eventually(lambda: "held back" in c.log_text(), timeout=10, what="the deletion held back")
    assert len(running_ready(c, "web")) == 2
    await eventually(lambda: not container_rows(docker_host), timeout=60, what="all pods gone")


async def test_a_failed_pod_and_a_killed_sandbox_are_handled(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    # The first pod to run fails for good (restartPolicy Never); every later one runs.
    command = (
        "if mkdir /shared/first 2>/dev/null; then exit 1; fi; "
        "trap 'exit 0' TERM; while true; do sleep 1; done"
    )
    folder = tmp_path / "m"
    write(
        folder,
        "job.yaml",
        replicaset_yaml("job", 2, command=command, restart_policy="Never", host_path=str(shared)),
    )
    # hostPath is admitted only under a prefix the operator allows (Pod Security, baseline)
    c = start(docker_host, folder, tmp_path / "c.log", processes, "--allow-host-path", str(shared))

    def settled() -> list[dict[str, Any]] | None:
        pods = pods_of(c, "job")
        phases = sorted(p["status"]["phase"] for p in pods)
        return (
            pods
            if phases == ["Failed", "Running", "Running"] and len(running_ready(c, "job")) == 2
            else None
        )

    pods = await eventually(
        settled, timeout=60, what="the failed pod replaced, kept for inspection"
    )
    failed = next(p for p in pods if p["status"]["phase"] == "Failed")
    assert failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1

    # Under restartPolicy Never a pod whose sandbox dies ends Failed, as in Kubernetes, and the
    # ReplicaSet replaces it.
    target = running_ready(c, "job")[0]["metadata"]["name"]
    sandbox = docker_cli(
        docker_host,
        "ps",
        "-q",
        "--filter",
        f"label=io.podyard.pod.name={target}",
        "--filter",
        "label=io.podyard.container.name=POD",
    ).strip()
    docker_cli(docker_host, "kill", sandbox)

    def replaced() -> bool:
        names = {p["metadata"]["name"] for p in running_ready(c, "job")}
        return len(names) == 2 and target not in names

    await eventually(replaced, timeout=60, what="the pod with the dead sandbox replaced")


async def test_sigkill_while_scaling_to_20_then_restart(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    write(folder, "big.yaml", replicaset_yaml("big", 20))
    first = start(docker_host, folder, tmp_path / "first.log", processes)

    def sandboxes() -> int:
        return sum(1 for state, _, name in container_rows(docker_host) if name == "POD")

    # The first sandbox: the ReplicaSet's slow start (batches of 1, 2, 4, 8...) has most of the
    # 20 still to make; each pod has a worker of its own, so later batches come up all at once.
    await eventually(lambda: sandboxes() >= 1, timeout=60, interval=0.02, what="scaling under way")
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    assert sandboxes() < 20, "killed too late to test anything"

    second = start(docker_host, folder, tmp_path / "second.log", processes)

    def exactly_20() -> bool:
        rows = container_rows(docker_host)
        pods = {pod for _, pod, _ in rows}
        running = [r for r in rows if r[0] == "running"]
        return len(pods) == 20 and len(rows) == len(running) == 40

    await eventually(exactly_20, timeout=120, what="exactly 20 pods of 2 containers, nothing else")
    assert len(running_ready(second, "big")) == 20
