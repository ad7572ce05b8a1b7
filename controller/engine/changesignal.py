"""The engine's change signal: what the API's views read has changed, and for pods, which ones.

The read API keeps the last render of every object and re-renders only on a signal (see
`controller.api.changes`). The engine calls `pod(key)` whenever a pod's inputs or results may have
moved (its work queue adds or finishes the key: every input of the level-triggered loop enqueues
the key, and every reconcile ends in `done`), `events()` when the recorder records, and `objects()`
for everything else a view reads (ReplicaSets, Deployments, nodes, configs, claims).

Listeners are plain callables run synchronously in the caller: no asyncio here, no await, so a
signal can never be lost between a change and its notification. A listener must be cheap (the API
only marks what is dirty and schedules one sync). Traps: a change made without a signal is still
found, by the API's slow periodic resync, whose period is a setting; the signal speeds changes up,
it is not the only way they arrive.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.model.meta import PodKey

Topic = str
"""`pods` (with the pod's key), `events` or `objects`."""

Listener = Callable[[Topic | None, tuple[str, str] | None], None]
"""Called with the topic (None: everything may have changed) and, for pods, the pod's key."""

PODS: Topic = "pods"
EVENTS: Topic = "events"
OBJECTS: Topic = "objects"


class ChangeSignal:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.version = 0
        """Changes signalled so far (every topic)."""

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def pod(self, key: PodKey) -> None:
        self._notify(PODS, (key.namespace, key.name))

    def events(self) -> None:
        self._notify(EVENTS, None)

    def objects(self) -> None:
        self._notify(OBJECTS, None)

    def everything(self) -> None:
        """Anything may have changed (another engine took over): views are rendered afresh."""
        self._notify(None, None)

    def forward(self, topic: Topic | None, key: tuple[str, str] | None) -> None:
        """A listener that passes another signal's changes on to this one's listeners."""
        self._notify(topic, key)

    def _notify(self, topic: Topic | None, key: tuple[str, str] | None) -> None:
        self.version += 1
        for listener in self._listeners:
            listener(topic, key)
