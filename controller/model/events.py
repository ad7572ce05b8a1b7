"""Events: what happened to an object, shaped as Kubernetes' core/v1 Event.

An event names the object it is about (`involved`), a CamelCase reason (`Started`, `BackOff`,
`SuccessfulCreate`), a human message and a type (`Normal` or `Warning`). As Kubernetes' event
correlator does, a repeat of the same object, reason, message and source within a short window is
not a new event: the first one's `count` and `last_timestamp` grow instead.
"""

from __future__ import annotations

import enum

import attrs

COMPONENT = "podyard"
"""`source.component` of every event (the kubelet says `kubelet`, the scheduler
`default-scheduler`; here one controller plays every part)."""


class EventType(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@attrs.frozen(order=True)
class ObjectReference:
    """The object an event is about: `Pod`, `ReplicaSet`, `Deployment` or `Node`."""

    kind: str
    namespace: str
    name: str
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


@attrs.frozen
class EventSource:
    component: str = COMPONENT
    host: str = ""


@attrs.frozen
class Event:
    name: str
    """`metadata.name`: `<object name>.<hex>`, unique among the events held."""
    involved: ObjectReference
    reason: str
    message: str
    type: EventType
    source: EventSource
    first_timestamp: float
    last_timestamp: float
    count: int = 1

    @property
    def namespace(self) -> str:
        """Events live in their object's namespace; a Node's (cluster-scoped) in `default`."""
        return self.involved.namespace or "default"

    @property
    def aggregation_key(self) -> tuple[ObjectReference, str, str, EventType, EventSource]:
        return (self.involved, self.reason, self.message, self.type, self.source)
