"""Events in the core group: `/api/v1/events` and `/api/v1/namespaces/{ns}/events[/{name}]`.

Bodies are Kubernetes' core/v1 Event (`involvedObject`, `reason`, `message`, `type`, `count`,
`firstTimestamp`, `lastTimestamp`, `source`), listed oldest first by last timestamp; a Table has
kubectl's columns LAST SEEN TYPE REASON OBJECT MESSAGE.

Trap: like the pod views, the source runs in the event loop and must only read in-memory state.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from controller.api.rendercache import RenderCache
from controller.api.responses import JSON
from controller.api.selection import EVENT_FIELDS
from controller.api.tables import EVENT_COLUMNS, EVENT_WIDE_COLUMNS, event_row
from controller.api.watch import ListedResource, get_named, list_or_watch
from controller.model.events import Event
from controller.model.identity import object_uid
from controller.serde import rfc3339

EventsSource = Callable[[], list[Event]]

EVENTS_KEY: web.AppKey[EventsSource] = web.AppKey("events")
EVENT_RENDERS_KEY: web.AppKey[RenderCache[Event]] = web.AppKey("event-renders")

EVENT_RESOURCE: JSON = {
    "name": "events",
    "singularName": "event",
    "namespaced": True,
    "kind": "Event",
    "verbs": ["get", "list", "watch"],
    "shortNames": ["ev"],
}


def event_to_k8s(event: Event) -> JSON:
    involved = event.involved
    reference: JSON = {"kind": involved.kind, "name": involved.name, "apiVersion": "v1"}
    if involved.kind in ("ReplicaSet", "Deployment"):
        reference["apiVersion"] = "apps/v1"
    if involved.namespace:
        reference["namespace"] = involved.namespace
    if involved.uid:
        reference["uid"] = involved.uid
    source: JSON = {"component": event.source.component}
    if event.source.host:
        source["host"] = event.source.host
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": event.name,
            "namespace": event.namespace,
            "uid": object_uid("Event", event.namespace, event.name),
            "creationTimestamp": rfc3339(event.first_timestamp),
        },
        "involvedObject": reference,
        "reason": event.reason,
        "message": event.message,
        "source": source,
        "firstTimestamp": rfc3339(event.first_timestamp),
        "lastTimestamp": rfc3339(event.last_timestamp),
        "count": event.count,
        "type": event.type.value,
        "eventTime": None,
        "reportingComponent": event.source.component,
        "reportingInstance": event.source.host,
    }


def _all_events(app: web.Application) -> list[JSON]:
    held = sorted(app[EVENTS_KEY](), key=lambda e: e.last_timestamp)
    return app[EVENT_RENDERS_KEY].render_all(held)


def _event_key(event: Event) -> tuple[str, str]:
    return (event.involved.namespace or "default", event.name)


EVENTS = ListedResource(
    name="events",
    list_kind="EventList",
    api_version="v1",
    columns=EVENT_COLUMNS,
    wide_columns=EVENT_WIDE_COLUMNS,
    row=event_row,
    objects=_all_events,
    fields=EVENT_FIELDS,
    topics=frozenset({"events"}),
)


async def list_events(request: web.Request) -> web.StreamResponse:
    return await list_or_watch(request, EVENTS)


async def get_event(request: web.Request) -> web.Response:
    return get_named(request, EVENTS)


def _no_events() -> list[Event]:
    return []


def add_event_routes(app: web.Application, events: EventsSource | None = None) -> None:
    app[EVENTS_KEY] = events or _no_events
    app[EVENT_RENDERS_KEY] = RenderCache(event_to_k8s, _event_key)
    app.router.add_get("/api/v1/events", list_events)
    app.router.add_get("/api/v1/namespaces/{namespace}/events", list_events)
    app.router.add_get("/api/v1/namespaces/{namespace}/events/{name}", get_event)
