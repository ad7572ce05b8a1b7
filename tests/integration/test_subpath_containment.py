"""subPath stays inside its volume, on a real engine (issue 8, finding 4; CVE-2017-1002101's trap).

A symlink inside a volume that points out of it, planted by the host's owner (hostPath) or by a
container (emptyDir), must never give a container the host's files: the container that mounts it
as a subPath is refused with CreateContainerConfigError naming the subPath, nothing is mounted for
it, and the pod's other containers run as before. A subPath that is a real directory still works.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from controller.config import RuntimeSettings
from controller.model.errors import ConfigRefused
from controller.model.meta import NodeName, PodRef, PodUid
from controller.model.observed import ContainerIdentity, ContainerRole
from controller.model.plan import ContainerConfig, MountSpec
from controller.model.pod import HostPathVolumeSource, PullPolicy, Volume, VolumeMount
from controller.model.status import Waiting
from controller.runtime.docker.runtime import DockerRuntime
from tests.factories import container, pod, scratch_volume
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually, subpath_dir_of

SLEEP = "trap 'exit 0' TERM; sleep 3600 & wait"


def mounts_under(directory: str) -> list[str]:
    """Mount points at or below `directory`, from this process's mount table."""
    prefix = directory.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as info:
        return [p for line in info if (p := line.split()[4]).startswith(prefix)]


def refused(controller: Controller, pod_name: str, container_name: str) -> Waiting | None:
    """The container's state while it waits with CreateContainerConfigError, else None."""
    view = controller.view(pod_name)
    if view is None:
        return None
    for status in view.status.container_statuses:
        state = status.state
        if status.name == container_name and isinstance(state, Waiting):
            return state if state.reason == "CreateContainerConfigError" else None
    return None


def host_marker(tmp_path: Path) -> Path:
    """A file only the host has: seeing it from a container means the host's root leaked in."""
    marker = tmp_path / f"host-only-{uuid.uuid4().hex}"
    marker.write_text("host secret\n")
    return marker


async def test_host_path_symlink_to_root_is_refused_and_a_real_subdirectory_works(
    controller: Controller, docker_host: str, tmp_path: Path
) -> None:
    marker = host_marker(tmp_path)
    share = tmp_path / "share"
    (share / "real").mkdir(parents=True)
    (share / "real" / "inside.txt").write_text("volume file\n")
    (share / "x").symlink_to("/")
    (share / "up").symlink_to("../..")
    data = Volume(name="data", host_path=HostPathVolumeSource(str(share)))
    peek = f"cat /mnt/x{marker} && echo ESCAPED; {SLEEP}"
    await controller.start(
        [
            pod(
                "hostpath",
                [
                    container(
                        "reader",
                        "sh",
                        "-c",
                        peek,
                        volume_mounts=(VolumeMount("data", "/mnt/x", sub_path="x"),),
                    ),
                    container(
                        "climber",
                        "sh",
                        "-c",
                        SLEEP,
                        volume_mounts=(VolumeMount("data", "/mnt/up", sub_path="up/etc"),),
                    ),
                    container(
                        "legit",
                        "sh",
                        "-c",
                        f"cat /mnt/real/inside.txt; {SLEEP}",
                        volume_mounts=(VolumeMount("data", "/mnt/real", sub_path="real"),),
                    ),
                ],
                volumes=[data],
                grace=2,
            )
        ]
    )

    reader = await eventually(
        lambda: refused(controller, "hostpath", "reader"), what="reader refused"
    )
    climber = await eventually(
        lambda: refused(controller, "hostpath", "climber"), what="climber refused"
    )
    assert reader.message == (
        'failed to prepare subPath for volumeMount "data" of container "reader": '
        'path "x" escapes the volume (symlink)'
    )
    assert 'path "up/etc" escapes the volume (symlink)' in climber.message
    assert not (tmp_path / "etc").exists()  # nothing made outside while resolving

    legit = await eventually(lambda: controller.running("hostpath", "legit"), what="legit running")
    logs = docker_cli(docker_host, "logs", legit[0].id)
    assert logs == "volume file\n"
    names = {c.identity.container_name for c in controller.containers("hostpath")}
    assert names == {"POD", "legit"}  # the refused containers were never created
    # Exactly one subPath mount on the host: the legitimate one.
    subpaths = subpath_dir_of(docker_host)
    mounted = mounts_under(subpaths)
    assert len(mounted) == 1
    assert legit[0].docker_name in mounted[0]
    events = [e for e in controller.engine.events.list() if e.reason == "Failed"]
    assert any('path "x" escapes the volume' in e.message for e in events)

    controller.set_pods([])
    await eventually(lambda: not controller.containers("hostpath"), what="pod removed")
    await eventually(lambda: not mounts_under(subpaths), what="subPath mounts released")
    assert (share / "real" / "inside.txt").read_text() == "volume file\n"  # data kept
    assert marker.read_text() == "host secret\n"


