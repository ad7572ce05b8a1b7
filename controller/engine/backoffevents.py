"""Kubernetes' `BackOff` events: one per container per back-off wait, never one per pass.

A pod waiting out CrashLoopBackOff or ImagePullBackOff is reconciled again and again while it
waits; each pass would repeat the event. What was reported is kept per pod as (container, reason,
restart count or pull failures), so a new wait (the count moved) is reported once and the same
wait never again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from controller.engine.executor import PodEventSink
from controller.model.events import EventType
from controller.model.meta import PodKey
from controller.model.observed import FailureNote
from controller.model.status import PodView, Waiting, WaitingReason

PULL_FAILURES = (WaitingReason.ERR_IMAGE_PULL, WaitingReason.IMAGE_PULL_BACK_OFF)

Wait = tuple[str, str, int]
"""(container name, waiting reason, restart count or pull failures): one back-off wait."""


class BackoffEvents:
    def __init__(
        self,
        views: Callable[[list[PodKey]], list[PodView]],
        notes: Callable[[PodKey], Mapping[str, FailureNote]],
        on_event: PodEventSink,
    ) -> None:
        self._views = views
        self._notes = notes
        self._on_event = on_event
        self._reported: dict[PodKey, frozenset[Wait]] = {}

    def forget(self, key: PodKey) -> None:
        """The pod no longer waits."""
        self._reported.pop(key, None)

    def report(self, key: PodKey) -> None:
        """A pod left waiting: report the waits not reported yet."""
        views = self._views([key])
        ref = views[0].ref if views else None
        if ref is None:
            self.forget(key)
            return
        view = views[0]
        waits = _waits(view, self._notes(key))
        for name, reason, _ in sorted(waits - self._reported.get(key, frozenset())):
            if reason == WaitingReason.CRASH_LOOP_BACK_OFF:
                message = f"Back-off restarting failed container {name} in pod {key.name}"
            else:
                message = f'Back-off pulling image "{_image(view, name)}"'
            self._on_event(key, EventType.WARNING, "BackOff", message, uid=ref.uid, node=view.node)
        if waits:
            self._reported[key] = frozenset(waits)
        else:
            self.forget(key)


def _waits(view: PodView, notes: Mapping[str, FailureNote]) -> set[Wait]:
    waits: set[Wait] = set()
    for status in view.status.container_statuses:
        state = status.state
        if not isinstance(state, Waiting):
            continue
        if state.reason == WaitingReason.CRASH_LOOP_BACK_OFF:
            waits.add((status.name, state.reason, status.restart_count))
        elif state.reason in PULL_FAILURES and (note := notes.get(status.name)):
            # ErrImagePull shows for a second after the failure, then ImagePullBackOff
            waits.add((status.name, WaitingReason.IMAGE_PULL_BACK_OFF, note.failures))
    return waits


def _image(view: PodView, container: str) -> str:
    return next((c.image for c in view.pod.spec.all_containers() if c.name == container), "")
