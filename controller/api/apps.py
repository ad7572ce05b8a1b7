"""The `apps/v1` group of the read API: ReplicaSets and Deployments.

Routes mirror Kubernetes' (`/apis/apps/v1/replicasets`,
`/apis/apps/v1/namespaces/{ns}/deployments/{name}`), with the discovery documents (`/apis`,
`/apis/apps`, `/apis/apps/v1`) kubectl reads to learn that `rs` and `deploy` exist. Lists, objects,
Tables and 404s are shaped as Kubernetes shapes them (`replicasets.apps "web" not found`).

Trap: like the pod views, the sources run in the event loop and must only read in-memory state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from controller.api.responses import JSON, RowMaker, json_response
from controller.api.tables import (
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_WIDE_COLUMNS,
    REPLICASET_COLUMNS,
    REPLICASET_WIDE_COLUMNS,
    deployment_row,
    replicaset_row,
)
from controller.api.watch import ListedResource, get_named, list_or_watch
from controller.model.workload_status import DeploymentView, ReplicaSetView
from controller.render import deployment_view_to_k8s, replicaset_view_to_k8s

GROUP = "apps"
VERSION = "v1"
GROUP_VERSION = f"{GROUP}/{VERSION}"

ReplicaSetsSource = Callable[[], list[ReplicaSetView]]
DeploymentsSource = Callable[[], list[DeploymentView]]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REPLICASETS_KEY: web.AppKey[ReplicaSetsSource] = web.AppKey("replicasets")
DEPLOYMENTS_KEY: web.AppKey[DeploymentsSource] = web.AppKey("deployments")


@attrs.frozen
class _Resource:
    plural: str
    singular: str
    kind: str
    short_names: tuple[str, ...]
    columns: tuple[str, ...]
    wide_columns: tuple[str, ...]
    row: RowMaker
    objects: Callable[[web.Application], list[JSON]]

    @property
    def discovery(self) -> JSON:
        return {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": True,
            "kind": self.kind,
            "verbs": ["get", "list", "watch"],
            "shortNames": list(self.short_names),
            "categories": ["all"],
        }

    @property
    def listed(self) -> ListedResource:
        return ListedResource(
            name=self.plural,
            list_kind=f"{self.kind}List",
            api_version=GROUP_VERSION,
            columns=self.columns,
            wide_columns=self.wide_columns,
            row=self.row,
            objects=self.objects,
        )


def _replicasets(app: web.Application) -> list[JSON]:
    return [replicaset_view_to_k8s(v) for v in app[REPLICASETS_KEY]()]


def _deployments(app: web.Application) -> list[JSON]:
    return [deployment_view_to_k8s(v) for v in app[DEPLOYMENTS_KEY]()]


REPLICASETS = _Resource(
    plural="replicasets",
    singular="replicaset",
    kind="ReplicaSet",
    short_names=("rs",),
    columns=REPLICASET_COLUMNS,
    wide_columns=REPLICASET_WIDE_COLUMNS,
    row=replicaset_row,
    objects=_replicasets,
)
DEPLOYMENTS = _Resource(
    plural="deployments",
    singular="deployment",
    kind="Deployment",
    short_names=("deploy",),
    columns=DEPLOYMENT_COLUMNS,
    wide_columns=DEPLOYMENT_WIDE_COLUMNS,
    row=deployment_row,
    objects=_deployments,
)
RESOURCES = (DEPLOYMENTS, REPLICASETS)

_VERSION_ENTRY = {"groupVersion": GROUP_VERSION, "version": VERSION}
APPS_GROUP: JSON = {
    "name": GROUP,
    "versions": [_VERSION_ENTRY],
    "preferredVersion": _VERSION_ENTRY,
}


def _list_handler(resource: _Resource) -> Handler:
    listed = resource.listed

    async def handler(request: web.Request) -> web.StreamResponse:
        return await list_or_watch(request, listed)

    return handler


def _get_handler(resource: _Resource) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return get_named(request, resource.listed, GROUP)

    return handler


OTHER_GROUPS_KEY: web.AppKey[list[JSON]] = web.AppKey("other-api-groups")
"""Groups besides apps that `/apis` lists (their routes are added elsewhere)."""


async def apis(request: web.Request) -> web.Response:
    groups = [APPS_GROUP, *request.app.get(OTHER_GROUPS_KEY, [])]
    return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


async def apps_group(request: web.Request) -> web.Response:
    return json_response({"kind": "APIGroup", "apiVersion": "v1", **APPS_GROUP})


async def apps_v1(request: web.Request) -> web.Response:
    return json_response(
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": GROUP_VERSION,
            "resources": [r.discovery for r in RESOURCES],
        }
    )


def _no_replicasets() -> list[ReplicaSetView]:
    return []


def _no_deployments() -> list[DeploymentView]:
    return []


def add_apps_routes(
    app: web.Application,
    replicasets: ReplicaSetsSource | None = None,
    deployments: DeploymentsSource | None = None,
) -> None:
    """Register the group's discovery and resource routes, reading the given sources."""
    app[REPLICASETS_KEY] = replicasets or _no_replicasets
    app[DEPLOYMENTS_KEY] = deployments or _no_deployments
    app.router.add_get("/apis", apis)
    app.router.add_get(f"/apis/{GROUP}", apps_group)
    app.router.add_get(f"/apis/{GROUP_VERSION}", apps_v1)
    for resource in RESOURCES:
        listing = _list_handler(resource)
        app.router.add_get(f"/apis/{GROUP_VERSION}/{resource.plural}", listing)
        base = f"/apis/{GROUP_VERSION}/namespaces/{{namespace}}/{resource.plural}"
        app.router.add_get(base, listing)
        app.router.add_get(f"{base}/{{name}}", _get_handler(resource))
