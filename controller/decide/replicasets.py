"""compute_replicaset_plan: one ReplicaSet and the pods of its namespace -> the next steps.

Kubernetes' ReplicaSet controller (pkg/controller/replicaset), as a pure function:

1. Claim pods. An active pod (not finished, not terminating) this ReplicaSet owns counts if the
   selector still matches it and is released otherwise; an active ownerless pod the selector matches
   is adopted. Pods owned by anything else are never touched.
2. If the pods it created or deleted last time have not all shown up yet (`Expectations`), wait:
   acting on a stale picture would create or delete twice. Expectations expire after 5 minutes.
3. diff = active - replicas. Too few: create the missing ones, at most `burst` per sync (the
   caller creates them in slow-start batches, `slow_start_batches`). Too many: delete the extra,
   at most `burst`, choosing them as Kubernetes does (`deletion_order`).
4. A pod that ended (Failed or Succeeded) is no longer active, so it is replaced at once. Finished
   pods stay for inspection, `failed_pods_kept` of them (the newest); older ones are removed.
   Kubernetes leaves this to its pod garbage collector with a threshold of 12500 pods per cluster;
   on a Docker host each finished pod holds stopped containers, so Podyard keeps few.
5. Status: replicas (active owned pods), fullyLabeledReplicas, ready, available (ready for at least
   minReadySeconds as of `now`), and the ReplicaFailure condition while creates or deletes fail.

How the caller uses it: gather the pods of the namespace as `PodSummary`s, call, then act: adopt
and release (set or clear the pods' owner), create `plan.create` pods with fresh names in
`slow_start_batches` (stop at the first failed batch), delete `plan.delete`, remove
`plan.remove_failed`. Then, if it created or deleted pods, record
`Expectations.expect(created=<names created>, deleted=<names deleted>, now=now)`, otherwise keep
`plan.expectations`, and pass that to the next call, with the error of a failed create or delete as
`create_error` / `delete_error` (None once a request succeeds again) and `plan.status` as
`previous`. Requeue after `plan.requeue_after` seconds when it is set, and whenever a pod of the
namespace appears, disappears or changes phase, readiness, labels or owner. Drop the expectations
when the ReplicaSet is deleted, so a new one of the same name starts clean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import attrs

from controller.model.meta import ObjectKey
from controller.model.status import PodPhase
from controller.model.workload_status import (
    ConditionReason,
    Expectations,
    PodSummary,
    ReplicaSetStatus,
    WorkloadCondition,
    WorkloadConditionType,
)
from controller.model.workloads import ReplicaSet

BURST_REPLICAS = 500
"""Most pods created or deleted in one sync (Kubernetes' BurstReplicas)."""
FAILED_PODS_KEPT = 1
"""Finished (Failed/Succeeded) pods of a ReplicaSet kept for `logs` and inspection; the newest."""
EXPECTATIONS_TIMEOUT = 300.0
"""Seconds after which unobserved creates/deletes are given up on (Kubernetes' 5 minutes)."""
REQUEUE_SLACK_SECONDS = 1.0
"""Added to timed requeues so a timer firing early still finds the moment passed (as Kubernetes)."""

_PHASE_ORDINAL: Mapping[PodPhase, int] = {
    PodPhase.PENDING: 0,
    PodPhase.UNKNOWN: 1,
    PodPhase.RUNNING: 2,
}


@attrs.frozen
class ReplicaSetPlan:
    create: int
    """How many pods to create now (already limited to the burst); the caller names them."""
    delete: tuple[str, ...]
    """Pods to delete, in Kubernetes' deletion order."""
    adopt: tuple[str, ...]
    """Ownerless active pods the selector matches: set their owner to this ReplicaSet."""
    release: tuple[str, ...]
    """Active pods this ReplicaSet owns that its selector no longer matches: clear their owner."""
    remove_failed: tuple[str, ...]
    """Finished pods beyond those kept for inspection, oldest first."""
    status: ReplicaSetStatus
    wait: bool
    """Earlier creates/deletes are not all observed yet: nothing was planned beyond claiming."""
    expectations: Expectations | None
    """The record to keep if nothing is created or deleted now: the one handed in, less what this
    snapshot shows done (None once fulfilled or expired). After acting, record a new one instead."""
    requeue_after: float | None
    """Sync again after this many seconds (availability, expectations expiry), if set."""

    @property
    def empty(self) -> bool:
        return not (self.create or self.delete or self.adopt or self.release or self.remove_failed)


def slow_start_batches(count: int, initial: int = 1) -> list[int]:
    """Batch sizes for `count` creates: initial, doubling, the last one what remains (1, 2, 4, 3)."""
    batches: list[int] = []
    remaining = count
    size = min(remaining, max(initial, 1))
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return batches


def expectations_satisfied(
    expectations: Expectations | None,
    pods: Sequence[PodSummary],
    now: float,
    timeout: float = EXPECTATIONS_TIMEOUT,
) -> bool:
    """True when there is nothing to wait for: no record, all of it observed, or it expired."""
    if expectations is None or expectations.observe(pods).fulfilled:
        return True
    return now - expectations.set_at > timeout


def owned_by(pod: PodSummary, key: ObjectKey) -> bool:
    return (
        pod.owner is not None
        and pod.namespace == key.namespace
        and pod.owner.kind == key.kind
        and pod.owner.name == key.name
    )


def deletion_order(
    pods: Sequence[PodSummary], related: Sequence[PodSummary] | None = None
) -> list[PodSummary]:
    """`pods`, the ones Kubernetes would delete first in front (ActivePodsWithRanks.Less).

    1. unscheduled before scheduled; 2. Pending, then Unknown, then Running; 3. not ready before
    ready; 4. lower pod-deletion-cost first; 5. more active `related` pods on the same node first
    (`related` defaults to `pods`; Kubernetes uses the pods of every ReplicaSet of the same owner);
    6. of two ready pods, the one ready for a shorter time first (unknown ready time first);
    7. more restarts first; 8. created later first; 9. by name, so the order is stable.

    Kubernetes' LogarithmicScaleDown compares 6 and 8 on a log2 scale and breaks ties by uid, to
    spread deletions pseudo-randomly; Podyard keeps the exact, predictable comparison.
    """
    on_node = Counter(p.node for p in (pods if related is None else related) if p.active)

    def key(pod: PodSummary) -> tuple[int, int, int, int, int, int, float, int, float, str]:
        ready_unknown, ready_for = 0, 0.0
        if pod.ready:
            ready_unknown = 0 if pod.ready_since is None else 1
            ready_for = -(pod.ready_since or 0.0)
        return (
            1 if pod.scheduled else 0,
            _PHASE_ORDINAL.get(pod.phase, 0),
            1 if pod.ready else 0,
            pod.deletion_cost,
            -on_node[pod.node],
            ready_unknown,
            ready_for,
            -pod.restart_count,
            -pod.created_at,
            pod.name,
        )

    return sorted(pods, key=key)


def available(pod: PodSummary, min_ready_seconds: int, now: float) -> bool:
    """Ready, and (with minReadySeconds) ready for at least that long as of `now`."""
    if not pod.ready:
        return False
    if min_ready_seconds <= 0:
        return True
    return pod.ready_since is not None and now - pod.ready_since >= min_ready_seconds


def claim_pods(
    rs: ReplicaSet, rs_key: ObjectKey, pods: Sequence[PodSummary]
) -> tuple[list[PodSummary], list[str], list[str]]:
    """Kubernetes' ClaimPods over the active pods: (counted pods, names to adopt, names to release).

    Counted: active pods it owns that the selector matches, and active ownerless pods the selector
    matches (adopted). Released: active pods it owns that the selector no longer matches.
    """
    selector = rs.spec.selector
    claimed: list[PodSummary] = []
    adopt: list[str] = []
    release: list[str] = []
    for pod in pods:
        if not pod.active or pod.namespace != rs_key.namespace:
            continue
        if owned_by(pod, rs_key):
            if selector.matches(pod.labels):
                claimed.append(pod)
            else:
                release.append(pod.name)
        elif pod.owner is None and not selector.empty and selector.matches(pod.labels):
            claimed.append(pod)
            adopt.append(pod.name)
    return claimed, adopt, release


def compute_replicaset_status(
    rs: ReplicaSet,
    rs_key: ObjectKey,
    pods: Sequence[PodSummary],
    now: float,
    *,
    previous: ReplicaSetStatus | None = None,
    generation: int = 1,
    create_error: str | None = None,
    delete_error: str | None = None,
) -> ReplicaSetStatus:
    """The status alone, as `compute_replicaset_plan` reports it (for a Deployment's inputs)."""
    mine = [p for p in pods if p.namespace == rs_key.namespace]
    claimed, _, _ = claim_pods(rs, rs_key, mine)
    return _status(rs, rs_key, mine, claimed, now, previous, generation, create_error, delete_error)


def compute_replicaset_plan(
    rs: ReplicaSet,
    rs_key: ObjectKey,
    pods: Sequence[PodSummary],
    expectations: Expectations | None,
    now: float,
    burst: int = BURST_REPLICAS,
    failed_pods_kept: int = FAILED_PODS_KEPT,
    *,
    create_error: str | None = None,
    delete_error: str | None = None,
    previous: ReplicaSetStatus | None = None,
    generation: int = 1,
    related_pods: Sequence[PodSummary] | None = None,
    expectations_timeout: float = EXPECTATIONS_TIMEOUT,
) -> ReplicaSetPlan:
    """The next steps for `rs` (see the module docstring for the caller's side).

    `pods`: the pods of the ReplicaSet's namespace (others are ignored), finished and terminating
    ones included. `previous`: the status last reported, so conditions keep their transition time.
    `related_pods`: the pods of all ReplicaSets of the same Deployment, for the same-node rank.
    """
    mine = [p for p in pods if p.namespace == rs_key.namespace]
    claimed, adopt, release = claim_pods(rs, rs_key, mine)
    satisfied = expectations_satisfied(expectations, mine, now, expectations_timeout)
    kept = None if satisfied or expectations is None else expectations.observe(mine)
    create = 0
    delete: tuple[str, ...] = ()
    if satisfied:
        diff = len(claimed) - rs.spec.replicas
        if diff < 0:
            create = min(-diff, burst)
        elif diff > 0:
            related = related_pods if related_pods is not None else claimed
            ordered = deletion_order(claimed, related)
            delete = tuple(p.name for p in ordered[: min(diff, burst)])

    status = _status(
        rs, rs_key, mine, claimed, now, previous, generation, create_error, delete_error
    )
    expiry = None if kept is None else kept.set_at + expectations_timeout - now
    wake = [] if expiry is None else [max(0.0, expiry) + REQUEUE_SLACK_SECONDS]
    wake += _availability_wakes(claimed, rs.spec.min_ready_seconds, now)
    return ReplicaSetPlan(
        create=create,
        delete=delete,
        adopt=tuple(sorted(adopt)),
        release=tuple(sorted(release)),
        remove_failed=_finished_to_remove(mine, rs_key, failed_pods_kept),
        status=status,
        wait=not satisfied,
        expectations=kept,
        requeue_after=min(wake) if wake else None,
    )


def _availability_wakes(claimed: Sequence[PodSummary], min_ready: int, now: float) -> list[float]:
    """When each ready-but-not-yet-available pod becomes available (plus slack)."""
    if min_ready <= 0:
        return []
    return [
        max(0.0, p.ready_since + min_ready - now) + REQUEUE_SLACK_SECONDS
        for p in claimed
        if p.ready and p.ready_since is not None and not available(p, min_ready, now)
    ]


def _finished_to_remove(
    pods: Sequence[PodSummary], rs_key: ObjectKey, kept: int
) -> tuple[str, ...]:
    finished = sorted(
        (p for p in pods if p.finished and not p.terminating and owned_by(p, rs_key)),
        key=lambda p: (p.created_at, p.name),
    )
    excess = len(finished) - max(kept, 0)
    return tuple(p.name for p in finished[:excess]) if excess > 0 else ()


def _status(
    rs: ReplicaSet,
    rs_key: ObjectKey,
    pods: Sequence[PodSummary],
    claimed: Sequence[PodSummary],
    now: float,
    previous: ReplicaSetStatus | None,
    generation: int,
    create_error: str | None,
    delete_error: str | None,
) -> ReplicaSetStatus:
    """Kubernetes' calculateStatus, plus terminatingReplicas."""
    template_labels = rs.spec.template.metadata.labels
    min_ready = rs.spec.min_ready_seconds
    fully_labeled = sum(
        all(p.labels.get(k) == v for k, v in template_labels.items()) for p in claimed
    )
    terminating = sum(
        p.terminating
        and not p.finished
        and owned_by(p, rs_key)
        and rs.spec.selector.matches(p.labels)
        for p in pods
    )
    conditions = list(previous.conditions) if previous is not None else []
    failure = next((c for c in conditions if c.type == WorkloadConditionType.REPLICA_FAILURE), None)
    error = create_error or delete_error
    if error is not None and failure is None:
        reason = ConditionReason.FAILED_CREATE if create_error else ConditionReason.FAILED_DELETE
        conditions.append(
            WorkloadCondition(
                WorkloadConditionType.REPLICA_FAILURE.value, True, reason.value, error, now
            )
        )
    elif error is None and failure is not None:
        conditions.remove(failure)
    return ReplicaSetStatus(
        replicas=len(claimed),
        fully_labeled_replicas=fully_labeled,
        ready_replicas=sum(p.ready for p in claimed),
        available_replicas=sum(available(p, min_ready, now) for p in claimed),
        terminating_replicas=terminating,
        observed_generation=generation,
        conditions=tuple(conditions),
    )
