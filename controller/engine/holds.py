"""Held manifest changes, told on the objects they keep: a `ManifestHeld` Warning event each.

The folder source decides what is held (an emptied or missing file, a vanished folder, a mass
deletion, live or at start); this only makes it visible where `kubectl describe` and
`kubectl get events` look: on the Pod, ReplicaSet or Deployment whose deletion waits. The message
carries no countdown, so a hold that lasts stays one event (repeats raise its count).
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.engine.events import EventRecorder
from controller.engine.stores import ObservedCache
from controller.model import identity
from controller.model.events import EventType, ObjectReference
from controller.model.meta import ObjectKey, PodKey

REASON = "ManifestHeld"
REFUSED_REASON = "FailedCreate"
"""A pod or template refused by Pod Security admission: the ReplicaSet controller's reason when
the API server refuses its pod creates, used for a bare Pod as well."""


def report_held(
    events: EventRecorder,
    cache: ObservedCache,
    keys: Iterable[ObjectKey],
    message: str,
    reason: str = REASON,
) -> None:
    for key in keys:
        if key.kind == "Pod":
            running = cache.containers_for(PodKey(key.namespace, key.name))
            uid = str(running[0].pod.uid) if running else ""
        else:
            uid = identity.object_uid(key.kind, key.namespace, key.name)
        obj = ObjectReference(key.kind, key.namespace, key.name, uid)
        events.record(obj, EventType.WARNING, reason, message)
