"""Discovery paths also answer with a trailing slash, as the API server's do.

Kubernetes' generated clients ask for `/version/`, `/api/`, `/api/v1/`, `/apis/`, `/apis/apps/`
and `/apis/apps/v1/` (the official Python client's `VersionApi`, `CoreApi`, `get_api_resources`),
and the API server serves them as the paths without the slash. `add_slashed_twins` registers, for
each GET route of the app whose path is one of `DISCOVERY_PATHS`, the same handler under the path
with a slash.

Traps: call it after every discovery route is registered (a route added later has no twin). A
redirect would not do: it costs a round trip, and not every client follows one.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

DISCOVERY_PATHS = (
    "/version",
    "/api",
    "/api/v1",
    "/apis",
    "/apis/apps",
    "/apis/apps/v1",
    "/apis/coordination.k8s.io",
    "/apis/coordination.k8s.io/v1",
)


def add_slashed_twins(app: web.Application, paths: Iterable[str] = DISCOVERY_PATHS) -> None:
    """Serve each of `paths` registered with GET also at `path + "/"`."""
    wanted = set(paths)
    twins = [
        (path, route.handler)
        for resource in app.router.resources()
        if (path := resource.get_info().get("path")) in wanted
        for route in resource
        if route.method == "GET"
    ]
    for path, handler in twins:
        app.router.add_get(f"{path}/", handler)
