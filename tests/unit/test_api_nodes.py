"""Nodes in the read API: the core/v1 Node shape, kubectl's table, selectors, and the views
built from the engine's node registry (Ready's three states, capacity and allocatable)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.nodes import node_to_k8s
from controller.api.server import make_app
from controller.api.tables import NODE_COLUMNS, NODE_WIDE_COLUMNS, node_row, render
from controller.config import CapacityOverrides, NodeSettings
from controller.decide.nodelost import UNREACHABLE_TAINTS
from controller.engine.nodes import NodeRegistry
from controller.engine.nodeviews import MAX_PODS, node_uid, node_views
from controller.model.meta import NodeName
from controller.model.nodes import KUBE_VERSION, NodeResources
from controller.model.observed import EngineInfo, NodeCapacity
from controller.model.placement import Taint, TaintEffect
from controller.runtime.docker.json import capacity_of

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
CREATED = 1_700_000_000.0
ENGINE = EngineInfo(
    engine_id="7AAD:27QV",
    server_version="20.10.24+dfsg1",
    operating_system="linux",
    os_image="Debian GNU/Linux 12 (bookworm)",
    kernel_version="6.1.0-18-amd64",
    architecture="amd64",
)


def registry() -> NodeRegistry:
    """n1 Ready with the file's overrides, n2 heard from and then lost, n3 never heard from."""
    settings = [
        NodeSettings(
            "n1",
            labels={"zone": "a", "node-role.kubernetes.io/db": ""},
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
    return nodes


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    nodes = registry()
    app = make_app(lambda: [], lambda: True, nodes=lambda: node_views(nodes.all(), CREATED))
    async with TestClient(TestServer(app)) as c:
        yield c


def test_views_give_readys_three_states_and_resources() -> None:
    n1, n2, n3 = node_views(registry().all(), CREATED)
    assert (n1.ready, n1.reason, n1.last_transition) == (True, "KubeletReady", CREATED + 10)
    assert (n2.ready, n2.reason, n2.message) == (
        None,
        "NodeStatusUnknown",
        "Cannot connect to the Docker daemon",
    )
    assert (n2.last_heartbeat, n2.last_transition) == (CREATED + 5, CREATED + 30)
    assert (n3.ready, n3.reason) == (None, "NodeStatusNeverUpdated")
    assert n2.taints == UNREACHABLE_TAINTS  # Kubernetes' taints of a lost node
    assert n3.taints == ()  # never heard from is not lost
    assert n1.capacity == NodeResources(4000, 8 << 30, MAX_PODS)
    assert n1.allocatable == NodeResources(4000, 1 << 30, 20)  # the file's overrides win
    assert n3.capacity == NodeResources(None, None, MAX_PODS)  # unknown is None, never 0
    assert n1.uid == node_uid("n1") != n2.uid
    assert n1.labels["kubernetes.io/hostname"] == "n1"


def test_engine_info_is_read_from_the_same_info_answer_as_capacity() -> None:
    capacity = capacity_of(
        {
            "ID": "7AAD:27QV",
            "ServerVersion": "20.10.24+dfsg1",
            "OSType": "linux",
            "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
            "KernelVersion": "6.1.0-18-amd64",
            "Architecture": "x86_64",
            "NCPU": 4,
            "MemTotal": 8 << 30,
        }
    )
    assert capacity == NodeCapacity(4, 8 << 30, ENGINE)
    assert capacity_of({}) == NodeCapacity(0, 0, EngineInfo())


async def test_a_node_is_a_kubernetes_node(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/nodes/n1")
    assert response.status == 200
    node = await response.json()
    assert (node["kind"], node["apiVersion"]) == ("Node", "v1")
    meta = node["metadata"]
    assert meta["name"] == "n1"
    assert meta["uid"] == node_uid("n1")
    assert meta["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert meta["labels"] == {
        "kubernetes.io/hostname": "n1",
        "zone": "a",
        "node-role.kubernetes.io/db": "",
    }
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    status = node["status"]
    assert status["capacity"] == {"cpu": "4", "memory": "8388608Ki", "pods": "110"}
    assert status["allocatable"] == {"cpu": "4", "memory": "1048576Ki", "pods": "20"}
    assert status["addresses"] == [
        {"type": "InternalIP", "address": "127.0.0.1"},
        {"type": "Hostname", "address": "n1"},
    ]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert [c["type"] for c in status["conditions"]] == [
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
        "Ready",
    ]
    assert conditions["Ready"] == {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": "2023-11-14T22:13:30Z",
        "lastTransitionTime": "2023-11-14T22:13:30Z",
    }
    assert conditions["MemoryPressure"]["status"] == "False"
    assert conditions["PIDPressure"]["reason"] == "KubeletHasSufficientPID"
    assert status["nodeInfo"] == {
        "machineID": "7AAD:27QV",
        "systemUUID": "",
        "bootID": "",
        "kernelVersion": "6.1.0-18-amd64",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "containerRuntimeVersion": "docker://20.10.24+dfsg1",
        "kubeletVersion": KUBE_VERSION,
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": "amd64",
    }
    version = await (await client.get("/version")).json()
    assert version["gitVersion"] == KUBE_VERSION


async def test_a_lost_node_is_unknown_everywhere(client: TestClient[Any, Any]) -> None:
    node = await (await client.get("/api/v1/nodes/n2")).json()
    conditions = {c["type"]: c for c in node["status"]["conditions"]}
    assert {c["status"] for c in conditions.values()} == {"Unknown"}
    assert conditions["Ready"]["reason"] == "NodeStatusUnknown"
    assert conditions["Ready"]["lastHeartbeatTime"] == "2023-11-14T22:13:25Z"
    assert node["status"]["capacity"] == {"pods": "110"}
    assert node["spec"] == {
        "taints": [
            {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
        ]
    }
    never = await (await client.get("/api/v1/nodes/n3")).json()
    ready = next(c for c in never["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["reason"], ready["lastHeartbeatTime"]) == ("NodeStatusNeverUpdated", None)


async def test_list_discovery_selectors_and_404(client: TestClient[Any, Any]) -> None:
    body = await (await client.get("/api/v1/nodes")).json()
    assert body["kind"] == "NodeList"
    assert [n["metadata"]["name"] for n in body["items"]] == ["n1", "n2", "n3"]
    assert int(body["metadata"]["resourceVersion"]) > 0
    zone_a = await (await client.get("/api/v1/nodes", params={"labelSelector": "zone=a"})).json()
    assert [n["metadata"]["name"] for n in zone_a["items"]] == ["n1"]
    by_name = await client.get("/api/v1/nodes", params={"fieldSelector": "metadata.name!=n1"})
    assert [n["metadata"]["name"] for n in (await by_name.json())["items"]] == ["n2", "n3"]
    bad = await client.get("/api/v1/nodes", params={"fieldSelector": "status.phase=x"})
    assert bad.status == 400
    missing = await client.get("/api/v1/nodes/n9")
    assert missing.status == 404
    assert (await missing.json())["message"] == 'nodes "n9" not found'
    discovery = await (await client.get("/api/v1")).json()
    (resource,) = [r for r in discovery["resources"] if r["name"] == "nodes"]
    assert (resource["kind"], resource["namespaced"], resource["shortNames"]) == (
        "Node",
        False,
        ["no"],
    )


async def test_the_table_is_kubectls(client: TestClient[Any, Any]) -> None:
    body = await (await client.get("/api/v1/nodes", headers={"Accept": TABLE})).json()
    assert body["kind"] == "Table"
    names = [c["name"] for c in body["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Status", "Roles", "Age", "Version"]
    rows = [r["cells"] for r in body["rows"]]
    assert [r[:3] for r in rows] == [
        ["n1", "Ready", "db"],
        ["n2", "NotReady", "<none>"],
        ["n3", "NotReady", "<none>"],
    ]
    assert rows[0][4] == KUBE_VERSION
    assert rows[0][5:] == [
        "127.0.0.1",
        "<none>",
        "Debian GNU/Linux 12 (bookworm)",
        "6.1.0-18-amd64",
        "docker://20.10.24+dfsg1",
    ]
    assert rows[2][5:] == ["127.0.0.1", "<none>", "<unknown>", "<unknown>", "<unknown>"]


def test_a_draining_node_is_ready_with_scheduling_disabled() -> None:
    nodes = registry()
    nodes.set_draining(NodeName("n1"), True)
    n1 = node_views(nodes.all(), CREATED)[0]
    assert n1.unschedulable
    node = node_to_k8s(n1)
    assert node["spec"]["unschedulable"] is True
    assert node_row(node, CREATED)[1] == "Ready,SchedulingDisabled"


def test_node_rows_follow_kubectls_print_node() -> None:
    now = CREATED + 3600
    node = {
        "metadata": {"name": "n1", "creationTimestamp": "2023-11-14T22:13:20Z", "labels": {}},
        "spec": {"unschedulable": True},
        "status": {"nodeInfo": {"kubeletVersion": "v1"}},
    }
    assert node_row(node, now) == ["n1", "Unknown,SchedulingDisabled", "<none>", "60m", "v1"]
    roles = {"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "master"}
    node["metadata"]["labels"] = roles
    assert node_row(node, now)[2] == "master,worker"
    text = render(NODE_COLUMNS, [node_row(node, now)])
    assert text.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(node_row(node, now, wide=True)) == len(NODE_WIDE_COLUMNS)
