"""aiohttp server: /healthz, /readyz, and the Kubernetes-shaped read API.

Routes mirror the Kubernetes API paths (`/api/v1/pods`, `/api/v1/namespaces/{ns}/pods/{name}`,
`/api/v1/events`, see `controller.api.events`, `/api/v1/nodes`, see `controller.api.nodes`, and the `apps/v1` group's ReplicaSets and
Deployments, see `controller.api.apps`) and answer discovery (`/api`, `/api/v1`, `/apis`,
`/version`), so `kubectl -s http://127.0.0.1:9180 get pods`, `get rs` and `get events` work.
Namespaces (`controller.api.namespaces`), node leases (`controller.api.nodeleases`) and the empty
quotas and limit ranges (`controller.api.policies`) complete what `kubectl get ns` and `describe`
read; kubectl's first question, aggregated discovery, is answered from the same per-version
documents (`controller.api.aggregated`).
When a client asks for a Table (kubectl does, in its Accept header) the server answers with
kubectl's own columns. Every list also watches (`?watch=true`, see `controller.api.watch`), so
`kubectl get pods -w` works; a pod's `log` reads its containers' output (see
`controller.api.logs`); lists and watches take `labelSelector` and `fieldSelector` (see
`controller.api.selection`). The folder of manifests is the only way to change things, except
that a pod can be deleted (see `controller.api.deletion`: a bare pod comes back as a new one);
every error under /api and /apis is a Status (`controller.api.errors`).

`/healthz` (also `/livez`) and `/readyz` answer as Kubernetes' do: `ok` (200) when every check
passes; otherwise 500 with one line per check, `[+]name ok` or `[-]name failed: reason`, then
`healthz check failed` (`readyz check failed`). `?verbose` lists the checks when all pass too,
`?exclude=name` skips a check, and `/healthz/<name>` answers for that one check. Reasons are shown,
not withheld as Kubernetes does: this API is read-only and shows everything anyway.

Traps: the views callbacks run in the event loop and must be cheap (they read in-memory snapshots);
the server binds to loopback unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from controller.api.aggregated import GroupVersion, aggregated_discovery
from controller.api.apps import (
    OTHER_GROUPS_KEY,
    RESOURCES,
    DeploymentsSource,
    ReplicaSetsSource,
    add_apps_routes,
    apps_v1,
)
from controller.api.claims import CLAIM_RESOURCE, CLAIMS, ClaimsSource, add_claim_routes
from controller.api.configdata import (
    CONFIG_RESOURCES,
    CONFIGMAP_RESOURCE,
    SECRET_RESOURCE,
    ConfigsSource,
    add_config_routes,
)
from controller.api.deletion import PodDeleter, add_delete_routes
from controller.api.errors import status_errors
from controller.api.events import EVENT_RESOURCE, EVENTS, EventsSource, add_event_routes
from controller.api.exec import EXEC_SUBRESOURCES, PodExecOpener, add_exec_routes
from controller.api.logs import LOG_RESOURCE, LogsSource, add_log_routes
from controller.api.namespaces import (
    NAMESPACE_RESOURCE,
    NamespacesSource,
    add_namespace_routes,
    namespaces_resource,
)
from controller.api.nodeleases import (
    COORDINATION_GROUP,
    NODE_LEASES,
    add_node_lease_routes,
    coordination_v1,
)
from controller.api.nodes import NODE_RESOURCE, NODES, NodesSource, add_node_routes
from controller.api.policies import (
    LIMITRANGE_RESOURCE,
    POLICY_RESOURCES,
    RESOURCEQUOTA_RESOURCE,
    add_policy_routes,
)
from controller.api.rendercache import RenderCache
from controller.api.responses import json_response
from controller.api.selection import POD_FIELDS
from controller.api.slashes import add_slashed_twins
from controller.api.tables import POD_COLUMNS, WIDE_COLUMNS, pod_row
from controller.api.watch import (
    POLL_SECONDS,
    RESYNC_SECONDS,
    ChangeSource,
    ListedResource,
    get_named,
    install_watches,
    list_or_watch,
)
from controller.model.health import HealthCheck
from controller.model.manifests import ManifestFileStatus
from controller.model.nodes import KUBE_VERSION
from controller.model.status import PodView
from controller.serde import pod_view_to_k8s

ViewsSource = Callable[[], list[PodView]]
ReadySource = Callable[[], bool]
ChecksSource = Callable[[], list[HealthCheck]]

VIEWS_KEY: web.AppKey[ViewsSource] = web.AppKey("views")
READY_KEY: web.AppKey[ReadySource] = web.AppKey("ready")
LIVENESS_KEY: web.AppKey[ChecksSource] = web.AppKey("liveness")
READINESS_KEY: web.AppKey[ChecksSource] = web.AppKey("readiness")

POD_RESOURCE = {
    "name": "pods",
    "singularName": "pod",
    "namespaced": True,
    "kind": "Pod",
    "verbs": ["delete", "get", "list", "watch"],
    "shortNames": ["po"],
    "categories": ["all"],
}


PodViewsFor = Callable[[set[tuple[str, str]]], list[PodView]]
"""The views of the given pods (namespace, name) only; the absent ones are gone."""

VIEWS_FOR_KEY: web.AppKey[PodViewsFor | None] = web.AppKey("views-for")
POD_RENDERS_KEY: web.AppKey[RenderCache[PodView]] = web.AppKey("pod-renders")


def _pod_key(view: PodView) -> tuple[str, str]:
    return (view.pod.metadata.namespace, view.pod.metadata.name)


def _all_pods(app: web.Application) -> list[dict[str, Any]]:
    return app[POD_RENDERS_KEY].render_all(app[VIEWS_KEY]())


def _some_pods(app: web.Application, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
    views_for = app[VIEWS_FOR_KEY]
    if views_for is None:
        views = [v for v in app[VIEWS_KEY]() if _pod_key(v) in keys]
    else:
        views = views_for(keys)
    renders = app[POD_RENDERS_KEY]
    renders.forget(keys - {_pod_key(v) for v in views})
    return renders.render(views)


PODS = ListedResource(
    name="pods",
    list_kind="PodList",
    api_version="v1",
    columns=POD_COLUMNS,
    wide_columns=WIDE_COLUMNS,
    row=pod_row,
    objects=_all_pods,
    fields=POD_FIELDS,
    objects_for=_some_pods,
    topics=frozenset({"pods"}),
)


async def list_pods(request: web.Request) -> web.StreamResponse:
    return await list_or_watch(request, PODS)


async def get_pod(request: web.Request) -> web.Response:
    return get_named(request, PODS)


def _liveness_checks(app: web.Application) -> list[HealthCheck]:
    return [HealthCheck("ping"), *app[LIVENESS_KEY]()]


def _readiness_checks(app: web.Application) -> list[HealthCheck]:
    started = HealthCheck("started", "" if app[READY_KEY]() else "the controller has not started")
    return [*_liveness_checks(app), started, *app[READINESS_KEY]()]


def _checks_response(request: web.Request, kind: str, checks: list[HealthCheck]) -> web.Response:
    """Kubernetes' healthz handler: `ok`, or every check listed and 500 when one fails."""
    excluded = set(request.query.getall("exclude", []))
    lines = []
    failed = False
    for check in checks:
        if check.name in excluded:
            continue
        if check.ok:
            lines.append(f"[+]{check.name} ok")
        else:
            failed = True
            lines.append(f"[-]{check.name} failed: {check.failure}")
    if failed:
        text = "\n".join(lines) + f"\n{kind} check failed\n"
        return web.Response(text=text, status=500)
    if "verbose" not in request.query:
        return web.Response(text="ok")
    return web.Response(text="\n".join(lines) + f"\n{kind} check passed\n")