async def test_empty_dir_link_planted_by_a_container_is_refused_on_restart(
    controller: Controller, docker_host: str, tmp_path: Path
) -> None:
    marker = host_marker(tmp_path)
    # The writer replaces whatever is at x (the reader's first attempt makes it a directory)
    # with a link to the host's root, as a compromised container would.
    plant = f"until [ -L /vol/x ]; do rm -rf /vol/x; ln -s / /vol/x; done; {SLEEP}"
    # The reader reports what it sees and exits, so it is created again after the link is there.
    peek = f"if [ -e /mnt/x{marker} ]; then echo ESCAPED; else echo contained; fi; sleep 0.2"
    await controller.start(
        [
            pod(
                "planted",
                [
                    container(
                        "writer",
                        "sh",
                        "-c",
                        plant,
                        volume_mounts=(VolumeMount("vol", "/vol"),),
                    ),
                    container(
                        "reader",
                        "sh",
                        "-c",
                        peek,
                        volume_mounts=(VolumeMount("vol", "/mnt/x", sub_path="x"),),
                    ),
                ],
                volumes=[scratch_volume("vol")],
                grace=2,
            )
        ]
    )
    reader_state = await eventually(
        lambda: refused(controller, "planted", "reader"),
        timeout=45,
        what="reader refused once the link is there",
    )
    assert reader_state.message == (
        'failed to prepare subPath for volumeMount "vol" of container "reader": '
        'path "x" escapes the volume (symlink)'
    )
    assert controller.running("planted", "writer")
    readers = [c for c in controller.containers("planted") if c.identity.container_name == "reader"]
    for reader in readers:  # every attempt that did run saw only the volume
        assert "ESCAPED" not in docker_cli(docker_host, "logs", reader.id)
        assert reader.state.value != "running"
    # Mounts are kept only for reader attempts that exist (made before the link): none was made
    # for the refused one.
    names = {reader.docker_name for reader in readers}
    for point in mounts_under(subpath_dir_of(docker_host)):
        assert Path(point).parent.name in names, point


async def test_mounts_go_with_their_container_and_a_restarted_controller_sweeps_leftovers(
    docker_host: str, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    (share / "sub" / "kept").write_text("user data\n")
    settings = RuntimeSettings(subpath_dir=subpath_dir_of(docker_host))
    ref = PodRef("default", "sweep", PodUid(uuid.uuid4().hex))

    def config(name: str, **fields: Any) -> ContainerConfig:
        identity = ContainerIdentity(ref, name, ContainerRole.APP, 0, "h", "ph", time.time())
        return ContainerConfig(
            docker_name=f"podyard-test-{ref.uid[:12]}-{name}",
            identity=identity,
            image=DEMO_IMAGE,
            pull_policy=PullPolicy.IF_NOT_PRESENT,
            entrypoint=("sleep", "3600"),
            mounts=(MountSpec("bind", str(share), "/mnt", sub_path="sub", volume_name="share"),),
            **fields,
        )

    subpaths = subpath_dir_of(docker_host)
    runtime = DockerRuntime(NodeName("it-node"), settings, docker_host)
    try:
        first = await runtime.create_container(config("first"))
        await runtime.create_container(config("second"))
        assert len(mounts_under(subpaths)) == 2
        with pytest.raises(ConfigRefused, match="Minimum memory limit"):  # the engine's 400
            await runtime.create_container(config("refused", memory_limit_bytes=1024))
        assert len(mounts_under(subpaths)) == 2  # the refused one's mount went at once
        await runtime.remove_container(first)
        [left] = mounts_under(subpaths)
        assert "-second/" in left
    finally:
        await runtime.close()
    # A restarted controller keeps the mounts of the containers that exist...
    fresh = DockerRuntime(NodeName("it-node"), settings, docker_host)
    try:
        await fresh.list_containers()
        assert mounts_under(subpaths) == [left]
        # ...and releases those of a container removed behind its back at the next listing.
        docker_cli(docker_host, "rm", "-f", config("second").docker_name)
        await fresh.list_containers()
    finally:
        await fresh.close()
    assert mounts_under(subpaths) == []
    assert (share / "sub" / "kept").read_text() == "user data\n"
