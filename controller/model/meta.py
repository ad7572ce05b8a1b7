"""Object identity: ObjectMeta as written in manifests, and the keys the engine queues.

A `PodKey` (namespace, name) is what the work queue holds; a pod *instance* is a `PodRef`, which adds
the uid. The same key can have several instances over time (a bare Pod whose spec changed is replaced
by a new instance with a new uid), and, briefly, two at once while the old one terminates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NewType

import attrs

PodUid = NewType("PodUid", str)
NodeName = NewType("NodeName", str)
ContainerId = NewType("ContainerId", str)


@attrs.frozen
class ObjectMeta:
    """The part of Kubernetes' ObjectMeta a manifest may set."""

    name: str
    namespace: str = "default"
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(order=True, cache_hash=True)
class PodKey:
    """What the work queue holds for a pod: namespace and name, never the uid.

    Its hash is kept once computed: every store, index and queue looks pods up by it, many
    times per pass at thousands of pods."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@attrs.frozen(order=True)
class ObjectKey:
    """Any declared object: kind, namespace and name (what the folder declares and the API lists)."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@attrs.frozen(order=True)
class PodRef:
    """One instance of a pod: its key plus the uid Podyard gave it when it first created it."""

    namespace: str
    name: str
    uid: PodUid

    @property
    def key(self) -> PodKey:
        return PodKey(self.namespace, self.name)
