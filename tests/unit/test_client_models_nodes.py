"""Nodes in each Ready state (True; Unknown when lost, and when never heard from), with
taints and the file's overrides, parse in the official Kubernetes Python client's V1Node model:
its required fields, strict types and timestamps hold for what `node_to_k8s` renders."""

from kubernetes.client import V1Node

from controller.api.nodes import node_to_k8s
from controller.config import CapacityOverrides, NodeSettings
from controller.engine.nodes import NodeRegistry
from controller.engine.nodeviews import node_views
from controller.model.meta import NodeName
from controller.model.observed import EngineInfo, NodeCapacity
from controller.model.placement import Taint, TaintEffect

CREATED = 1_700_000_000.0
ENGINE = EngineInfo(
    engine_id="7AAD:27QV",
    server_version="20.10.24",
    operating_system="linux",
    os_image="Debian GNU/Linux 12 (bookworm)",
    kernel_version="6.1.0-18-amd64",
    architecture="amd64",
)


def test_nodes_in_every_ready_state_parse() -> None:
    settings = [
        NodeSettings(
            "n1",
            labels={"zone": "a"},
            taints=(Taint("dedicated", TaintEffect.NO_SCHEDULE, "db"),),
            capacity=CapacityOverrides(memory_bytes=1 << 30, pods=20),
        ),
        NodeSettings("n2", host_ip="127.0.0.2"),
        NodeSettings("n3"),
    ]
    nodes = NodeRegistry({NodeName(s.name): s for s in settings})
    nodes.set_capacity(NodeName("n1"), NodeCapacity(4, 8 << 30, ENGINE))
    nodes.mark(NodeName("n1"), True, CREATED + 10)
    nodes.mark(NodeName("n2"), True, CREATED + 5)
    nodes.mark(NodeName("n2"), False, CREATED + 30, "Cannot connect to the Docker daemon")

    parsed = {
        node.metadata.name: node
        for node in (V1Node.from_dict(node_to_k8s(v)) for v in node_views(nodes.all(), CREATED))
    }
    assert sorted(parsed) == ["n1", "n2", "n3"]
    ready = {
        name: next(c for c in node.status.conditions if c.type == "Ready").status
        for name, node in parsed.items()
    }
    assert ready == {"n1": "True", "n2": "Unknown", "n3": "Unknown"}
    n1 = parsed["n1"]
    assert [(t.key, t.value, t.effect) for t in n1.spec.taints] == [
        ("dedicated", "db", "NoSchedule")
    ]
    assert n1.status.allocatable["pods"] == "20"
    assert n1.status.node_info.architecture == "amd64"
    assert n1.metadata.creation_timestamp.timestamp() == CREATED
    heartbeat = next(c for c in n1.status.conditions if c.type == "Ready").last_heartbeat_time
    assert heartbeat.timestamp() == CREATED + 10
