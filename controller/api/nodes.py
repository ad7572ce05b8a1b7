"""Nodes in the core group: `/api/v1/nodes` and `/api/v1/nodes/{name}`, as core/v1 Node.

Each node (a Docker engine) is rendered from its `NodeView`: labels and taints from the nodes
file, the Ready condition (True / False / Unknown, with the kubelet's and node controller's
reasons) beside MemoryPressure, DiskPressure and PIDPressure (always False: Podyard does not evict
for pressure; Unknown with Ready Unknown, as the node controller sets them), capacity and
allocatable, addresses (InternalIP is the node's `hostIP`), and `nodeInfo` from the engine's
`/info` (`containerRuntimeVersion: docker://20.10.24`, `machineID` the engine ID). A Table has
kubectl's columns NAME STATUS ROLES AGE VERSION, so `kubectl get nodes` (and `-o wide`, `-l`,
`-w`) works.

Traps: nodes are cluster-scoped (no namespace in the path or the object); the source runs in the
event loop and must only read in-memory state; quantities are printed as the kubelet reports
them (memory in Ki when it divides, cpu in whole cores or millicores).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from controller.api.responses import JSON
from controller.api.selection import FieldSet
from controller.api.tables import NODE_COLUMNS, NODE_WIDE_COLUMNS, node_row
from controller.api.watch import ListedResource, get_named, list_or_watch
from controller.model.nodes import KUBE_VERSION, NodeResources, NodeView
from controller.serde import rfc3339

NodesSource = Callable[[], list[NodeView]]

NODES_KEY: web.AppKey[NodesSource] = web.AppKey("nodes")

NODE_RESOURCE: JSON = {
    "name": "nodes",
    "singularName": "node",
    "namespaced": False,
    "kind": "Node",
    "verbs": ["get", "list", "watch"],
    "shortNames": ["no"],
}

_PRESSURES = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def _field(read: Callable[[JSON], object]) -> Callable[[JSON], str]:
    def text(obj: JSON) -> str:
        value = read(obj)
        return str(value).lower() if isinstance(value, bool) else str(value or "")

    return text


NODE_FIELDS: FieldSet = {
    "metadata.name": _field(lambda n: n["metadata"]["name"]),
    "spec.unschedulable": _field(lambda n: bool(n.get("spec", {}).get("unschedulable"))),
}
"""The API server's field selectors on nodes."""


def _quantities(resources: NodeResources) -> JSON:
    out: JSON = {}
    if resources.cpu_millis is not None:
        millis = resources.cpu_millis
        out["cpu"] = str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
    if resources.memory_bytes is not None:
        size = resources.memory_bytes
        out["memory"] = f"{size // 1024}Ki" if size % 1024 == 0 else str(size)
    if resources.pods is not None:
        out["pods"] = str(resources.pods)
    return out


def _conditions(view: NodeView) -> list[JSON]:
    heartbeat = rfc3339(view.last_heartbeat) if view.last_heartbeat is not None else None
    transition = rfc3339(
        view.last_transition if view.last_transition is not None else view.created_at
    )
    unknown = view.ready is None
    pressures = [
        {
            "type": kind,
            "status": "Unknown" if unknown else "False",
            "reason": view.reason if unknown else reason,
            "message": view.message if unknown else message,
        }
        for kind, reason, message in _PRESSURES
    ]
    ready = {
        "type": "Ready",
        "status": "Unknown" if unknown else str(view.ready),
        "reason": view.reason,
        "message": view.message,
    }
    return [
        {**c, "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition}
        for c in (*pressures, ready)
    ]


def _node_info(view: NodeView) -> JSON:
    engine = view.engine
    return {
        "machineID": engine.engine_id if engine else "",
        "systemUUID": "",
        "bootID": "",
        "kernelVersion": engine.kernel_version if engine else "",
        "osImage": engine.os_image if engine else "",
        "containerRuntimeVersion": (
            f"docker://{engine.server_version}" if engine and engine.server_version else ""
        ),
        "kubeletVersion": KUBE_VERSION,
        "kubeProxyVersion": "",
        "operatingSystem": engine.operating_system if engine else "",
        "architecture": engine.architecture if engine else "",
    }


def node_to_k8s(view: NodeView) -> JSON:
    """A node as Kubernetes' core/v1 Node."""
    spec: JSON = {"unschedulable": True} if view.unschedulable else {}
    if view.taints:
        spec["taints"] = [
            {"key": t.key, **({"value": t.value} if t.value else {}), "effect": str(t.effect)}
            for t in view.taints
        ]
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": view.name,
            "uid": view.uid,
            "creationTimestamp": rfc3339(view.created_at),
            "labels": dict(view.labels),
        },
        "spec": spec,
        "status": {
            "capacity": _quantities(view.capacity),
            "allocatable": _quantities(view.allocatable),
            "conditions": _conditions(view),
            "addresses": [
                {"type": "InternalIP", "address": view.host_ip},
                {"type": "Hostname", "address": view.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": _node_info(view),
        },
    }


def _all_nodes(app: web.Application) -> list[JSON]:
    return [node_to_k8s(v) for v in app[NODES_KEY]()]


NODES = ListedResource(
    name="nodes",
    list_kind="NodeList",
    api_version="v1",
    columns=NODE_COLUMNS,
    wide_columns=NODE_WIDE_COLUMNS,
    row=node_row,
    objects=_all_nodes,
    fields=NODE_FIELDS,
)


async def list_nodes(request: web.Request) -> web.StreamResponse:
    return await list_or_watch(request, NODES)


async def get_node(request: web.Request) -> web.Response:
    return get_named(request, NODES)


def add_node_routes(app: web.Application, nodes: NodesSource | None = None) -> None:
    """The node routes; without `nodes`, the list is empty. Add `NODES` to the watched resources."""
    app[NODES_KEY] = nodes or list
    app.router.add_get("/api/v1/nodes", list_nodes)
    app.router.add_get("/api/v1/nodes/{name}", get_node)
