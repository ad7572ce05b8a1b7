"""Pod start duration: from the moment a pod's manifest (its current version) is first seen to the
moment all of its containers run at once, observed once per pod version.

A pod that was already running before this controller saw its manifest (a restarted controller, a
ReplicaSet pod restored from the engine) is not measured: its instance was made before that moment,
and its start took an unknown time under another controller process.
"""

from __future__ import annotations

from controller.decide.instance import group_instances
from controller.engine.ports import Clock, MetricsSink
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.meta import PodKey
from controller.model.observed import RunState


class PodStartTracker:
    def __init__(
        self, desired: DesiredStore, cache: ObservedCache, clock: Clock, metrics: MetricsSink
    ) -> None:
        self._desired = desired
        self._cache = cache
        self._clock = clock
        self._metrics = metrics
        self._settled: dict[PodKey, str] = {}
        """Per key, the spec hash already measured (or found started by someone else)."""

    def check(self, key: PodKey) -> float | None:
        """Report the pod's start duration if it has just started; returns it (seconds) or None."""
        desired = self._desired.get(key)
        seen = self._desired.seen_at(key)
        if desired is None or seen is None:
            self._settled.pop(key, None)
            return None
        if self._settled.get(key) == desired.spec_hash:
            return None
        instances = [
            i
            for i in group_instances(self._cache.containers_for(key))
            if i.spec_hash == desired.spec_hash
        ]
        if not instances:
            return None
        instance = instances[-1]
        if instance.created_at < seen:
            self._settled[key] = desired.spec_hash
            return None
        for container in desired.pod.spec.containers:
            latest = instance.latest(container.name)
            if latest is None or latest.state is not RunState.RUNNING:
                return None
        self._settled[key] = desired.spec_hash
        duration = max(0.0, self._clock.now() - seen)
        self._metrics.pod_started(duration)
        return duration
