"""Lists and watches (`?watch=true`) of every listed resource, as the Kubernetes API serves them.

A watch is a chunked response of newline-separated JSON events, `{"type": "ADDED", "object": ...}`.
kubectl's `get -w` lists first, then watches from the list's `metadata.resourceVersion`; lists
therefore carry the `ChangeHub` counter (see `controller.api.changes`) and a watch from it sends
only what changed since. Changes are found by polling: a background task syncs every watched
resource each `POLL_SECONDS`, so a change reaches watchers within that time (a list syncs at once).
`labelSelector` and `fieldSelector` narrow lists and watches alike (see `controller.api.selection`);
a selective watcher sees an object that stops matching as DELETED and one that starts as ADDED.

When the client asks for Tables (kubectl does), each event's object is a Table holding the one
row, with the column definitions on the first event only, as the API server saves bandwidth; kubectl
reuses the columns it already has.

Traps: a watch ends after `timeoutSeconds` (default `DEFAULT_WATCH_SECONDS`, as the API server
ends long watches), when the client goes, when it falls too far behind, or at shutdown
(`on_shutdown` ends every stream, or the server would wait for them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

import attrs
from aiohttp import web

from controller.api.changes import ChangeHub, Expired, Subscription, WatchEvent
from controller.api.responses import (
    JSON,
    RowMaker,
    json_response,
    list_body,
    status_response,
    table,
    wants_table,
)
from controller.api.selection import META_FIELDS, BadSelector, FieldSet, Selection, selection_of

log = logging.getLogger("podyard.api")

POLL_SECONDS = 0.5
"""How often the resources are rendered and diffed: the delay before a change reaches a watch."""

DEFAULT_WATCH_SECONDS = 1800.0
"""A watch without `timeoutSeconds` ends after this long, like the API server's minimum."""

DISCONNECT_CHECK_SECONDS = 1.0
"""How often an idle watch looks whether its client is still there."""

HUB_KEY: web.AppKey[ChangeHub] = web.AppKey("changes")

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})


@attrs.frozen
class ListedResource:
    """What lists and watches need to know of one resource."""

    name: str
    list_kind: str
    api_version: str
    columns: tuple[str, ...]
    wide_columns: tuple[str, ...]
    row: RowMaker
    objects: Callable[[web.Application], list[JSON]]
    """Every object of the resource in every namespace, as Kubernetes JSON, in list order."""
    fields: FieldSet = META_FIELDS
    """The fields a `fieldSelector` may name, and how to read them."""


def install_watches(
    app: web.Application, resources: list[ListedResource], poll_seconds: float = POLL_SECONDS
) -> None:
    """Give `app` a change hub for `resources` and the poller that feeds it."""
    hub = ChangeHub()
    for resource in resources:
        hub.add(resource.name, _bound(resource, app))
    app[HUB_KEY] = hub

    async def poller(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_poll(hub, poll_seconds), name="watch-poller")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_watches(app: web.Application) -> None:
        hub.close()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(end_watches)


def _bound(resource: ListedResource, app: web.Application) -> Callable[[], list[JSON]]:
    return lambda: resource.objects(app)


async def _poll(hub: ChangeHub, interval: float) -> None:
    """Forever: sync every watched resource. A failing render is logged, never fatal."""
    while True:
        try:
            hub.sync_watched()
        except Exception:
            log.exception("watch poller: rendering the resources failed")
        await asyncio.sleep(interval)


def current(request: web.Request, resource: ListedResource) -> tuple[list[JSON], int]:
    """The resource's objects in the request's namespace (all without one), and the counter."""
    objects, version = request.app[HUB_KEY].sync(resource.name)
    namespace = request.match_info.get("namespace")
    if namespace is not None:
        objects = [o for o in objects if o["metadata"].get("namespace") == namespace]
    return objects, version


async def list_or_watch(request: web.Request, resource: ListedResource) -> web.StreamResponse:
    """A list (JSON or Table) stamped with the counter, or a watch when `watch` is true."""
    try:
        selection = selection_of(request, resource.fields)
    except BadSelector as bad:
        return bad.response()
    if request.query.get("watch", "") in _TRUE:
        return await _watch(request, resource, selection)
    objects, version = current(request, resource)
    objects = [obj for obj in objects if selection.matches(obj)]
    if wants_table(request):
        body = _table(request, resource, objects)
    else:
        body = list_body(resource.list_kind, resource.api_version, objects)
    body["metadata"]["resourceVersion"] = str(version)
    return json_response(body)


def _table(request: web.Request, resource: ListedResource, objects: list[JSON]) -> JSON:
    include = request.query.get("includeObject", "Metadata")
    return table(objects, resource.columns, resource.wide_columns, resource.row, include)


def _since(request: web.Request) -> int | None:
    """The watch's starting version: None for "" and "0" (send the current objects first)."""
    text = request.query.get("resourceVersion", "")
    if text in ("", "0"):
        return None
    return int(text)


def _timeout(request: web.Request) -> float:
    text = request.query.get("timeoutSeconds")
    return float(text) if text else DEFAULT_WATCH_SECONDS


async def _watch(
    request: web.Request, resource: ListedResource, selection: Selection
) -> web.StreamResponse:
    try:
        since, timeout = _since(request), _timeout(request)
    except ValueError:
        return status_response(400, "BadRequest", "resourceVersion and timeoutSeconds: numbers")
    hub = request.app[HUB_KEY]
    namespace = request.match_info.get("namespace")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        first, subscription = hub.subscribe(
            resource.name, namespace, since, selects=selection.matches
        )
    except Expired as gone:
        await response.write(_line({"type": "ERROR", "object": _gone(str(gone))}))
        return response
    try:
        writer = _EventWriter(request, resource, response)
        for event in first:
            await writer.send(event)
        await _follow(request, subscription, writer, time.monotonic() + timeout)
    except ConnectionError:
        pass  # the client went away mid-write
    finally:
        hub.unsubscribe(resource.name, subscription)
    return response


async def _follow(
    request: web.Request, subscription: Subscription, writer: _EventWriter, deadline: float
) -> None:
    """Send events as they come until the deadline, the end of the subscription, or the client."""
    while (left := deadline - time.monotonic()) > 0:
        try:
            async with asyncio.timeout(min(left, DISCONNECT_CHECK_SECONDS)):
                event = await subscription.next()
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            continue
        if event is None:
            if subscription.dropped:
                log.warning("watch of %s dropped: the client fell behind", writer.resource.name)
            return
        await writer.send(event)


class _EventWriter:
    """Writes events as JSON lines, their objects as one-row Tables when the client asks."""

    def __init__(
        self, request: web.Request, resource: ListedResource, response: web.StreamResponse
    ) -> None:
        self.request = request
        self.resource = resource
        self.response = response
        self.tables = wants_table(request)
        self.columns_sent = False

    async def send(self, event: WatchEvent) -> None:
        obj = event.object
        if self.tables:
            obj = _table(self.request, self.resource, [obj])
            obj["metadata"]["resourceVersion"] = str(event.resource_version)
            if self.columns_sent:
                obj["columnDefinitions"] = []
            self.columns_sent = True
        await self.response.write(_line({"type": event.type, "object": obj}))


def _line(body: JSON) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def _gone(message: str) -> JSON:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Expired",
        "code": 410,
    }
