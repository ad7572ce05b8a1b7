"""The ReplicaSet controller: keeps N pods of a template alive, through the pod store.

It never touches containers. Creating a pod is putting a DesiredPod (owner `ReplicaSet/<name>`,
name `<rs>-<5 chars>`) into the desired store and enqueueing it; deleting one is removing it; the
pod reconciler does the rest. So a slow engine can never cause over-creation: a pod counts as soon
as it is desired (Pending), long before its containers exist. Expectations (by pod name) are still
kept, as Kubernetes does, so a sync never acts on a picture older than its own last action.

Keys are ObjectKey("ReplicaSet", ns, name). A ReplicaSet is synced when the folder changes it, when
any pod it owns is reconciled (phase, readiness), and when a timer it asked for fires
(minReadySeconds). A ReplicaSet that disappears takes its pods with it (Kubernetes' background
cascading deletion). Deviation: pods declared directly in the folder belong to the folder and are
never adopted (their ownership is a label on running containers, which Docker cannot change).

After a controller restart, the pods a ReplicaSet made are restored from their sandboxes' manifest
labels (see `restore_owned_pods`) as each node is listed, before any sync runs (the engine holds the
syncs until every node was listed), so the count is right from the start; and again when a node is
listed after an outage, except the pods this controller deleted meanwhile.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable

import attrs

from controller.decide.replicasets import compute_replicaset_plan
from controller.engine.events import EventRecorder
from controller.engine.podfactory import (
    desired_from_pod,
    name_suffix,
    pod_from_template,
    restore_from_sandbox,
)
from controller.engine.ports import Clock, MetricsSink, NoMetrics
from controller.engine.stores import DesiredStore, ObservedCache, ProtectedSources
from controller.engine.workqueue import WorkQueue
from controller.model import identity
from controller.model.events import EventType, ObjectReference
from controller.model.meta import ObjectKey, PodKey
from controller.model.status import ConditionType, PodPhase, PodView, Waiting, WaitingReason
from controller.model.telemetry import ControllerName, RescheduleReason
from controller.model.workload_status import (
    Expectations,
    OwnerRef,
    PodSummary,
    ReplicaSetStatus,
    ReplicaSetView,
    deletion_cost,
)
from controller.model.workloads import ReplicaSet
from controller.serde import workload_spec_hash

log = logging.getLogger(__name__)

PodViewsSource = Callable[[Iterable[PodKey]], list[PodView]]
EnqueuePod = Callable[[PodKey], None]

KIND = "ReplicaSet"


@attrs.frozen
class DeclaredReplicaSet:
    """A ReplicaSet as the controller holds it: the object, where it came from, its generation."""

    rs: ReplicaSet
    source: str
    generation: int
    spec_hash: str
    uid: str
    owner: str = ""
    """Who declared it: "" for the folder, `Deployment/<name>` for a Deployment's."""
    created_at: float = 0.0

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(KIND, self.rs.metadata.namespace, self.rs.metadata.name)


def rs_key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey(KIND, namespace, name)


def object_uid(key: ObjectKey) -> str:
    """A stable uid for a declared object (the folder has no API server to hand them out)."""
    return identity.object_uid(key.kind, key.namespace, key.name)


def summarize(view: PodView) -> PodSummary:
    """What the ReplicaSet logic needs of one pod view."""
    status = view.status
    ready = next((c for c in status.conditions if c.type is ConditionType.READY), None)
    meta = view.pod.metadata
    return PodSummary(
        name=meta.name,
        namespace=meta.namespace,
        uid=view.ref.uid if view.ref else "",
        labels=dict(meta.labels),
        owner=OwnerRef.parse(view.owner) if view.owner else None,
        phase=status.phase,
        ready=bool(ready and ready.status),
        ready_since=ready.last_transition_time if ready and ready.status else None,
        restart_count=max((s.restart_count for s in status.container_statuses), default=0),
        node=view.node,
        created_at=view.created_at or 0.0,
        deletion_cost=deletion_cost(meta.annotations),
        terminating=view.deleting,
    )


