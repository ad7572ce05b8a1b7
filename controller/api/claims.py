"""PersistentVolumeClaims in the core group: `/api/v1/persistentvolumeclaims` and the namespaced
`/api/v1/namespaces/{ns}/persistentvolumeclaims[/{name}]`, as core/v1 PersistentVolumeClaim.

A claim is `Bound` once its Docker volume exists on a node (or a pod using it was placed there),
else `Pending`, as a claim waiting for its first consumer is in Kubernetes. `spec.volumeName` and
`status.capacity` are the volume's name and the requested size (the local driver enforces no
size). The reclaim policy, always Retain, is said in the annotation
`podyard.io/reclaim-policy` and the node holding the data in `volume.kubernetes.io/selected-node`
(the annotation Kubernetes' WaitForFirstConsumer binding sets). A Table has kubectl's columns
NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE (wide adds
VOLUMEMODE), so `kubectl get pvc` works.

Trap: the source runs in the event loop and must only read in-memory state.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from controller.api.responses import JSON, json_response, not_found, table, wants_table
from controller.api.tables import human_duration, parse_time
from controller.api.watch import ListedResource, current, list_or_watch
from controller.model.claims import RECLAIM_POLICY, ClaimView
from controller.model.identity import object_uid
from controller.serde import rfc3339

ClaimsSource = Callable[[], list[ClaimView]]

CLAIMS_KEY: web.AppKey[ClaimsSource] = web.AppKey("persistentvolumeclaims")

RECLAIM_ANNOTATION = "podyard.io/reclaim-policy"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"

CLAIM_RESOURCE: JSON = {
    "name": "persistentvolumeclaims",
    "singularName": "persistentvolumeclaim",
    "namespaced": True,
    "kind": "PersistentVolumeClaim",
    "verbs": ["get", "list", "watch"],
    "shortNames": ["pvc"],
}

CLAIM_COLUMNS = (
    "NAME",
    "STATUS",
    "VOLUME",
    "CAPACITY",
    "ACCESS MODES",
    "STORAGECLASS",
    "VOLUMEATTRIBUTESCLASS",
    "AGE",
)
CLAIM_WIDE_COLUMNS = (*CLAIM_COLUMNS, "VOLUMEMODE")

_MODE_SHORT = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def claim_to_k8s(view: ClaimView) -> JSON:
    claim = view.claim
    meta = claim.metadata
    spec = claim.spec
    annotations = {**meta.annotations, RECLAIM_ANNOTATION: RECLAIM_POLICY}
    if view.nodes:
        annotations[SELECTED_NODE_ANNOTATION] = ",".join(view.nodes)
    requests = spec.resources.requests.storage
    body: JSON = {
        "accessModes": [m.value for m in spec.access_modes],
        "resources": {"requests": {"storage": requests.text}} if requests else {},
        "volumeMode": spec.volume_mode.value,
    }
    if spec.storage_class_name is not None:
        body["storageClassName"] = spec.storage_class_name
    status: JSON = {"phase": "Bound" if view.volume else "Pending"}
    if view.volume:
        body["volumeName"] = view.volume
        status["accessModes"] = body["accessModes"]
        if requests is not None:
            status["capacity"] = {"storage": requests.text}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": meta.name,
            "namespace": meta.namespace,
            "uid": object_uid(claim.kind, meta.namespace, meta.name),
            "labels": dict(meta.labels),
            "annotations": annotations,
            "creationTimestamp": rfc3339(view.declared_at),
        },
        "spec": body,
        "status": status,
    }


def claim_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    spec = obj.get("spec", {})
    status = obj.get("status", {})
    modes = ",".join(_MODE_SHORT.get(m, m) for m in status.get("accessModes") or [])
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    row = [
        obj["metadata"]["name"],
        status.get("phase", ""),
        spec.get("volumeName", ""),
        (status.get("capacity") or {}).get("storage", ""),
        modes,
        spec.get("storageClassName") or "<unset>",
        "<unset>",
        human_duration(now - created) if created is not None else "<unknown>",
    ]
    if wide:
        row.append(spec.get("volumeMode", ""))
    return row


def _all_claims(app: web.Application) -> list[JSON]:
    return [claim_to_k8s(v) for v in app[CLAIMS_KEY]()]


CLAIMS = ListedResource(
    name="persistentvolumeclaims",
    list_kind="PersistentVolumeClaimList",
    api_version="v1",
    columns=CLAIM_COLUMNS,
    wide_columns=CLAIM_WIDE_COLUMNS,
    row=claim_row,
    objects=_all_claims,
)


async def list_claims(request: web.Request) -> web.StreamResponse:
    return await list_or_watch(request, CLAIMS)


async def get_claim(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    namespace = request.match_info["namespace"]
    claims, _ = current(request, CLAIMS)
    for claim in claims:
        meta = claim["metadata"]
        if meta["name"] == name and meta["namespace"] == namespace:
            if wants_table(request):
                return json_response(table([claim], CLAIM_COLUMNS, CLAIM_WIDE_COLUMNS, claim_row))
            return json_response(claim)
    return not_found("persistentvolumeclaims", name)


def add_claim_routes(app: web.Application, claims: ClaimsSource | None = None) -> None:
    """The claim routes; without `claims`, the list is empty. Add `CLAIMS` to the watches."""
    app[CLAIMS_KEY] = claims or list
    app.router.add_get("/api/v1/persistentvolumeclaims", list_claims)
    base = "/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    app.router.add_get(base, list_claims)
    app.router.add_get(f"{base}/{{name}}", get_claim)
