"""Namespaces in the core group: `/api/v1/namespaces` and `/api/v1/namespaces/{name}`, as core/v1
Namespace, so `kubectl get ns` (and `-l`, `-w`, `describe ns`) works.

Podyard has no namespace store: namespaces need not be declared to be used. The list is therefore
the union of
- every `kind: Namespace` of the folder, with its labels (its `pod-security.kubernetes.io/enforce`
  label is what Pod Security admission reads),
- every namespace in use by a pod, ReplicaSet, Deployment, ConfigMap, Secret, claim or node lease
  (so `kube-node-lease` is listed whenever a node exists, as on a real cluster),
- `default`, always: it is where objects without a namespace go and where kubectl looks first.

A real cluster also lists `kube-public` and `kube-system`; Podyard runs nothing there, so it shows
them only when something of the folder uses or declares them, rather than naming empty namespaces.

Each namespace is `status.phase: Active`, with the label `kubernetes.io/metadata.name` the API
server adds to every namespace, and `creationTimestamp` the earliest creation time of the objects in it, or
the moment this controller first saw it if that is earlier (the API's start for `default`): a
namespace is at least as old as what it holds, so `kubectl get ns` shows an AGE that means
something right after a restart instead of counting from the first request. A Table has kubectl's columns NAME STATUS AGE.

Traps: namespaces are cluster-scoped (no namespace in their path or object), yet the path
`/api/v1/namespaces/{name}` is the prefix of every namespaced route: only the exact path is the
namespace. The namespaces in use are read from the change hub's objects of the other resources (a sync
of each, which renders only what is stale, so namespaces follow the same change signal); the
sources run in the event loop and must only read in-memory state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from aiohttp import web

from controller.api.responses import JSON
from controller.api.tables import human_duration, parse_time
from controller.api.watch import HUB_KEY, ListedResource, get_named, list_or_watch
from controller.model.manifests import Namespace
from controller.serde import rfc3339

NamespacesSource = Callable[[], list[Namespace]]
"""The folder's `kind: Namespace` objects."""

NAMESPACES_KEY: web.AppKey[NamespacesSource] = web.AppKey("namespaces")
FIRST_SEEN_KEY: web.AppKey[dict[str, float]] = web.AppKey("namespaces-first-seen")

DEFAULT_NAMESPACE = "default"
NAME_LABEL = "kubernetes.io/metadata.name"

NAMESPACE_RESOURCE: JSON = {
    "name": "namespaces",
    "singularName": "namespace",
    "namespaced": False,
    "kind": "Namespace",
    "verbs": ["get", "list", "watch"],
    "shortNames": ["ns"],
}
NAMESPACE_COLUMNS = ("NAME", "STATUS", "AGE")


def namespace_to_k8s(name: str, labels: dict[str, str], created_at: float) -> JSON:
    """A namespace as Kubernetes' core/v1 Namespace (the API server's name label added)."""
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "creationTimestamp": rfc3339(created_at),
            "labels": {**labels, NAME_LABEL: name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def namespace_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    """kubectl's printNamespace: name, phase, age."""
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    return [
        obj["metadata"]["name"],
        obj.get("status", {}).get("phase", ""),
        human_duration(now - created) if created is not None else "<unknown>",
    ]


def _parsed(timestamp: str | None) -> float | None:
    """A creation time, or None for one in another format (never fail a listing over it)."""
    try:
        return parse_time(timestamp)
    except ValueError:
        return None


def namespaces_resource(used_by: Sequence[ListedResource]) -> ListedResource:
    """The namespaces resource, finding namespaces in use among the objects of `used_by`."""

    def objects(app: web.Application) -> list[JSON]:
        labels: dict[str, dict[str, str]] = {DEFAULT_NAMESPACE: {}}
        oldest: dict[str, str] = {}
        """Per namespace, the earliest creationTimestamp of its objects (RFC 3339 in one format
        sorts as time does, so strings are compared and only the winner is parsed)."""
        for resource in used_by:
            for obj in app[HUB_KEY].sync(resource.name)[0]:
                meta = obj["metadata"]
                namespace = str(meta.get("namespace") or DEFAULT_NAMESPACE)
                labels.setdefault(namespace, {})
                created = meta.get("creationTimestamp")
                if created and (namespace not in oldest or created < oldest[namespace]):
                    oldest[namespace] = created
        for declared in app[NAMESPACES_KEY]():
            labels[declared.metadata.name] = dict(declared.metadata.labels)
        first_seen = app[FIRST_SEEN_KEY]
        for gone in [name for name in first_seen if name not in labels]:
            del first_seen[gone]  # one that comes back is seen anew, as a recreated namespace
        now = time.time()
        for name in labels:
            created_at = _parsed(oldest.get(name))
            seen = first_seen.get(name, now)
            first_seen[name] = seen if created_at is None else min(seen, created_at)
        return [namespace_to_k8s(name, labels[name], first_seen[name]) for name in sorted(labels)]

    return ListedResource(
        name="namespaces",
        list_kind="NamespaceList",
        api_version="v1",
        columns=NAMESPACE_COLUMNS,
        wide_columns=NAMESPACE_COLUMNS,
        row=namespace_row,
        objects=objects,
    )


def add_namespace_routes(
    app: web.Application, resource: ListedResource, namespaces: NamespacesSource | None = None
) -> None:
    """The namespace routes; without `namespaces`, only those in use (and `default`) are listed.
    Add `resource` to the watched resources."""
    app[NAMESPACES_KEY] = namespaces or list
    app[FIRST_SEEN_KEY] = {DEFAULT_NAMESPACE: time.time()}

    async def list_namespaces(request: web.Request) -> web.StreamResponse:
        return await list_or_watch(request, resource)

    async def get_namespace(request: web.Request) -> web.Response:
        return get_named(request, resource)

    app.router.add_get("/api/v1/namespaces", list_namespaces)
    app.router.add_get("/api/v1/namespaces/{name}", get_namespace)
