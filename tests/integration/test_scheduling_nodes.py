"""Scheduling on three real engines as nodes: spreading, and kube-scheduler's Unschedulable
messages for too little memory, a nodeSelector mismatch, an untolerated taint and a taken host
port, each pod placed and running once room appears.

The three engines share this machine's network: a host port bound on one is taken on all. The
host-port case therefore keeps its pod to one node by selector (the message shows both reasons),
and frees the port on that node by deleting the pod holding it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from controller.config import CapacityOverrides, NodeSettings
from controller.model.events import EventType
from controller.model.meta import ObjectMeta
from controller.model.placement import Taint, TaintEffect, Toleration, TolerationOperator
from controller.model.pod import (
    Container,
    ContainerPort,
    Pod,
    PodSpec,
    ResourceList,
    ResourceRequirements,
)
from controller.model.quantity import Quantity
from controller.model.status import PodView
from controller.model.workloads import (
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)
from tests.integration.dockerd import DEMO_IMAGE, PrivateDockerd
from tests.integration.harness import Controller, eventually, free_port
from tests.integration.manifests import IDLE

NAMES = ("n1", "n2", "n3")
DB = Taint("dedicated", TaintEffect.NO_SCHEDULE, "db")


def idle(**fields: object) -> Container:
    return Container(name="c", image=DEMO_IMAGE, command=("sh", "-c", IDLE), **fields)  # type: ignore[arg-type]


def a_pod(name: str, container: Container | None = None, **spec: object) -> Pod:
    return Pod(
        ObjectMeta(name=name),
        PodSpec(
            containers=(container or idle(),),
            termination_grace_period_seconds=1,
            **spec,  # type: ignore[arg-type]
        ),
    )


def asking(name: str, memory: str) -> Pod:
    requests = ResourceList(memory=Quantity.parse(memory))
    return a_pod(name, idle(resources=ResourceRequirements(requests=requests)))


def on_nodes(engines: Sequence[PrivateDockerd], **settings: dict[str, object]) -> Controller:
    """A controller on the three engines; `settings[name]` adds to that node's NodeSettings."""
    nodes = [
        (name, engine.docker_host, NodeSettings(name, **settings.get(name, {})))  # type: ignore[arg-type]
        for name, engine in zip(NAMES, engines, strict=True)
    ]
    return Controller(engines[0].docker_host, nodes=nodes)


async def running_on(c: Controller, name: str, timeout: float = 60.0) -> str:
    def probe() -> str | None:
        view = c.view(name)
        if view is None or view.node is None or view.status.phase.value != "Running":
            return None
        return view.node

    return await eventually(probe, timeout, what=f"pod {name} Running on a node")


async def unschedulable(c: Controller, name: str, timeout: float = 30.0) -> str:
    def probe() -> str | None:
        view: PodView | None = c.view(name)
        if view is None or view.node is not None or not view.status.conditions:
            return None
        condition = view.status.conditions[0]
        if (condition.status, condition.reason) != (False, "Unschedulable"):
            return None
        return condition.message

    return await eventually(probe, timeout, what=f"pod {name} Unschedulable")


def failed_scheduling(c: Controller, name: str) -> list[str]:
    return [
        e.message
        for e in c.engine.events.list()
        if e.involved.name == name
        and e.reason == "FailedScheduling"
        and e.type is EventType.WARNING
    ]


async def test_a_replicaset_of_six_spreads_two_per_node(
    node_engines: list[PrivateDockerd],
) -> None:
    c = on_nodes(node_engines)
    labels = {"app": "web"}
    rs = ReplicaSet(
        ObjectMeta(name="web"),
        ReplicaSetSpec(
            LabelSelector(match_labels=labels),
            PodTemplateSpec(
                TemplateMeta(labels=labels),
                PodSpec(containers=(idle(),), termination_grace_period_seconds=1),
            ),
            replicas=6,
        ),
    )
    c.engine.set_replicasets([(rs, "web.yaml")])
    try:
        await c.start([])

        def spread() -> Counter[str] | None:
            views = [v for v in c.engine.pod_views() if v.owner == "ReplicaSet/web"]
            running = [v for v in views if v.node and v.status.phase.value == "Running"]
            return Counter(v.node for v in running) if len(running) == 6 else None

        per_node = await eventually(spread, 60.0, what="six pods Running")
        assert per_node == {"n1": 2, "n2": 2, "n3": 2}
    finally:
        await c.stop()