def _one_check(checks: list[HealthCheck], name: str) -> web.Response:
    for check in checks:
        if check.name == name:
            if check.ok:
                return web.Response(text="ok")
            return web.Response(text=f"internal server error: {check.failure}", status=500)
    return web.Response(text="404 page not found", status=404)


async def healthz(request: web.Request) -> web.Response:
    return _checks_response(request, "healthz", _liveness_checks(request.app))


async def healthz_check(request: web.Request) -> web.Response:
    return _one_check(_liveness_checks(request.app), request.match_info["check"])


async def livez(request: web.Request) -> web.Response:
    return _checks_response(request, "livez", _liveness_checks(request.app))


async def livez_check(request: web.Request) -> web.Response:
    return _one_check(_liveness_checks(request.app), request.match_info["check"])


async def readyz(request: web.Request) -> web.Response:
    return _checks_response(request, "readyz", _readiness_checks(request.app))


async def readyz_check(request: web.Request) -> web.Response:
    return _one_check(_readiness_checks(request.app), request.match_info["check"])


async def api_versions(request: web.Request) -> web.Response:
    return json_response(
        {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    )


async def api_v1(request: web.Request) -> web.Response:
    return json_response(
        {
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                POD_RESOURCE,
                LOG_RESOURCE,
                *EXEC_SUBRESOURCES,
                EVENT_RESOURCE,
                NODE_RESOURCE,
                NAMESPACE_RESOURCE,
                CONFIGMAP_RESOURCE,
                SECRET_RESOURCE,
                CLAIM_RESOURCE,
                RESOURCEQUOTA_RESOURCE,
                LIMITRANGE_RESOURCE,
            ],
        }
    )


