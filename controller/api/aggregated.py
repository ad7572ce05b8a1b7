"""Aggregated discovery (`apidiscovery.k8s.io/v2`): every resource of `/api` or `/apis` in one
answer, as kubectl 1.30+ asks for first.

kubectl sends `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...`
on `/api` and `/apis`; a server that answers plain JSON makes it fall back to one request per
group version. A middleware answers those two requests with an `APIGroupDiscoveryList` built from
the very documents the per-version paths serve (`/api/v1`, `/apis/apps/v1`, ...), so the two forms
never disagree: a resource or subresource (`pods/log`) added to a version's list appears in both.

Each `APIResource` of a version becomes an `APIResourceDiscovery` (`resource`, `responseKind`,
`scope`, `singularResource`, `verbs`, `shortNames`, `categories`); a `parent/sub` entry becomes a
subresource of its parent. The answer's Content-Type names the type, which is how kubectl tells
an aggregated answer from a plain one.

Traps: the per-version handlers are called in-process with the discovery request; they must read
nothing from it but the app (they are plain documents). An entry is read leniently (a missing
`kind` or `verbs` reads as empty): an error here would cost kubectl all of discovery.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

import attrs
from aiohttp import web
from aiohttp.typedefs import Middleware

from controller.api.responses import JSON

V2_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class GroupVersion:
    """One group version and the handler that serves its `APIResourceList`."""

    group: str
    """`""` for the core group (`/api`)."""
    version: str
    resources: Callable[[web.Request], Awaitable[web.Response]]


def wants_aggregated(request: web.Request) -> bool:
    return "g=apidiscovery.k8s.io;v=v2;" in request.headers.get("Accept", "")


def _resource(group: str, version: str, entry: JSON) -> JSON:
    out: JSON = {
        "resource": entry["name"],
        "responseKind": {"group": group, "version": version, "kind": entry.get("kind", "")},
        "scope": "Namespaced" if entry.get("namespaced") else "Cluster",
        "singularResource": entry.get("singularName", ""),
        "verbs": entry.get("verbs", []),
    }
    for key in ("shortNames", "categories"):
        if entry.get(key):
            out[key] = entry[key]
    return out


def _subresource(group: str, version: str, entry: JSON) -> JSON:
    return {
        "subresource": entry["name"].split("/", 1)[1],
        "responseKind": {"group": group, "version": version, "kind": entry.get("kind", "")},
        "verbs": entry.get("verbs", []),
    }


def version_discovery(group: str, version: str, entries: Sequence[JSON]) -> JSON:
    """An `APIVersionDiscovery` from a version's `APIResourceList` resources."""
    resources: dict[str, JSON] = {}
    for entry in entries:
        if "/" not in entry["name"]:
            resources[entry["name"]] = _resource(group, version, entry)
    for entry in entries:
        parent = entry["name"].split("/", 1)[0]
        if "/" in entry["name"] and parent in resources:
            resources[parent].setdefault("subresources", []).append(
                _subresource(group, version, entry)
            )
    return {"version": version, "resources": list(resources.values()), "freshness": "Current"}


async def discovery_list(request: web.Request, versions: Sequence[GroupVersion]) -> JSON:
    """The `APIGroupDiscoveryList` of `versions`, one item per group in the given order."""
    items: dict[str, JSON] = {}
    for gv in versions:
        answer = await gv.resources(request)
        entries = json.loads(answer.text or "{}").get("resources", [])
        meta: JSON = {"name": gv.group} if gv.group else {}
        item = items.setdefault(gv.group, {"metadata": meta, "versions": []})
        item["versions"].append(version_discovery(gv.group, gv.version, entries))
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": list(items.values()),
    }


def aggregated_discovery(
    core: Sequence[GroupVersion], groups: Sequence[GroupVersion]
) -> Middleware:
    """The middleware answering `/api` (the `core` versions) and `/apis` (the `groups`)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "GET" or not wants_aggregated(request):
            return await handler(request)
        if request.path == "/api":
            versions = core
        elif request.path == "/apis":
            versions = groups
        else:
            return await handler(request)
        body = await discovery_list(request, versions)
        return web.Response(
            body=json.dumps(body, separators=(",", ":")).encode(),
            headers={"Content-Type": V2_TYPE},  # as the API server spells it, no charset added
        )

    return middleware
