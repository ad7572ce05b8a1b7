"""Response bodies every resource of the API shares: JSON, Status errors, Tables, lists.

A client that sends `as=Table` in its Accept header (kubectl does) gets a `meta.k8s.io/v1` Table
whose cells are the rows of `controller.api.tables`; the columns past the plain ones have priority
1, so kubectl shows them with `-o wide` only.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from aiohttp import web

JSON = dict[str, Any]


class RowMaker(Protocol):
    """One object's cells (see `controller.api.tables`)."""

    def __call__(self, obj: JSON, now: float, /, *, wide: bool = ...) -> list[str]: ...


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, indent=None, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def status_response(
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
    return json_response(body, code)


def not_found(resource: str, name: str, group: str = "") -> web.Response:
    """Kubernetes' 404: `pods "web" not found`, `replicasets.apps "web" not found`."""
    qualified = f"{resource}.{group}" if group else resource
    details: JSON = {"name": name, **({"group": group} if group else {}), "kind": resource}
    return status_response(404, "NotFound", f'{qualified} "{name}" not found', details)


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def table(
    objects: list[JSON],
    columns: tuple[str, ...],
    wide_columns: tuple[str, ...],
    row: RowMaker,
    include: str = "Metadata",
) -> JSON:
    """A Table; each row carries its object per `includeObject` (None, Metadata or Object)."""
    now = time.time()
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
                "priority": 0 if c in columns else 1,
            }
            for c in wide_columns
        ],
        "rows": [
            {
                "cells": row(obj, now, wide=True),
                **_row_object(obj, include),
            }
            for obj in objects
        ],
    }


def _row_object(obj: JSON, include: str) -> JSON:
    if include == "None":
        return {}
    if include == "Object":
        return {"object": obj}
    partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
    return {"object": {**partial, "metadata": obj["metadata"]}}


def list_body(kind: str, api_version: str, items: list[JSON]) -> JSON:
    return {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": ""},
        "items": items,
    }