CREATE_FAILURES = frozenset(
    {
        WaitingReason.ERR_IMAGE_PULL,
        WaitingReason.IMAGE_PULL_BACK_OFF,
        WaitingReason.ERR_IMAGE_NEVER_PULL,
        WaitingReason.CREATE_CONTAINER_ERROR,
        WaitingReason.CREATE_CONTAINER_CONFIG_ERROR,
    }
)
"""Waiting reasons that mean the pod's containers could not be made: the ReplicaSet reports a
ReplicaFailure for them, since here making a pod and making its containers are one step."""


def creation_failure(views: Iterable[PodView]) -> str | None:
    """The first pod whose containers cannot be created, as a ReplicaFailure message."""
    for view in views:
        for status in view.status.container_statuses:
            state = status.state
            if isinstance(state, Waiting) and state.reason in CREATE_FAILURES:
                return f"pod {view.pod.metadata.name}: {state.reason}: {state.message}"
    return None


class ReplicaSetController:
    def __init__(
        self,
        desired: DesiredStore,
        cache: ObservedCache,
        views: PodViewsSource,
        enqueue_pod: EnqueuePod,
        clock: Clock,
        rng: random.Random | None = None,
        failed_pods_kept: int = 1,
        events: EventRecorder | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._desired = desired
        self._metrics: MetricsSink = metrics or NoMetrics()
        self._replaced: dict[ObjectKey, frozenset[str]] = {}
        """Per ReplicaSet, the ended pods already counted as replaced (one reschedule each)."""
        self._cache = cache
        self._views = views
        self._enqueue_pod = enqueue_pod
        self._clock = clock
        self._rng = rng or random.Random()
        self._failed_pods_kept = failed_pods_kept
        self.events = events if events is not None else EventRecorder(clock)
        self._create_errors: dict[ObjectKey, str] = {}
        self.queue: WorkQueue[ObjectKey] = WorkQueue(
            clock, name=ControllerName.REPLICASET, metrics=self._metrics
        )
        self.declared: dict[ObjectKey, DeclaredReplicaSet] = {}
        self.status: dict[ObjectKey, ReplicaSetStatus] = {}
        self._expectations: dict[ObjectKey, Expectations] = {}
        self._owners: dict[PodKey, ObjectKey] = {}
        self._deleted: set[PodKey] = set()
        """Pods this controller deleted whose containers may still be seen: never restored (a
        node listed again after an outage must not bring back a pod being torn down)."""
        self.protected = ProtectedSources()
        self.on_synced: Callable[[DeclaredReplicaSet], None] = lambda entry: None
        """Called after each sync of a live ReplicaSet (its owner Deployment looks again)."""

    # -- inputs --------------------------------------------------------------------------------

    def set_declared(self, owner: str, items: Iterable[tuple[ReplicaSet, str]]) -> None:
        """The ReplicaSets one owner declares ("" for the folder), each with its source."""
        new: dict[ObjectKey, DeclaredReplicaSet] = {}
        for rs, source in items:
            key = rs_key(rs.metadata.namespace, rs.metadata.name)
            held = self.declared.get(key)
            if held is not None and held.owner != owner:
                log.warning(
                    "%s is declared by %s already; ignoring %s",
                    key,
                    held.owner or "the folder",
                    source,
                )
                continue
            spec_hash = workload_spec_hash(rs)
            generation = 1 if held is None else held.generation + (held.spec_hash != spec_hash)
            created_at = self._clock.now() if held is None else held.created_at
            new[key] = DeclaredReplicaSet(
                rs, source, generation, spec_hash, object_uid(key), owner, created_at
            )
        old = {k: v for k, v in self.declared.items() if v.owner == owner}
        for key in old.keys() - new.keys():
            del self.declared[key]
            self.queue.add(key)
        for key, entry in new.items():
            if old.get(key) != entry:
                self.declared[key] = entry
                self.queue.add(key)

    def pod_changed(self, key: PodKey) -> None:
        """A pod was reconciled: its owner (if a ReplicaSet) looks again, also once it is gone."""
        desired = self._desired.get(key)
        owner = desired.owner if desired else self._observed_owner(key)
        ref = OwnerRef.parse(owner) if owner else None
        if ref is not None and ref.kind == KIND:
            self._owners[key] = rs_key(key.namespace, ref.name)
        if desired is None and not self._cache.containers_for(key):
            self._deleted.discard(key)
        known = self._owners.get(key)
        if known is not None:
            self.queue.add(known)
            if desired is None and not self._cache.containers_for(key):
                del self._owners[key]  # gone for good: this was its owner's last look

    def _observed_owner(self, key: PodKey) -> str:
        return next((c.identity.owner for c in self._cache.containers_for(key)), "")

    def restore_owned_pods(self) -> None:
        """After a restart, and when a node is listed again after an outage: put back the pods
        ReplicaSets made, from their sandboxes' manifests (those not desired, nor deleted)."""
        for key in self._cache.keys():  # noqa: SIM118 - a method of the cache, not a dict
            if self._desired.get(key) is not None or key in self._deleted:
                continue
            sandboxes = [c for c in self._cache.containers_for(key) if c.is_sandbox]
            owner = next((c.identity.owner for c in sandboxes), "")
            ref = OwnerRef.parse(owner) if owner else None
            if ref is None or ref.kind != KIND:
                continue
            restored = next(
                (r for c in reversed(sandboxes) if (r := restore_from_sandbox(c))), None
            )
            if restored is not None:
                self._desired.put(restored)
            self.queue.add(rs_key(key.namespace, ref.name))

    def views(self) -> list[ReplicaSetView]:
        return [
            ReplicaSetView(
                replicaset=entry.rs,
                status=self.status.get(key, ReplicaSetStatus()),
                uid=entry.uid,
                generation=entry.generation,
                owner=entry.owner,
                source=entry.source,
                created_at=entry.created_at or None,
            )
            for key, entry in sorted(self.declared.items())
        ]

    # -- the sync --------------------------------------------------------------------------------

    def owned_views(self, key: ObjectKey) -> list[PodView]:
        owner = str(OwnerRef(KIND, key.name))
        keys = {p.key for p in self._desired.owned_by(owner)} | self._cache.keys_owned_by(owner)
        return [
            v
            for v in self._views([k for k in keys if k.namespace == key.namespace])
            if v.owner == owner
        ]

    def owned_pods(self, key: ObjectKey) -> list[PodSummary]:
        return [summarize(v) for v in self.owned_views(key)]

    async def reconcile(self, key: ObjectKey) -> float | None:
        """One sync; returns when to look again (seconds), or None."""
        entry = self.declared.get(key)
        if entry is None:
            owner = str(OwnerRef(KIND, key.name))
            kept = [
                c for k in self._cache.keys_owned_by(owner) for c in self._cache.containers_for(k)
            ]
            if self.protected.covers(kept):
                return 5.0  # declared in a file that is broken right now: keep its pods
            self._delete_all(key)
            return None
        now = self._clock.now()
        views = self.owned_views(key)
        create_error = creation_failure(views)
        plan = compute_replicaset_plan(
            entry.rs,
            key,
            [summarize(v) for v in views],
            self._expectations.get(key),
            now,
            previous=self.status.get(key),
            generation=entry.generation,
            failed_pods_kept=self._failed_pods_kept,
            create_error=create_error,
        )
        self._report_create_error(key, create_error)
        previous = self.status.get(key)
        self.status[key] = plan.status
        if previous != plan.status:
            self.on_synced(entry)
        if plan.wait:
            return plan.requeue_after or 1.0
        created = [self._create_pod(entry) for _ in range(plan.create)]
        self._count_replacements(key, views, len(created))
        deleted = [*plan.delete, *plan.remove_failed]
        for name in deleted:
            self._delete_pod(PodKey(key.namespace, name))
        for name in created:
            self._event(key, EventType.NORMAL, "SuccessfulCreate", f"Created pod: {name}")
        for name in deleted:
            self._event(key, EventType.NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
        if created or plan.delete:
            self._expectations[key] = Expectations.expect(
                created=created, deleted=plan.delete, now=now
            )
            log.info(
                "%s: %d replica(s) wanted, %d active; created %s, deleting %s",
                key,
                entry.rs.spec.replicas,
                plan.status.replicas,
                created,
                list(plan.delete),
            )
        elif plan.expectations is not None:
            self._expectations[key] = plan.expectations
        else:
            self._expectations.pop(key, None)
        return plan.requeue_after

    def _count_replacements(self, key: ObjectKey, views: list[PodView], created: int) -> None:
        """Pods made while owned pods have failed are their replacements: one `PodFailed`
        reschedule per failed pod, each counted once."""
        failed = frozenset(v.pod.metadata.name for v in views if v.status.phase is PodPhase.FAILED)
        counted = self._replaced.get(key, frozenset()) & failed
        for _ in range(min(created, len(failed - counted))):
            self._metrics.pod_rescheduled(RescheduleReason.POD_FAILED)
        self._replaced[key] = counted | frozenset(sorted(failed - counted)[:created])

    def _event(self, key: ObjectKey, type: EventType, reason: str, message: str) -> None:
        obj = ObjectReference(KIND, key.namespace, key.name, object_uid(key))
        self.events.record(obj, type, reason, message)

    def _report_create_error(self, key: ObjectKey, error: str | None) -> None:
        """`FailedCreate` once each time a new reason why its pods cannot be created shows."""
        if error is None:
            self._create_errors.pop(key, None)
        elif self._create_errors.get(key) != error:
            self._create_errors[key] = error
            self._event(key, EventType.WARNING, "FailedCreate", f"Error creating: {error}")

    def _create_pod(self, entry: DeclaredReplicaSet) -> str:
        rs = entry.rs
        namespace = rs.metadata.namespace
        while True:
            name = f"{rs.metadata.name}-{name_suffix(self._rng)}"
            if self._desired.get(
                PodKey(namespace, name)
            ) is None and not self._cache.containers_for(PodKey(namespace, name)):
                break
        pod = pod_from_template(rs.spec.template, name, namespace)
        desired = desired_from_pod(
            pod, owner=str(OwnerRef(KIND, rs.metadata.name)), source=entry.source
        )
        self._desired.put(desired)
        self._enqueue_pod(desired.key)
        return name

    def forget(self, key: PodKey) -> None:
        """A pod found on a node that came back after the controller acted without it: it was
        replaced meanwhile, so it is never restored, only removed."""
        self._deleted.add(key)

    def evict(self, key: PodKey, reason: RescheduleReason = RescheduleReason.NODE_LOST) -> bool:
        """Delete a pod of a ReplicaSet (from a lost node, or through the API), so that its owner
        replaces it (on a Ready node); False (and nothing done) for a pod no ReplicaSet owns."""
        desired = self._desired.get(key)
        ref = OwnerRef.parse(desired.owner) if desired and desired.owner else None
        if ref is None or ref.kind != KIND:
            return False
        self._delete_pod(key)
        self._metrics.pod_rescheduled(reason)
        self.queue.add(rs_key(key.namespace, ref.name))
        return True

    def _delete_pod(self, key: PodKey) -> None:
        self._deleted.add(key)
        self._desired.remove(key)
        self._enqueue_pod(key)

    def _delete_all(self, key: ObjectKey) -> None:
        owner = str(OwnerRef(KIND, key.name))
        for pod in self._desired.owned_by(owner):
            if pod.key.namespace == key.namespace:
                self._delete_pod(pod.key)
        self.status.pop(key, None)
        self._expectations.pop(key, None)
        self._create_errors.pop(key, None)
