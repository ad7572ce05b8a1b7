"""Pod-level resources against the fake engine: the sandbox carries the pod's limits, the pod's
containers are created in its cgroup, and a node that cannot do that refuses them, visibly."""

from __future__ import annotations

import attrs

from controller.model.desired import DesiredPod
from controller.model.pod import ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from controller.model.status import PodPhase, Waiting
from controller.runtime.docker.cgroups import POD_CGROUP_ROOT
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

Q = Quantity.parse


def shared(name: str = "web") -> DesiredPod:
    p = pod(name, containers=[container("a"), container("b")])
    limits = ResourceList(cpu=Q("500m"), memory=Q("64Mi"))
    requests = ResourceList(cpu=Q("250m"))
    spec = attrs.evolve(p.spec, resources=ResourceRequirements(requests, limits))
    return desired(attrs.evolve(p, spec=spec))


async def test_the_containers_are_created_inside_the_sandboxs_limited_cgroup(
    harness: Harness,
) -> None:
    await harness.start([shared()])
    rt = harness.runtime
    [sandbox] = rt.find("POD", running=True)
    assert sandbox.cgroup_parent == POD_CGROUP_ROOT
    config = sandbox.config
    assert (config.memory_limit_bytes, config.cpu_limit_millis, config.cpu_request_millis) == (
        64 * 2**20,
        500,
        250,
    )
    for name in ("a", "b"):
        [app] = rt.find(name, running=True)
        assert app.cgroup_parent == f"{POD_CGROUP_ROOT}/{sandbox.id}"
        assert app.config.memory_limit_bytes is None  # each alone unlimited, the pod is not
    assert harness.view().status.phase is PodPhase.RUNNING


async def test_a_pod_without_pod_level_resources_is_placed_as_before(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a")]))])
    assert [r.cgroup_parent for r in harness.runtime.containers.values()] == ["", ""]
    assert harness.runtime.find("POD")[0].config.memory_limit_bytes is None


async def test_a_node_on_cgroup_v2_refuses_the_pods_containers_and_says_why(
    harness: Harness,
) -> None:
    harness.runtime.cgroup_driver, harness.runtime.cgroup_version = "systemd", "2"
    await harness.start([shared()])
    rt = harness.runtime
    assert rt.find("a") == []
    assert rt.find("b") == []
    view = harness.view()
    assert view.status.phase is PodPhase.PENDING
    [first, *_] = view.status.container_statuses
    assert isinstance(first.state, Waiting)
    assert first.state.reason == "CreateContainerConfigError"
    assert first.state.message.startswith("spec.resources: pod-level resources need cgroup v1")
    assert "node-a has cgroup v2 with the systemd driver" in first.state.message
    failed = [e for e in harness.engine.events.list() if e.reason == "Failed"]
    assert failed
    assert failed[0].type.value == "Warning"
    assert "Error: CreateContainerConfigError: spec.resources:" in failed[0].message
    creates = lambda: sum(c.startswith("create podyard_a_") for c in rt.calls)  # noqa: E731
    before = creates()
    await harness.advance(9)
    assert creates() == before  # paced as every refused configuration, never a hot loop


async def test_an_engine_that_does_not_report_its_cgroups_refuses_too(harness: Harness) -> None:
    harness.runtime.cgroup_driver = harness.runtime.cgroup_version = None
    await harness.start([shared()])
    assert harness.runtime.find("a") == []
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert "does not report its cgroup driver and version" in state.message