async def test_too_little_memory_then_a_pod_leaves(node_engines: list[PrivateDockerd]) -> None:
    room = {"capacity": CapacityOverrides(memory_bytes=256 * 1024 * 1024)}
    c = on_nodes(node_engines, n1=room, n2=room, n3=room)
    fillers = [asking(f"fill-{i}", "200Mi") for i in range(3)]
    late = asking("late", "200Mi")
    try:
        await c.start(fillers)
        nodes = {p.metadata.name: await running_on(c, p.metadata.name) for p in fillers}
        assert sorted(nodes.values()) == list(NAMES)
        c.set_pods([*fillers, late])
        message = await unschedulable(c, "late")
        assert message == "0/3 nodes are available: 3 Insufficient memory."
        assert failed_scheduling(c, "late") == [message]
        c.set_pods([fillers[0], fillers[2], late])
        assert await running_on(c, "late") == nodes["fill-1"]
        assert failed_scheduling(c, "late") == [message]  # once, though retried meanwhile
    finally:
        await c.stop()


async def test_selector_and_taint_then_the_nodes_change(
    node_engines: list[PrivateDockerd],
) -> None:
    tainted = {"taints": (DB,), "labels": {"disk": "hdd"}}
    tolerates_db = (Toleration("dedicated", TolerationOperator.EQUAL, "db"),)
    wants_ssd = a_pod("wants-ssd", node_selector={"disk": "ssd"}, tolerations=tolerates_db)
    plain = a_pod("plain")
    c = on_nodes(node_engines, n1=tainted, n2=tainted, n3=tainted)
    try:
        await c.start([wants_ssd, plain])
        assert await unschedulable(c, "wants-ssd") == (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
        )
        assert await unschedulable(c, "plain") == (
            "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: db}."
        )
    finally:
        await c.stop()
    # The nodes file changes: n3 is an ssd node without the taint. A controller started on it
    # places both pods there.
    c = on_nodes(node_engines, n1=tainted, n2=tainted, n3={"labels": {"disk": "ssd"}})
    try:
        await c.start([wants_ssd, plain])
        assert await running_on(c, "wants-ssd") == "n3"
        assert await running_on(c, "plain") == "n3"
    finally:
        await c.stop()


async def test_an_untolerated_taint_then_the_pod_tolerates_it(
    node_engines: list[PrivateDockerd],
) -> None:
    tainted = {"taints": (DB,)}
    c = on_nodes(node_engines, n1=tainted, n2=tainted, n3=tainted)
    plain = a_pod("db-client")
    try:
        await c.start([plain])
        assert await unschedulable(c, "db-client") == (
            "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: db}."
        )
        tolerant = attrs.evolve(
            plain,
            spec=attrs.evolve(
                plain.spec, tolerations=(Toleration("dedicated", TolerationOperator.EXISTS),)
            ),
        )
        c.set_pods([tolerant])
        assert await running_on(c, "db-client") in NAMES
    finally:
        await c.stop()


async def test_a_taken_host_port_then_its_holder_leaves(
    node_engines: list[PrivateDockerd],
) -> None:
    port = free_port()
    with_port = idle(ports=(ContainerPort(80, host_port=port),))
    holder = a_pod("holder", with_port, node_name="n2")
    web = a_pod("web", with_port, node_selector={"kubernetes.io/hostname": "n2"})
    c = on_nodes(node_engines)
    try:
        await c.start([holder])
        assert await running_on(c, "holder") == "n2"
        c.set_pods([holder, web])
        assert await unschedulable(c, "web") == (
            "0/3 nodes are available: "
            "1 node(s) didn't have free ports for the requested pod ports, "
            "2 node(s) didn't match Pod's node affinity/selector."
        )
        c.set_pods([web])
        assert await running_on(c, "web") == "n2"
    finally:
        await c.stop()
