"""Scheduling in the engine, on three fake nodes: pods placed at once spread and never overcommit,
an unschedulable pod says why once, and is placed as soon as room appears."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence

import attrs
import pytest

from controller.config import CapacityOverrides, EngineSettings, NodeSettings, RuntimeSettings
from controller.decide.scheduling import DEFAULT_MAX_PODS, Allocatable
from controller.engine.engine import Engine
from controller.engine.nodeinfo import allocatable
from controller.engine.nodes import node_status
from controller.engine.ports import FakeClock
from controller.model.desired import DesiredPod
from controller.model.events import EventType
from controller.model.meta import NodeName, ObjectMeta
from controller.model.observed import NodeCapacity, RunState
from controller.model.pod import PodSpec, ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from controller.model.status import ConditionType, PodPhase
from controller.model.workloads import (
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)
from controller.runtime.fake import FakeRuntime, run_forever
from tests.engine.conftest import PAUSE, UNWATCHED_NODES, advance_clock, settle_engine
from tests.factories import IMAGE, container, desired, pod

NODES = [NodeName("n1"), NodeName("n2"), NodeName("n3")]
MI = 1024 * 1024


class Cluster:
    """The real engine on three fake nodes, each offering `memory` to pods."""

    def __init__(self, memory: int | None = None) -> None:
        self.clock = FakeClock()
        self.runtimes = {
            n: FakeRuntime(n, self.clock, images=[IMAGE, PAUSE], behaviour=run_forever)
            for n in NODES
        }
        for runtime in self.runtimes.values():
            runtime.create_latency = 30  # slow creates: every pod is decided before any lands
        self.engine = Engine(
            dict(self.runtimes),
            self.clock,
            node_settings={
                n: NodeSettings(n, capacity=CapacityOverrides(memory_bytes=memory)) for n in NODES
            },
            engine=EngineSettings(),
            runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
            node_lifecycle=UNWATCHED_NODES,
        )

    async def settle(self) -> None:
        await settle_engine(self.engine, self.runtimes.values(), quiet_turns=40)

    async def advance(self, seconds: float) -> None:
        await advance_clock(self.clock, seconds, self.settle)

    def running_per_node(self) -> Counter[str]:
        return Counter(
            node
            for node, runtime in self.runtimes.items()
            for r in runtime.containers.values()
            if r.config.identity.container_name == "POD" and r.state is RunState.RUNNING
        )

    def node_of(self, name: str) -> str | None:
        for node, runtime in self.runtimes.items():
            if any(r.config.identity.pod.name == name for r in runtime.containers.values()):
                return node
        return None

    def events(self, name: str, reason: str) -> list[str]:
        return [
            e.message
            for e in self.engine.events.list()
            if e.involved.name == name and e.reason == reason
        ]


MakeCluster = Callable[..., Cluster]


@pytest.fixture
async def cluster() -> AsyncIterator[MakeCluster]:
    made: list[Cluster] = []

    def make(memory: int | None = None) -> Cluster:
        made.append(Cluster(memory))
        return made[-1]

    yield make
    for c in made:
        await c.engine.stop()


def asking(name: str, memory: str) -> DesiredPod:
    resources = ResourceRequirements(requests=ResourceList(memory=Quantity.parse(memory)))
    return desired(pod(name, containers=[container("c", resources=resources)]))


async def start(c: Cluster, pods: Sequence[DesiredPod] = ()) -> None:
    c.engine.set_desired(pods)
    await c.engine.start()
    await c.settle()


async def test_six_pods_of_a_replicaset_spread_two_per_node(cluster: MakeCluster) -> None:
    c = cluster()
    labels = {"app": "web"}
    rs = ReplicaSet(
        ObjectMeta(name="web"),
        ReplicaSetSpec(
            LabelSelector(match_labels=labels),
            PodTemplateSpec(TemplateMeta(labels=labels), PodSpec(containers=(container("c"),))),
            replicas=6,
        ),
    )
    c.engine.set_replicasets([(rs, "rs.yaml")])
    await start(c)
    await c.advance(2)
    assert c.running_per_node() == {"n1": 2, "n2": 2, "n3": 2}


async def test_pods_placed_at_once_never_overcommit_and_the_rest_wait(
    cluster: MakeCluster,
) -> None:
    c = cluster(memory=256 * MI)  # room for two 100Mi pods per node
    await start(c, [asking(f"p{i}", "100Mi") for i in range(7)])
    await c.advance(1)
    assert c.running_per_node() == {"n1": 2, "n2": 2, "n3": 2}
    (waiting,) = [f"p{i}" for i in range(7) if c.node_of(f"p{i}") is None]
    view = next(v for v in c.engine.pod_views() if v.pod.metadata.name == waiting)
    assert view.status.phase is PodPhase.PENDING
    (scheduled,) = view.status.conditions
    assert scheduled.type is ConditionType.POD_SCHEDULED
    assert (scheduled.status, scheduled.reason) == (False, "Unschedulable")
    assert scheduled.message == "0/3 nodes are available: 3 Insufficient memory."


async def test_an_unschedulable_pod_is_placed_once_room_appears(cluster: MakeCluster) -> None:
    c = cluster(memory=256 * MI)
    first = [asking(f"p{i}", "200Mi") for i in range(3)]
    late = asking("late", "200Mi")
    await start(c, first)
    c.engine.set_desired([*first, late])
    await c.settle()
    await c.advance(30)  # retried every 5 s meanwhile: still no room, one event
    assert c.node_of("late") is None
    assert c.events("late", "FailedScheduling") == [
        "0/3 nodes are available: 3 Insufficient memory."
    ]
    freed = c.node_of("p1")
    c.engine.set_desired([first[0], first[2], late])
    await c.settle()
    await c.advance(1)
    assert c.node_of("late") == freed
    assert c.events("late", "Scheduled") == [f"Successfully assigned default/late to {freed}"]
    warnings = [e for e in c.engine.events.list() if e.involved.name == "late"]
    assert sum(e.count for e in warnings if e.type is EventType.WARNING) == 1


async def test_a_pod_pinned_by_node_name_goes_there(cluster: MakeCluster) -> None:
    c = cluster()
    web = pod("pinned")
    pinned = desired(attrs.evolve(web, spec=attrs.evolve(web.spec, node_name="n3")))
    await start(c, [pinned])
    await c.advance(1)
    assert c.node_of("pinned") == "n3"


def test_allocatable_is_the_override_else_the_engine_and_zero_is_unknown() -> None:
    settings = NodeSettings("n1", capacity=CapacityOverrides(cpu_millis=1500, pods=8))
    status = attrs.evolve(node_status(settings), capacity=NodeCapacity(4, 8 << 30))
    assert allocatable(status) == Allocatable(1500, 8 << 30, 8)
    unread = node_status(NodeSettings("n1"))
    assert allocatable(unread) == Allocatable(None, None, DEFAULT_MAX_PODS)
    zero = attrs.evolve(unread, capacity=NodeCapacity(0, 0))
    assert allocatable(zero) == Allocatable(None, None, DEFAULT_MAX_PODS)