async def version(request: web.Request) -> web.Response:
    return json_response(
        {
            "major": "1",
            "minor": "32",
            "gitVersion": KUBE_VERSION,
            # Kubernetes' clients require every field of version.Info; a Python program has no
            # Go build to describe, so those say nothing rather than something made up.
            "gitCommit": "",
            "gitTreeState": "",
            "buildDate": "",
            "goVersion": "",
            "compiler": "",
            "platform": "linux/amd64",
        }
    )


def make_app(
    views: ViewsSource,
    ready: ReadySource,
    *,
    replicasets: ReplicaSetsSource | None = None,
    deployments: DeploymentsSource | None = None,
    files: FilesSource | None = None,
    events: EventsSource | None = None,
    nodes: NodesSource | None = None,
    configs: ConfigsSource | None = None,
    claims: ClaimsSource | None = None,
    delete_pod: PodDeleter | None = None,
    logs: LogsSource | None = None,
    namespaces: NamespacesSource | None = None,
    liveness: ChecksSource | None = None,
    readiness: ChecksSource | None = None,
    exec_in_pod: PodExecOpener | None = None,
    watch_poll_seconds: float = POLL_SECONDS,
    changes: ChangeSource | None = None,
    pod_views_for: PodViewsFor | None = None,
    watch_resync_seconds: float = RESYNC_SECONDS,
) -> web.Application:
    """The API app. Without `replicasets`, `deployments`, `events` or `nodes`, those lists are
    empty; without `namespaces` (the folder's Namespace objects), only the namespaces in use.

    `/healthz` reports `liveness`'s checks after `ping`; `/readyz` adds `started` (from `ready`)
    and `readiness`'s checks.

    Every list also watches (`?watch=true`). With `changes` (the engine's change signal) a
    watched resource is rendered again only when it changed (pods: only the pods that changed,
    read through `pod_views_for`), plus a full resync every `watch_resync_seconds`; without it,
    changes are found by rendering every `watch_poll_seconds`.
    """
    app = web.Application(middlewares=[status_errors])
    app[VIEWS_KEY] = views
    app[VIEWS_FOR_KEY] = pod_views_for
    app[POD_RENDERS_KEY] = RenderCache(pod_view_to_k8s, _pod_key)
    app[READY_KEY] = ready
    app[LIVENESS_KEY] = liveness or list
    app[READINESS_KEY] = readiness or list
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/healthz/{check}", healthz_check)
    app.router.add_get("/livez", livez)
    app.router.add_get("/livez/{check}", livez_check)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/readyz/{check}", readyz_check)
    app.router.add_get("/version", version)
    app.router.add_get("/api", api_versions)
    app.router.add_get("/api/v1", api_v1)
    app.router.add_get("/api/v1/pods", list_pods)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods", list_pods)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods/{name}", get_pod)
    add_apps_routes(app, replicasets, deployments)
    add_event_routes(app, events)
    add_node_routes(app, nodes)
    add_config_routes(app, configs)
    add_claim_routes(app, claims)
    add_delete_routes(app, delete_pod)
    add_log_routes(app, views, logs)
    add_node_lease_routes(app)
    add_policy_routes(app)
    app[OTHER_GROUPS_KEY] = [COORDINATION_GROUP]
    app.middlewares.append(
        aggregated_discovery(
            core=[GroupVersion("", "v1", api_v1)],
            groups=[
                GroupVersion("apps", "v1", apps_v1),
                GroupVersion("coordination.k8s.io", "v1", coordination_v1),
            ],
        )
    )
    namespaced = [PODS, *(r.listed for r in RESOURCES), *CONFIG_RESOURCES, CLAIMS, NODE_LEASES]
    namespace_list = namespaces_resource(namespaced)
    add_namespace_routes(app, namespace_list, namespaces)
    add_exec_routes(app, exec_in_pod)
    add_slashed_twins(app)  # after every discovery route
    install_watches(
        app,
        [*namespaced, EVENTS, NODES, namespace_list, *POLICY_RESOURCES],
        watch_poll_seconds,
        changes=changes,
        resync_seconds=watch_resync_seconds,
    )
    app[FILES_KEY] = files or list
    app.router.add_get("/podyard/v1/files", list_files)
    return app


FilesSource = Callable[[], list[ManifestFileStatus]]
FILES_KEY: web.AppKey[FilesSource] = web.AppKey("files")


async def list_files(request: web.Request) -> web.Response:
    """Each manifest file's state: ok, invalid (its last good objects still run) or held."""
    items = [
        {
            "file": f.file,
            "state": f.state,
            "message": f.message,
            "objects": f.objects,
            "errors": list(f.errors),
        }
        for f in request.app[FILES_KEY]()
    ]
    return web.json_response(
        {"kind": "ManifestFileList", "apiVersion": "podyard.io/v1", "items": items}
    )
