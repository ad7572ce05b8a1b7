"""PersistentVolumeClaims in the engine, on three fake nodes: a pod of a missing claim waits with
kube-scheduler's words; a claim's volume is made once, on one node, and every pod of the claim
goes there (ReadWriteOnce), also after its pods are gone and the controller restarted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controller.config import EngineSettings, RuntimeSettings
from controller.engine.engine import Engine
from controller.model.claims import (
    AccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    docker_volume_name,
)
from controller.model.desired import DesiredPod
from controller.model.meta import ObjectMeta
from controller.model.pod import PersistentVolumeClaimVolumeSource, Volume, VolumeMount
from controller.model.status import ConditionType, PodPhase
from tests.engine.conftest import PAUSE, UNWATCHED_NODES
from tests.engine.test_scheduling_engine import NODES, Cluster
from tests.factories import container, desired, pod

CLAIM = PersistentVolumeClaim(
    ObjectMeta(name="data"), PersistentVolumeClaimSpec(access_modes=(AccessMode.READ_WRITE_ONCE,))
)
VOLUME = docker_volume_name("default", "data")


def using_claim(name: str) -> DesiredPod:
    mount = VolumeMount(name="d", mount_path="/data")
    source = PersistentVolumeClaimVolumeSource(claim_name="data")
    return desired(
        pod(
            name,
            containers=[container("c", volume_mounts=(mount,))],
            volumes=[Volume(name="d", persistent_volume_claim=source)],
        )
    )


@pytest.fixture
async def c() -> AsyncIterator[Cluster]:
    made = Cluster()
    yield made
    await made.engine.stop()


async def test_a_pod_of_a_missing_claim_waits_then_starts_when_it_is_declared(c: Cluster) -> None:
    c.engine.set_desired([using_claim("p")])
    await c.engine.start()
    await c.settle()
    await c.advance(1)
    assert c.node_of("p") is None
    view = next(v for v in c.engine.pod_views() if v.pod.metadata.name == "p")
    assert view.status.phase is PodPhase.PENDING
    (scheduled,) = view.status.conditions
    assert scheduled.type is ConditionType.POD_SCHEDULED
    assert (scheduled.status, scheduled.reason) == (False, "Unschedulable")
    message = '0/3 nodes are available: persistentvolumeclaim "data" not found.'
    assert scheduled.message == message
    assert c.events("p", "FailedScheduling") == [message]

    c.engine.set_claims([CLAIM])
    await c.advance(6)  # the unschedulable retry
    assert c.node_of("p") in NODES
    assert sum(r.claim_volume_creates for r in c.runtimes.values()) == 1


async def test_every_pod_of_a_claim_goes_to_the_node_of_its_volume(c: Cluster) -> None:
    c.engine.set_claims([CLAIM])
    c.engine.set_desired([using_claim(f"p{i}") for i in range(3)])  # spreading would split them
    await c.engine.start()
    await c.settle()
    await c.advance(2)
    nodes = {c.node_of(f"p{i}") for i in range(3)}
    assert len(nodes) == 1, nodes
    (node,) = nodes
    assert node is not None
    assert c.runtimes[node].claim_volumes == {VOLUME: "default/data"}
    assert sum(r.claim_volume_creates for r in c.runtimes.values()) == 1
    others = [c.events(f"p{i}", "FailedScheduling") for i in range(3)]
    assert others == [[], [], []]

    # The pods go; the volume stays. A controller started afresh finds it by its label and
    # places the claim's next pod on that node, though the other nodes are emptier.
    c.engine.set_desired([])
    await c.settle()
    await c.advance(35)
    assert all(c.node_of(f"p{i}") is None for i in range(3))
    assert c.runtimes[node].claim_volumes == {VOLUME: "default/data"}
    await c.engine.stop()
    c.engine = Engine(
        dict(c.runtimes),
        c.clock,
        engine=EngineSettings(),
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=UNWATCHED_NODES,
    )
    c.engine.set_claims([CLAIM])
    c.engine.set_desired([using_claim("next")])
    await c.engine.start()
    await c.settle()
    await c.advance(2)
    assert c.node_of("next") == node
    assert sum(r.claim_volume_creates for r in c.runtimes.values()) == 1
