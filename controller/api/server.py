"""aiohttp server: /healthz, /readyz, and the Kubernetes-shaped read API for pods.

Routes mirror the Kubernetes API paths (`/api/v1/pods`, `/api/v1/namespaces/{ns}/pods/{name}`) and
answer discovery (`/api`, `/api/v1`, `/apis`, `/version`), so `kubectl -s http://127.0.0.1:9180 get
pods` works. When a client asks for a Table (kubectl does, in its Accept header) the server answers
with kubectl's own columns. Read-only: the folder of manifests is the only way to change things.

Traps: the views callback runs in the event loop and must be cheap (it reads in-memory snapshots);
the server binds to loopback unless told otherwise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from controller import __version__
from controller.api.tables import POD_COLUMNS, WIDE_COLUMNS, pod_row
from controller.model.status import PodView
from controller.serde import pod_view_to_k8s

ViewsSource = Callable[[], list[PodView]]
ReadySource = Callable[[], bool]

VIEWS_KEY: web.AppKey[ViewsSource] = web.AppKey("views")
READY_KEY: web.AppKey[ReadySource] = web.AppKey("ready")

POD_RESOURCE = {
    "name": "pods",
    "singularName": "pod",
    "namespaced": True,
    "kind": "Pod",
    "verbs": ["get", "list"],
    "shortNames": ["po"],
    "categories": ["all"],
}


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, indent=None, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def _status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return _json(body, code)


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _pods(request: web.Request, namespace: str | None) -> list[dict[str, Any]]:
    views = request.app[VIEWS_KEY]()
    return [
        pod_view_to_k8s(v)
        for v in views
        if namespace is None or v.pod.metadata.namespace == namespace
    ]


def _table(pods: list[dict[str, Any]], wide: bool) -> dict[str, Any]:
    now = time.time()
    columns = WIDE_COLUMNS if wide else POD_COLUMNS
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": ""},
        "columnDefinitions": [
            {
                "name": c.title() if c != "NAME" else "Name",
                "type": "string",
                "format": "name" if c == "NAME" else "",
                "description": c,
                "priority": 0 if c in POD_COLUMNS else 1,
            }
            for c in columns
        ],
        "rows": [
            {
                "cells": pod_row(p, now, wide=True),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": p["metadata"],
                },
            }
            for p in pods
        ],
    }


async def list_pods(request: web.Request) -> web.Response:
    namespace = request.match_info.get("namespace")
    pods = _pods(request, namespace)
    if _wants_table(request):
        return _json(_table(pods, wide=True))
    return _json(
        {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": ""}, "items": pods}
    )


async def get_pod(request: web.Request) -> web.Response:
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    for pod in _pods(request, namespace):
        if pod["metadata"]["name"] == name:
            if _wants_table(request):
                return _json(_table([pod], wide=True))
            return _json(pod)
    return _status(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    if request.app[READY_KEY]():
        return web.Response(text="ok")
    return web.Response(text="not ready: engines not listed yet", status=503)


async def api_versions(request: web.Request) -> web.Response:
    return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})


async def api_v1(request: web.Request) -> web.Response:
    return _json({"kind": "APIResourceList", "groupVersion": "v1", "resources": [POD_RESOURCE]})


async def api_groups(request: web.Request) -> web.Response:
    return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})


async def version(request: web.Request) -> web.Response:
    return _json(
        {
            "major": "1",
            "minor": "32",
            "gitVersion": f"v1.32.0-podyard.{__version__}",
            "platform": "linux/amd64",
        }
    )


def make_app(views: ViewsSource, ready: ReadySource) -> web.Application:
    app = web.Application()
    app[VIEWS_KEY] = views
    app[READY_KEY] = ready
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/version", version)
    app.router.add_get("/api", api_versions)
    app.router.add_get("/api/v1", api_v1)
    app.router.add_get("/apis", api_groups)
    app.router.add_get("/api/v1/pods", list_pods)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods", list_pods)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods/{name}", get_pod)
    return app
