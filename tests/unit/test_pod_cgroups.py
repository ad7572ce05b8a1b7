"""Pod-level resources on a Docker engine, without one: the verdict from /info, the cgroup parents
of a pod's sandbox and containers, and the body's limits for the sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from controller.config import RuntimeSettings
from controller.model.errors import ConfigRefused
from controller.model.meta import NodeName, PodRef, PodUid
from controller.model.observed import ContainerIdentity, ContainerRole
from controller.model.plan import ContainerConfig
from controller.model.pod import PullPolicy
from controller.runtime.docker.body import container_body
from controller.runtime.docker.calls import DockerCalls
from controller.runtime.docker.cgroups import POD_CGROUP_ROOT, PodCgroups, pod_cgroup_refusal

REF = PodRef("ns", "web", PodUid("uid-1"))
SANDBOX = "podyard_POD_web_ns_uid-1_0"


def config(role: ContainerRole, **fields: Any) -> ContainerConfig:
    name = "POD" if role is ContainerRole.SANDBOX else "app"
    identity = ContainerIdentity(REF, name, role, 0, "h", "ph", 1.0)
    return ContainerConfig(f"podyard_{name}", identity, "img:1", PullPolicy.NEVER, **fields)


class Engine(DockerCalls):
    """Answers /info and the sandbox's inspection from canned data, and counts the /info calls."""

    def __init__(self, info: dict[str, Any], sandbox_parent: str = POD_CGROUP_ROOT) -> None:
        super().__init__(NodeName("n1"), RuntimeSettings())
        self.info = info
        self.infos = 0
        self.sandbox_parent = sandbox_parent

    async def call(
        self, what: str, call: Callable[[Any], Awaitable[Any]], *, deadline: float | None = None
    ) -> Any:
        assert what.startswith("info")
        self.infos += 1
        return self.info

    async def inspect_raw(self, container_id: str) -> dict[str, Any] | None:
        assert container_id == SANDBOX
        return {"Id": "f00d", "HostConfig": {"CgroupParent": self.sandbox_parent}}


V1 = {"CgroupDriver": "cgroupfs", "CgroupVersion": "1", "SecurityOptions": ["name=seccomp"]}


async def test_on_cgroup_v1_the_sandbox_goes_under_podyard_and_the_containers_under_it() -> None:
    engine = Engine(V1)
    cgroups = PodCgroups(engine)
    sandbox: dict[str, Any] = {}
    await cgroups.place(config(ContainerRole.SANDBOX, pod_cgroup=True), sandbox)
    app: dict[str, Any] = {}
    app_config = config(ContainerRole.APP, join_sandbox=SANDBOX, pod_cgroup=True)
    await cgroups.place(app_config, app)
    assert sandbox == {"CgroupParent": "/podyard"}
    assert app == {"CgroupParent": "/podyard/f00d"}
    assert engine.infos == 1  # the verdict is kept


async def test_a_pod_without_pod_level_resources_is_left_alone() -> None:
    engine = Engine({})
    host: dict[str, Any] = {}
    await PodCgroups(engine).place(config(ContainerRole.APP, join_sandbox=SANDBOX), host)
    assert host == {}
    assert engine.infos == 0


@pytest.mark.parametrize(
    ("info", "words"),
    [
        ({"CgroupDriver": "systemd", "CgroupVersion": "2"}, "cgroup v2 with the systemd driver"),
        ({"CgroupDriver": "cgroupfs", "CgroupVersion": "2"}, "cgroup v2 with the cgroupfs driver"),
        ({"CgroupDriver": "systemd", "CgroupVersion": "1"}, "cgroup v1 with the systemd driver"),
        ({"CgroupDriver": "cgroupfs"}, "does not report its cgroup driver and version"),
        ({**V1, "SecurityOptions": ["name=rootless"]}, "cgroupfs driver (rootless)"),
    ],
)
async def test_elsewhere_the_containers_are_refused_and_the_sandbox_made_as_usual(
    info: dict[str, Any], words: str
) -> None:
    cgroups = PodCgroups(Engine(info))
    sandbox: dict[str, Any] = {}
    await cgroups.place(config(ContainerRole.SANDBOX, pod_cgroup=True), sandbox)
    assert sandbox == {}
    app_config = config(ContainerRole.APP, join_sandbox=SANDBOX, pod_cgroup=True)
    with pytest.raises(ConfigRefused) as refused:
        await cgroups.place(app_config, {})
    assert str(refused.value).startswith("spec.resources: pod-level resources need cgroup v1")
    assert "node n1 has " in str(refused.value)
    assert words in str(refused.value)


async def test_a_sandbox_made_outside_the_pods_cgroup_refuses_its_containers() -> None:
    cgroups = PodCgroups(Engine(V1, sandbox_parent=""))
    app_config = config(ContainerRole.APP, join_sandbox=SANDBOX, pod_cgroup=True)
    with pytest.raises(ConfigRefused, match="created without the pod's cgroup"):
        await cgroups.place(app_config, {})


def test_only_cgroupfs_on_v1_can() -> None:
    assert pod_cgroup_refusal("n1", "cgroupfs", "1") is None
    assert pod_cgroup_refusal("n1", "cgroupfs", "1", rootless=True) is not None


async def test_the_sandbox_body_carries_the_pods_limits_without_swap() -> None:
    async def no_sub_paths(*_: object) -> str | None:
        raise AssertionError("no subPath here")

    sandbox = config(
        ContainerRole.SANDBOX,
        memory_limit_bytes=64 << 20,
        cpu_limit_millis=500,
        cpu_request_millis=250,
        pod_cgroup=True,
    )
    host = (await container_body(sandbox, no_sub_paths))["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 64 << 20
    assert (host["CpuPeriod"], host["CpuQuota"], host["CpuShares"]) == (100_000, 50_000, 256)
