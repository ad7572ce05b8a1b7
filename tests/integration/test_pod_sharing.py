"""A pod really is a pod on a real engine: shared localhost, IPC, hostname and volumes; own roots."""

from __future__ import annotations

from controller.model.pod import Container, EnvVar
from tests.factories import container, mount, pod, scratch_volume
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually, exec_in

SERVE = "mkdir -p /www && echo hello-from-a > /www/index.html && exec httpd -f -p 8080 -h /www"
IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"


def _web_pod(name: str, share_pid: bool = False) -> object:
    a = Container(
        name="a",
        image=DEMO_IMAGE,
        command=("sh", "-c", SERVE),
        volume_mounts=(mount("scratch", "/data"),),
        env=(EnvVar("ROLE", "server"),),
    )
    b = container(
        "b", "sh", "-c", IDLE, image=DEMO_IMAGE, volume_mounts=(mount("scratch", "/data"),)
    )
    return pod(name, [a, b], volumes=[scratch_volume("scratch")], share_pid=share_pid, grace=2)


async def test_containers_share_localhost_ipc_hostname_and_volumes(
    controller: Controller, docker_host: str
) -> None:
    await controller.start([_web_pod("shared")])  # type: ignore[list-item]
    await controller.wait_running_ready("shared")
    a = controller.running("shared", "a")[0].id
    b = controller.running("shared", "b")[0].id

    page = await eventually(
        lambda: docker_cli(
            docker_host, "exec", b, "wget", "-qO-", "http://127.0.0.1:8080/", check=False
        ),
        what="a's web server on b's localhost",
    )
    assert page.strip() == "hello-from-a"

    exec_in(docker_host, a, "echo shm-token > /dev/shm/token")
    assert exec_in(docker_host, b, "cat /dev/shm/token") == "shm-token"

    assert exec_in(docker_host, a, "hostname") == "shared"
    assert exec_in(docker_host, b, "hostname") == "shared"

    # own process trees: b does not see a's httpd
    assert "httpd" not in exec_in(docker_host, b, "ps -o comm")
    assert "httpd" in exec_in(docker_host, a, "ps -o comm")

    # own root filesystems
    exec_in(docker_host, a, "touch /only-in-a")
    assert exec_in(docker_host, b, "test -e /only-in-a && echo yes || echo no") == "no"

    # the emptyDir is shared, and survives a restart of the writer
    exec_in(docker_host, a, "echo kept > /data/note")
    assert exec_in(docker_host, b, "cat /data/note") == "kept"
    docker_cli(docker_host, "kill", a)
    new_a = await eventually(
        lambda: [c for c in controller.running("shared", "a") if c.id != a],
        what="a restarted by the controller",
    )
    assert new_a[0].identity.attempt == 1
    assert exec_in(docker_host, new_a[0].id, "cat /data/note") == "kept"
    view = controller.view("shared")
    assert view is not None
    statuses = {s.name: s for s in view.status.container_statuses}
    assert statuses["a"].restart_count == 1
    assert statuses["b"].restart_count == 0


async def test_share_process_namespace_shows_all_processes(
    controller: Controller, docker_host: str
) -> None:
    await controller.start([_web_pod("pidshare", share_pid=True)])  # type: ignore[list-item]
    await controller.wait_running_ready("pidshare")
    b = controller.running("pidshare", "b")[0].id
    processes = await eventually(
        lambda: (out := exec_in(docker_host, b, "ps -o comm")) and "httpd" in out and out,
        what="httpd visible from b",
    )
    assert "catatonit" in processes  # the sandbox's pause process is PID 1 of the pod


async def test_memory_emptydir_is_tmpfs_shared_and_sized(
    controller: Controller, docker_host: str
) -> None:
    from controller.model.pod import EmptyDirVolumeSource, StorageMedium, Volume
    from controller.model.quantity import Quantity

    memory = Volume(
        name="mem",
        empty_dir=EmptyDirVolumeSource(
            medium=StorageMedium.MEMORY, size_limit=Quantity.parse("8Mi")
        ),
    )
    w = container("w", "sh", "-c", IDLE, image=DEMO_IMAGE, volume_mounts=(mount("mem", "/mem"),))
    r = container("r", "sh", "-c", IDLE, image=DEMO_IMAGE, volume_mounts=(mount("mem", "/mem"),))
    await controller.start([pod("tmpfs", [w, r], volumes=[memory], grace=2)])
    await controller.wait_running_ready("tmpfs")
    wid = controller.running("tmpfs", "w")[0].id
    rid = controller.running("tmpfs", "r")[0].id
    mounts = exec_in(docker_host, wid, "grep ' /mem ' /proc/mounts")
    assert "tmpfs" in mounts
    assert "size=8192k" in mounts
    exec_in(docker_host, wid, "echo in-memory > /mem/f")
    assert exec_in(docker_host, rid, "cat /mem/f") == "in-memory"
    docker_cli(docker_host, "kill", wid)
    await eventually(
        lambda: [c for c in controller.running("tmpfs", "w") if c.id != wid], what="w restarted"
    )
    new_w = controller.running("tmpfs", "w")[0].id
    assert exec_in(docker_host, new_w, "cat /mem/f") == "in-memory"
