"""The event recorder: a bounded, in-memory ring of Kubernetes-shaped events.

`record` aggregates as Kubernetes' event correlator does: the same object, type, reason, message and
source again within `AGGREGATION_WINDOW_SECONDS` bumps the held event's `count` and
`last_timestamp` (and moves it to the newest end of the ring) instead of adding one. When the ring is
full the event seen longest ago is dropped. Each recorded event is also logged, Warnings as warnings.

Events are a record for people, not state: nothing in the engine reads them back, and a restart
forgets them (as Kubernetes forgets events after an hour).
"""

from __future__ import annotations

import builtins
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable

import attrs

from controller.engine.ports import Clock
from controller.model.events import Event, EventSource, EventType, ObjectReference

log = logging.getLogger(__name__)

AGGREGATION_WINDOW_SECONDS = 600.0
"""How long a repeat still counts as the same event (the correlator's ten minutes)."""


class EventRecorder:
    def __init__(
        self,
        clock: Clock,
        capacity: int = 1000,
        window_seconds: float = AGGREGATION_WINDOW_SECONDS,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock = clock
        self.capacity = capacity
        self._window = window_seconds
        self._events: OrderedDict[str, Event] = OrderedDict()
        """By name, the event last seen longest ago first."""
        self._latest: dict[tuple[object, ...], str] = {}
        """Aggregation key -> name of the newest event with that key."""
        self._seq = itertools.count()
        self.recorded_total = 0
        self.on_record: Callable[[], None] | None = None
        """Told of every event recorded or counted again (the engine's change signal)."""

    def record(
        self,
        obj: ObjectReference,
        type: EventType | str,
        reason: str,
        message: str,
        *,
        host: str = "",
    ) -> Event:
        """Add an event (or count a repeat of a recent one) and log it; returns the event held."""
        now = self._clock.now()
        kind = EventType(type)
        source = EventSource(host=host)
        key = (obj, reason, message, kind, source)
        self.recorded_total += 1
        (log.warning if kind is EventType.WARNING else log.info)(
            "%s %s/%s: %s: %s", obj.kind, obj.namespace or "-", obj.name, reason, message
        )
        held = self._events.get(self._latest.get(key, ""))
        if held is not None and now - held.last_timestamp <= self._window:
            event = attrs.evolve(held, count=held.count + 1, last_timestamp=now)
            self._events[event.name] = event
            self._events.move_to_end(event.name)
            self._recorded()
            return event
        name = f"{obj.name}.{int(now * 1e9) + next(self._seq):x}"
        event = Event(name, obj, reason, message, kind, source, now, now)
        self._events[name] = event
        self._latest[key] = name
        while len(self._events) > self.capacity:
            _, dropped = self._events.popitem(last=False)
            if self._latest.get(dropped.aggregation_key) == dropped.name:
                del self._latest[dropped.aggregation_key]
        self._recorded()
        return event

    def _recorded(self) -> None:
        if self.on_record is not None:
            self.on_record()

    def list(self) -> builtins.list[Event]:
        """Every event held, the one seen longest ago first."""
        return list(self._events.values())

    def __len__(self) -> int:
        return len(self._events)
