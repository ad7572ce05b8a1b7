"""ResourceQuotas and LimitRanges in the core group, always empty: Podyard enforces neither.

`kubectl describe namespace` lists a namespace's quotas and limit ranges and says `No resource
quota.` and `No LimitRange resource.` when there are none; without these lists it leaves both
lines out, unlike a real cluster. They are served empty, listed and watched like every resource,
and in discovery with their short names (`quota`, `limits`), so `kubectl get quota -A` answers
`No resources found` rather than that the server lacks the type. Being empty is the truth: a
`kind: ResourceQuota` or `LimitRange` in the folder is reported as not supported, never applied.

Trap: a list that is always empty must still be a `ListedResource` (the change hub wants every
listed name), and its Table keeps kubectl's columns for an empty header-less answer.
"""

from __future__ import annotations

from aiohttp import web

from controller.api.responses import JSON, not_found
from controller.api.watch import ListedResource, list_or_watch


def _resource(plural: str, kind: str, short: str) -> JSON:
    return {
        "name": plural,
        "singularName": kind.lower(),
        "namespaced": True,
        "kind": kind,
        "verbs": ["get", "list", "watch"],
        "shortNames": [short],
    }


RESOURCEQUOTA_RESOURCE = _resource("resourcequotas", "ResourceQuota", "quota")
LIMITRANGE_RESOURCE = _resource("limitranges", "LimitRange", "limits")


def _none(app: web.Application) -> list[JSON]:
    return []


def _no_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    return [obj["metadata"]["name"]]  # never called: the lists are empty


RESOURCEQUOTAS = ListedResource(
    name="resourcequotas",
    list_kind="ResourceQuotaList",
    api_version="v1",
    columns=("NAME", "AGE", "REQUEST", "LIMIT"),
    wide_columns=("NAME", "AGE", "REQUEST", "LIMIT"),
    row=_no_row,
    objects=_none,
)
LIMITRANGES = ListedResource(
    name="limitranges",
    list_kind="LimitRangeList",
    api_version="v1",
    columns=("NAME", "CREATED AT"),
    wide_columns=("NAME", "CREATED AT"),
    row=_no_row,
    objects=_none,
)
POLICY_RESOURCES = (RESOURCEQUOTAS, LIMITRANGES)


def add_policy_routes(app: web.Application) -> None:
    """The (empty) lists and their 404s; add `POLICY_RESOURCES` to the watched resources."""
    for resource in POLICY_RESOURCES:

        async def listing(
            request: web.Request, resource: ListedResource = resource
        ) -> web.StreamResponse:
            return await list_or_watch(request, resource)

        async def get_one(
            request: web.Request, resource: ListedResource = resource
        ) -> web.Response:
            return not_found(resource.name, request.match_info["name"])

        app.router.add_get(f"/api/v1/{resource.name}", listing)
        base = f"/api/v1/namespaces/{{namespace}}/{resource.name}"
        app.router.add_get(base, listing)
        app.router.add_get(f"{base}/{{name}}", get_one)
