"""Node leases in the `coordination.k8s.io/v1` group: one Lease per node in `kube-node-lease`,
renewed at the node's last heartbeat, as the kubelet's lease is.

`kubectl describe node` reads the node's lease for its `Lease:` section (HolderIdentity,
AcquireTime, RenewTime); without it, kubectl prints `Failed to get lease`. Each node's lease is
named after the node, held by it (`holderIdentity`), owned by the Node, and renewed at
`status`'s last heartbeat (`spec.renewTime` unset while the engine has never answered). They are
listed and watched like every resource (`kubectl get leases -n kube-node-lease`, columns NAME
HOLDER AGE), so `kube-node-lease` is a namespace in use whenever a node exists.

These are not the engine leases (`/podyard/v1/leases`) that decide which controller acts on an
engine: those say who may act; these only say the node was heard from.

Traps: `renewTime` is a MicroTime (six fractional digits: Kubernetes clients refuse fewer); the
nodes source runs in the event loop and must only read in-memory state.
"""

from __future__ import annotations

import datetime

from aiohttp import web

from controller.api.nodes import NODES_KEY
from controller.api.responses import JSON, json_response
from controller.api.tables import human_duration, parse_time
from controller.api.watch import ListedResource, get_named, list_or_watch
from controller.model.nodes import NodeView
from controller.serde import rfc3339

GROUP = "coordination.k8s.io"
GROUP_VERSION = f"{GROUP}/v1"
NODE_LEASE_NAMESPACE = "kube-node-lease"

LEASE_RESOURCE: JSON = {
    "name": "leases",
    "singularName": "lease",
    "namespaced": True,
    "kind": "Lease",
    "verbs": ["get", "list", "watch"],
}
_VERSION_ENTRY = {"groupVersion": GROUP_VERSION, "version": "v1"}
COORDINATION_GROUP: JSON = {
    "name": GROUP,
    "versions": [_VERSION_ENTRY],
    "preferredVersion": _VERSION_ENTRY,
}
LEASE_COLUMNS = ("NAME", "HOLDER", "AGE")


def _micro_time(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_lease_to_k8s(view: NodeView) -> JSON:
    """The node's lease, as coordination.k8s.io/v1 Lease."""
    spec: JSON = {"holderIdentity": view.name}
    if view.last_heartbeat is not None:
        spec["renewTime"] = _micro_time(view.last_heartbeat)
    return {
        "kind": "Lease",
        "apiVersion": GROUP_VERSION,
        "metadata": {
            "name": view.name,
            "namespace": NODE_LEASE_NAMESPACE,
            "creationTimestamp": rfc3339(view.created_at),
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": view.name, "uid": view.uid}
            ],
        },
        "spec": spec,
    }


def lease_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    """kubectl's printLease: name, holder, age."""
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    return [
        obj["metadata"]["name"],
        obj.get("spec", {}).get("holderIdentity") or "<none>",
        human_duration(now - created) if created is not None else "<unknown>",
    ]


def _all_leases(app: web.Application) -> list[JSON]:
    return [node_lease_to_k8s(view) for view in app[NODES_KEY]()]


NODE_LEASES = ListedResource(
    name="leases",
    list_kind="LeaseList",
    api_version=GROUP_VERSION,
    columns=LEASE_COLUMNS,
    wide_columns=LEASE_COLUMNS,
    row=lease_row,
    objects=_all_leases,
)


async def list_leases(request: web.Request) -> web.StreamResponse:
    return await list_or_watch(request, NODE_LEASES)


async def get_lease(request: web.Request) -> web.Response:
    return get_named(request, NODE_LEASES, GROUP)


async def coordination_group(request: web.Request) -> web.Response:
    return json_response({"kind": "APIGroup", "apiVersion": "v1", **COORDINATION_GROUP})


async def coordination_v1(request: web.Request) -> web.Response:
    return json_response(
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": GROUP_VERSION,
            "resources": [LEASE_RESOURCE],
        }
    )


def add_node_lease_routes(app: web.Application) -> None:
    """The lease routes, reading the nodes source (`add_node_routes` first). Add `NODE_LEASES`
    to the watched resources and `COORDINATION_GROUP` to `/apis`."""
    app.router.add_get(f"/apis/{GROUP}", coordination_group)
    app.router.add_get(f"/apis/{GROUP_VERSION}", coordination_v1)
    app.router.add_get(f"/apis/{GROUP_VERSION}/leases", list_leases)
    base = f"/apis/{GROUP_VERSION}/namespaces/{{namespace}}/leases"
    app.router.add_get(base, list_leases)
    app.router.add_get(f"{base}/{{name}}", get_lease)
