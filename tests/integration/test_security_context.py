"""securityContext on a real engine: what Docker is asked for, and runAsNonRoot's refusal."""

from __future__ import annotations

import json

import attrs

from controller.model.pod import Capabilities, SecurityContext
from controller.model.status import Waiting
from tests.factories import container, pod
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually, exec_in
from tests.integration.manifests import IDLE


async def test_the_container_runs_as_its_context_says(
    controller: Controller, docker_host: str
) -> None:
    locked = attrs.evolve(
        container("app", "sh", "-c", IDLE, image=DEMO_IMAGE),
        security_context=SecurityContext(
            run_as_user=1000,
            run_as_group=2000,
            run_as_non_root=True,
            read_only_root_filesystem=True,
            allow_privilege_escalation=False,
            capabilities=Capabilities(drop=("ALL",)),
        ),
    )
    await controller.start([pod("locked", [locked])])
    await controller.wait_running_ready("locked")
    cid = controller.running("locked", "app")[0].id
    assert exec_in(docker_host, cid, "id -u; id -g") == "1000\n2000"
    assert "Read-only file system" in docker_cli(
        docker_host, "exec", cid, "sh", "-c", "touch /x 2>&1 || true"
    )
    host = json.loads(docker_cli(docker_host, "inspect", cid))[0]["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PidsLimit"] == 1024


async def test_run_as_non_root_refuses_an_image_that_runs_as_root(controller: Controller) -> None:
    rooted = attrs.evolve(
        container("app", "sh", "-c", IDLE, image=DEMO_IMAGE),
        security_context=SecurityContext(run_as_non_root=True),
    )
    await controller.start([pod("rooted", [rooted])])

    def waiting() -> Waiting | None:
        view = controller.view("rooted")
        state = view.status.container_statuses[0].state if view else None
        return state if isinstance(state, Waiting) and state.message else None

    state = await eventually(waiting, timeout=30, what="app waiting with a message")
    assert state.reason == "CreateContainerConfigError"
    assert state.message == "container has runAsNonRoot and image will run as root"
    names = [c.identity.container_name for c in controller.containers("rooted")]
    assert "app" not in names
