"""Pod deletion asked through the API (`DELETE .../pods/{name}`, `kubectl delete pod`).

The API hands a delete to `PodDeleter.delete`, which answers at once (the pod marked for deletion,
as the API server answers a graceful delete) and leaves the work to the pod's own worker:

- A ReplicaSet's (or Deployment's) pod is deleted as eviction deletes it (`ReplicaSetController
  .evict`, reason `Deleted`): it leaves the desired store, its owner creates a replacement
  (`SuccessfulCreate`), and the pod's worker stops its containers (`Killing`, preStop, SIGTERM,
  SIGKILL after the grace).
- A bare pod declared by a file stays declared: the file is the source of truth. Its instance is
  torn down with the grace, then the pod is made anew (new uid, restart count 0), same name. The
  answer carries a warning that says so.
- A pod no longer declared but still terminating only gets its grace shortened.

Each request is kept in a `DeletionBook` by pod key and uid, and the pod's decision reads it as an
input (`PodInputs.deletion`): the grace left is computed there from the request's time and the
decision's `now`. A request is dropped once no container of its uid is left.

Traps: the book lives in memory. A controller that stops mid-deletion forgets the request: the
next one finds the instance (a ReplicaSet's pod is restored from its sandbox) and runs it on,
never twice. A second delete only shortens the grace left, as in Kubernetes: the pod's sync in
progress (a stop waiting out the longer grace) is cancelled and runs again with the shorter one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from controller.engine.ports import Clock, MetricsSink, NoMetrics
from controller.engine.stores import DesiredStore
from controller.model.deletion import DeleteResult, DeleteVerdict, PodDeletion
from controller.model.meta import PodKey
from controller.model.observed import ObservedContainer
from controller.model.status import PodView
from controller.model.telemetry import RescheduleReason

PodViews = Callable[[Iterable[PodKey]], list[PodView]]
Evict = Callable[[PodKey, RescheduleReason], bool]
Enqueue = Callable[[PodKey], None]


class DeletionBook:
    """The deletions asked for, one per pod key (the instance named by its uid)."""

    def __init__(self) -> None:
        self._requests: dict[PodKey, PodDeletion] = {}

    def ask(self, key: PodKey, request: PodDeletion, now: float) -> PodDeletion:
        held = self._requests.get(key)
        if held is not None and held.uid == request.uid:
            request = held.shortened(request.grace_seconds, now)
        self._requests[key] = request
        return request

    def get(self, key: PodKey) -> PodDeletion | None:
        return self._requests.get(key)

    def current(self, key: PodKey, containers: Iterable[ObservedContainer]) -> PodDeletion | None:
        """The request for `key` while a container of its uid is left; dropped once none is."""
        request = self._requests.get(key)
        if request is None:
            return None
        if any(c.pod.uid == request.uid for c in containers):
            return request
        del self._requests[key]
        return None

    def __len__(self) -> int:
        return len(self._requests)


def bare_pod_warning(name: str, source: str) -> str:
    return (
        f'pod "{name}" is declared by {source}: it is restarted as a new pod; '
        "remove it from the folder to delete it"
    )


class PodDeleter:
    def __init__(
        self,
        book: DeletionBook,
        desired: DesiredStore,
        views: PodViews,
        evict: Evict,
        enqueue: Enqueue,
        clock: Clock,
        metrics: MetricsSink | None = None,
        interrupt: Callable[[PodKey], object] = lambda key: None,
    ) -> None:
        self._interrupt = interrupt
        self._book = book
        self._desired = desired
        self._views = views
        self._evict = evict
        self._enqueue = enqueue
        self._clock = clock
        self._metrics: MetricsSink = metrics or NoMetrics()

    def delete(
        self, namespace: str, name: str, grace_seconds: int | None, uid: str | None
    ) -> DeleteResult:
        """Mark the pod for deletion; `grace_seconds` None is the pod's own grace period, `uid` a
        precondition (Kubernetes' `preconditions.uid`)."""
        key = PodKey(namespace, name)
        view = next(iter(self._views([key])), None)
        if view is None or view.ref is None:
            return DeleteResult(DeleteVerdict.NOT_FOUND)
        if uid and uid != view.ref.uid:
            message = (
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{view.ref.uid}"
            )
            return DeleteResult(DeleteVerdict.CONFLICT, view, message=message)
        now = self._clock.now()
        spec_grace = view.pod.spec.termination_grace_period_seconds
        grace = spec_grace if grace_seconds is None else grace_seconds
        held = self._book.get(key)
        first = held is None or held.uid != view.ref.uid
        asked = self._book.ask(key, PodDeletion(view.ref.uid, max(0, grace), now), now)
        if not first and asked != held:
            self._interrupt(key)  # a stop waiting out the longer grace starts again, shorter
        desired = self._desired.get(key)
        warning = ""
        if desired is not None and not self._evict(key, RescheduleReason.DELETED):
            warning = bare_pod_warning(name, desired.source or "its manifest")
            if first:
                self._metrics.pod_rescheduled(RescheduleReason.DELETED)
        self._enqueue(key)
        marked = next(iter(self._views([key])), view)
        return DeleteResult(DeleteVerdict.ACCEPTED, marked, warning=warning)
