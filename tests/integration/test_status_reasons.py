"""Kubernetes' waiting and terminated reasons, produced by a real engine; host ports; the pause image."""

from __future__ import annotations

import json
import urllib.request

from controller.model.pod import Container, ContainerPort, RestartPolicy
from controller.model.status import Terminated, Waiting
from tests.factories import container, pod
from tests.integration.dockerd import DEMO_IMAGE, PAUSE_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually, free_port


async def test_unpullable_image_is_err_image_pull_then_image_pull_back_off(
    controller: Controller, docker_host: str
) -> None:
    # A registry on loopback that is not there: the pull fails at once, no traffic leaves the host.
    missing = "localhost:5999/podyard/absent:1"
    await controller.start([pod("nopull", [container("c", image=missing)])])
    seen: set[str] = set()

    def sample() -> bool:
        view = controller.view("nopull")
        if view is not None:
            state = view.status.container_statuses[0].state
            assert not isinstance(state, Terminated)
            if isinstance(state, Waiting):
                seen.add(state.reason)
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    await eventually(sample, timeout=20, interval=0.05, what="ErrImagePull then ImagePullBackOff")
    view = controller.view("nopull")
    assert view is not None
    assert view.status.phase.value == "Pending"
    names = [c.identity.container_name for c in controller.containers("nopull")]
    assert "c" not in names  # nothing was created for the container that has no image


async def test_missing_executable_is_container_cannot_run(controller: Controller) -> None:
    bad = container("c", "/no/such/binary", image=DEMO_IMAGE)
    await controller.start([pod("cannotrun", [bad], restart_policy=RestartPolicy.NEVER)])
    view = await controller.wait_phase("cannotrun", "Failed")
    state = view.status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert state.reason == "ContainerCannotRun"
    assert "no such file or directory" in state.message or "not found" in state.message


async def test_host_port_is_published_on_loopback(controller: Controller, docker_host: str) -> None:
    port = free_port()
    web = Container(
        name="web",
        image=DEMO_IMAGE,
        command=(
            "sh",
            "-c",
            "mkdir /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www",
        ),
        ports=(ContainerPort(container_port=8080, host_port=port),),
    )
    await controller.start([pod("ported", [web], grace=2)])
    await controller.wait_running_ready("ported")

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return str(response.read().decode().strip())
        except OSError:
            return None

    assert await eventually(fetch, what="the host port answering") == "published"
    sandbox = controller.running("ported", "POD")[0]
    bindings = json.loads(
        docker_cli(docker_host, "inspect", "-f", "{{json .HostConfig.PortBindings}}", sandbox.id)
    )
    assert bindings == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}


async def test_absent_pause_image_falls_back_to_a_local_build(docker_host: str) -> None:
    docker_cli(docker_host, "rmi", PAUSE_IMAGE)
    c = Controller(docker_host, pause_image="localhost:5999/pause:3.10")
    try:
        await c.start(
            [
                pod(
                    "fallback",
                    [
                        container(
                            "c",
                            "sh",
                            "-c",
                            "trap 'exit 0' TERM; sleep 3600 & wait",
                            image=DEMO_IMAGE,
                        )
                    ],
                    grace=2,
                )
            ]
        )
        await c.wait_running_ready("fallback")
        sandbox = c.running("fallback", "POD")[0]
        assert sandbox.image == PAUSE_IMAGE
        label = docker_cli(
            docker_host,
            "image",
            "inspect",
            "-f",
            '{{index .Config.Labels "io.podyard.image"}}',
            PAUSE_IMAGE,
        )
        assert label.strip() == "pause"
    finally:
        await c.stop()
