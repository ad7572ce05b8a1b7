"""Lists and watches (`?watch=true`) of every listed resource, as the Kubernetes API serves them.

A watch is a chunked response of newline-separated JSON events, `{"type": "ADDED", "object": ...}`.
kubectl's `get -w` lists first, then watches from the list's `metadata.resourceVersion`; lists
therefore carry the `ChangeHub` counter (see `controller.api.changes`) and a watch from it sends
only what changed since. Changes are found from the engine's change signal (`ChangeSource`): it
says which resources (and which pods) changed, the hub marks them stale, and one sync is scheduled
for the next turn of the loop; nothing else wakes it, so an idle controller renders nothing. A lost
signal costs latency only: every `resync_seconds` the watched resources are rendered in full and
diffed anyway (a render finding nothing changed costs no event). Without a change source (an app
over plain callables), every list renders afresh and watched resources are polled at that period.
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
from typing import Protocol

import attrs
from aiohttp import web

from controller.api.changes import ChangeHub, Expired, ObjectKey, Subscription, WatchEvent
from controller.api.responses import (
    JSON,
    RowMaker,
    json_response,
    list_body,
    not_found,
    status_response,
    table,
    wants_table,
)
from controller.api.selection import META_FIELDS, BadSelector, FieldSet, Selection, selection_of

log = logging.getLogger("podyard.api")

POLL_SECONDS = 0.5
"""Without a change source: how often watched resources are rendered and diffed."""

RESYNC_SECONDS = 300.0
"""With a change source: how often watched resources are rendered in full anyway, so that a
change whose signal was lost still arrives (the level-triggered safety net)."""


class ChangeSource(Protocol):
    """What the engine offers: a call per change, `(topic, key)`: `pods` with a pod's
    (namespace, name), or a topic without a key (`events`, `objects`)."""

    def listen(self, listener: Callable[[str | None, tuple[str, str] | None], None], /) -> None:
        """`listener` is called with `(topic, key)`; topic None: everything may have changed."""

    def unlisten(self, listener: Callable[[str | None, tuple[str, str] | None], None], /) -> None:
        """`listener` is called no more (the API is shutting down)."""


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
    objects_for: Callable[[web.Application, set[ObjectKey]], list[JSON]] | None = None
    """Only the objects of these keys (the absent ones are gone): a pod's change re-renders it
    alone."""
    topics: frozenset[str] = frozenset({"pods", "objects"})
    """The change signal's topics that may change this resource's objects."""


def install_watches(
    app: web.Application,
    resources: list[ListedResource],
    poll_seconds: float = POLL_SECONDS,
    *,
    changes: ChangeSource | None = None,
    resync_seconds: float = RESYNC_SECONDS,
) -> None:
    """Give `app` a change hub for `resources`, fed by `changes` (with a resync every
    `resync_seconds`), or without it by a poll every `poll_seconds`."""
    hub = ChangeHub(signalled=changes is not None)
    for resource in resources:
        hub.add(
            resource.name,
            _bound(resource, app),
            render_keys=_bound_keys(resource, app),
            topics=resource.topics,
        )
    app[HUB_KEY] = hub
    period = poll_seconds if changes is None else resync_seconds

    async def poller(app: web.Application) -> AsyncIterator[None]:
        waker = _Waker(hub, asyncio.get_running_loop())
        if changes is not None:
            changes.listen(waker)
        task = asyncio.create_task(_poll(hub, period), name="watch-resync")
        yield
        if changes is not None:
            changes.unlisten(waker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_watches(app: web.Application) -> None:
        hub.close()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(end_watches)


def _bound(resource: ListedResource, app: web.Application) -> Callable[[], list[JSON]]:
    return lambda: resource.objects(app)


def _bound_keys(
    resource: ListedResource, app: web.Application
) -> Callable[[set[ObjectKey]], list[JSON]] | None:
    objects_for = resource.objects_for
    if objects_for is None:
        return None
    return lambda keys: objects_for(app, keys)


class _Waker:
    """The change signal's listener: marks what is stale and schedules one sync of the watched
    resources for the loop's next turn (however many changes arrive before it runs)."""

    def __init__(self, hub: ChangeHub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.loop = loop
        self.scheduled = False

    def __call__(self, topic: str | None, key: tuple[str, str] | None) -> None:
        self.hub.mark(topic, key)
        if not self.scheduled and not self.loop.is_closed():
            self.scheduled = True
            self.loop.call_soon(self._sync)

    def _sync(self) -> None:
        self.scheduled = False
        _sync_watched(self.hub)


def _sync_watched(hub: ChangeHub) -> None:
    """Sync every watched resource. A failing render is logged, never fatal."""
    try:
        hub.sync_watched()
    except Exception:
        log.exception("watch: rendering the resources failed")


async def _poll(hub: ChangeHub, interval: float) -> None:
    """Forever, every `interval`: everything is stale, and the watched resources are synced.
    With a change source this is the resync; a render that finds nothing changed sends nothing."""
    while True:
        await asyncio.sleep(interval)
        hub.mark()
        _sync_watched(hub)


def current(request: web.Request, resource: ListedResource) -> tuple[list[JSON], int]:
    """The resource's objects in the request's namespace (all without one), and the counter."""
    objects, version = request.app[HUB_KEY].sync(resource.name)
    namespace = request.match_info.get("namespace")
    if namespace is not None:
        objects = [o for o in objects if o["metadata"].get("namespace") == namespace]
    return objects, version


def get_named(
    request: web.Request,
    resource: ListedResource,
    group: str = "",
    full: Callable[[web.Request, JSON], JSON] | None = None,
) -> web.Response:
    """The object named in the path (in the path's namespace, if any): its JSON, through `full`
    when the full object carries more than lists do, or a one-row Table when asked; Kubernetes'
    404 when there is none."""
    name = request.match_info["name"]
    objects, _ = current(request, resource)
    found = next((obj for obj in objects if obj["metadata"]["name"] == name), None)
    if found is None:
        return not_found(resource.name, name, group)
    if wants_table(request):
        return json_response(table([found], resource.columns, resource.wide_columns, resource.row))
    return json_response(found if full is None else full(request, found))


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
        body["metadata"]["resourceVersion"] = str(version)
        return json_response(body)
    return _list_response(request.app[HUB_KEY], resource, objects, version)


def _list_response(
    hub: ChangeHub, resource: ListedResource, objects: list[JSON], version: int
) -> web.Response:
    """The list as `list_body` shapes it, each item's text encoded once per change of it."""
    head = list_body(resource.list_kind, resource.api_version, [])
    head["metadata"]["resourceVersion"] = str(version)
    del head["items"]
    items = b",".join(hub.encode(resource.name, obj) for obj in objects)
    opening = json.dumps(head, separators=(",", ":"))[:-1].encode()
    return web.Response(
        body=opening + b',"items":[' + items + b"]}", content_type="application/json"
    )


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
        if not self.tables:
            line = event.lines.get("")
            if line is None:
                line = event.lines[""] = _line({"type": event.type, "object": event.object})
            await self.response.write(line)
            return
        obj = _table(self.request, self.resource, [event.object])
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
