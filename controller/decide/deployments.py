"""compute_deployment_plan: one Deployment and the ReplicaSets it owns -> the next steps.

Kubernetes' Deployment controller (pkg/controller/deployment), as a pure function:

* The new ReplicaSet is the oldest one whose pod-template-hash equals the current template's hash.
  Its revision is raised to max(old revisions) + 1 when lower, so going back to an earlier
  template reuses that revision's ReplicaSet and makes it the newest revision (the folder's
  rollback). Without one, a ReplicaSet `<deployment>-<hash>` is created (see `NewReplicaSet`).
* A scaling event (an active ReplicaSet was last scaled for a different `replicas`) is handled by
  Kubernetes' `scale`: the only active ReplicaSet takes all replicas; several active ones share
  the change in proportion to their size (RollingUpdate).
* RollingUpdate (rolling.go): scale the new ReplicaSet up while all ReplicaSets together stay within
  replicas + maxSurge; in a sync that did not scale it up, scale old ones down, first their
  unavailable pods, then as far as keeping replicas - maxUnavailable available allows.
* Recreate (recreate.go): scale every old ReplicaSet to 0, wait until none of their pods is left
  (terminating ones included), then create or scale the new one to `replicas`.
* Once the rollout is complete, old ReplicaSets at 0 beyond revisionHistoryLimit are deleted, lowest
  revision first. (Kubernetes decides this on the status stored by the previous sync; here the
  status computed in this sync is used, which reaches the same answer one sync earlier.)
* Status (sync.go calculateStatus, progress.go syncRolloutStatus): counts summed over the
  ReplicaSets, Available while available >= replicas - maxUnavailable, Progressing with
  Kubernetes' reasons, False/ProgressDeadlineExceeded after progressDeadlineSeconds without progress.

How the caller uses it: call with the ReplicaSets the Deployment owns, their statuses computed from
the pods as of `now` (`compute_replicaset_status`), and the last `plan.progress` (None at first).
The owned ReplicaSets run with the Deployment's minReadySeconds. Then: create `plan.create_replicaset` (owned by the Deployment),
set the revision named by `plan.set_revision`, scale each `(name, replicas)` of `plan.scale`
(with `scaled_replicaset`, which also records desired/max replicas), delete
`plan.delete_replicasets`, and store `plan.progress`. If the plan did anything (`plan.acted`),
sync again at once (Kubernetes is woken by its own ReplicaSet updates); sync again whenever an
owned ReplicaSet's status changes, and after `plan.requeue_after` seconds when it is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from controller.model.meta import ObjectKey, ObjectMeta
from controller.model.workload_status import (
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    POD_TEMPLATE_HASH_LABEL,
    REVISION_ANNOTATION,
    ConditionReason,
    DeploymentStatus,
    OwnedReplicaSet,
    OwnerRef,
    ProgressState,
    ReplicaSetStatus,
    WorkloadCondition,
    WorkloadConditionType,
    find_condition,
)
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    ReplicaSet,
    ReplicaSetSpec,
    StrategyType,
)

UNLIMITED = 2**31 - 1
"""progressDeadlineSeconds / revisionHistoryLimit meaning "none" (Kubernetes' MaxInt32)."""
REQUEUE_SLACK_SECONDS = 1.0
"""Added to the progress-deadline requeue, as Kubernetes does against timer skew."""

_NOT_COPIED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION_ANNOTATION,
        "deployment.kubernetes.io/revision-history",
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        "deprecated.deployment.rollback.to",
    }
)

_PROGRESSING = WorkloadConditionType.PROGRESSING.value
_AVAILABLE = WorkloadConditionType.AVAILABLE.value
_REPLICA_FAILURE = WorkloadConditionType.REPLICA_FAILURE.value


@attrs.frozen
class NewReplicaSet:
    """The ReplicaSet to create: the template with `pod-template-hash` in labels and selector."""

    replica_set: ReplicaSet
    template_hash: str
    revision: int
    owner: OwnerRef
    """Its controller: the Deployment."""

    @property
    def name(self) -> str:
        return self.replica_set.metadata.name

    @property
    def replicas(self) -> int:
        return self.replica_set.spec.replicas


@attrs.frozen
class DeploymentPlan:
    create_replicaset: NewReplicaSet | None
    scale: tuple[tuple[str, int], ...]
    """(ReplicaSet name, new spec.replicas); each also gets `desired_replicas`/`max_replicas`."""
    delete_replicasets: tuple[str, ...]
    """Old ReplicaSets at 0 beyond revisionHistoryLimit, lowest revision first."""
    set_revision: tuple[str, int] | None
    """The existing new ReplicaSet whose revision annotation becomes this (a template reverted)."""
    revision: int
    """The Deployment's revision (its new ReplicaSet's), for display."""
    desired_replicas: int
    """Recorded on every ReplicaSet written (`deployment.kubernetes.io/desired-replicas`)."""
    max_replicas: int
    """Recorded likewise (`deployment.kubernetes.io/max-replicas`): replicas + maxSurge."""
    status: DeploymentStatus
    progress: ProgressState
    """Hand this to the next call."""
    requeue_after: float | None
    """Sync again after this many seconds (the progress deadline check), if set."""

    @property
    def acted(self) -> bool:
        return bool(
            self.create_replicaset or self.scale or self.delete_replicasets or self.set_revision
        )


def max_surge(spec: DeploymentSpec) -> int:
    """Kubernetes' MaxSurge: the resolved maxSurge for RollingUpdate, 0 for Recreate."""
    if spec.strategy.type is not StrategyType.ROLLING_UPDATE:
        return 0
    return spec.strategy.surge_and_unavailable(spec.replicas)[0]


def max_unavailable(spec: DeploymentSpec) -> int:
    """Kubernetes' MaxUnavailable: 0 for Recreate or 0 replicas, never more than replicas."""
    if spec.strategy.type is not StrategyType.ROLLING_UPDATE or spec.replicas == 0:
        return 0
    return min(spec.strategy.surge_and_unavailable(spec.replicas)[1], spec.replicas)


def scaled_replicaset(rs: ReplicaSet, replicas: int, plan: DeploymentPlan) -> ReplicaSet:
    """`rs` scaled as `plan.scale` asks, with the replica annotations Kubernetes writes along."""
    annotations = {
        **rs.metadata.annotations,
        DESIRED_REPLICAS_ANNOTATION: str(plan.desired_replicas),
        MAX_REPLICAS_ANNOTATION: str(plan.max_replicas),
    }
    return attrs.evolve(
        rs,
        metadata=attrs.evolve(rs.metadata, annotations=annotations),
        spec=attrs.evolve(rs.spec, replicas=replicas),
    )


def revised_replicaset(rs: ReplicaSet, revision: int) -> ReplicaSet:
    """`rs` with its revision annotation set (for `plan.set_revision`)."""
    annotations = {**rs.metadata.annotations, REVISION_ANNOTATION: str(revision)}
    return attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=annotations))


def new_replicaset(
    deployment: Deployment, template_hash: str, replicas: int, revision: int
) -> NewReplicaSet:
    """The ReplicaSet Kubernetes' getNewReplicaSet creates for the current template."""
    spec = deployment.spec
    meta = deployment.metadata
    labels = {**spec.template.metadata.labels, POD_TEMPLATE_HASH_LABEL: template_hash}
    template = attrs.evolve(
        spec.template, metadata=attrs.evolve(spec.template.metadata, labels=labels)
    )
    selector = attrs.evolve(
        spec.selector,
        match_labels={**spec.selector.match_labels, POD_TEMPLATE_HASH_LABEL: template_hash},
    )
    annotations = {k: v for k, v in meta.annotations.items() if k not in _NOT_COPIED_ANNOTATIONS}
    annotations |= {
        REVISION_ANNOTATION: str(revision),
        DESIRED_REPLICAS_ANNOTATION: str(spec.replicas),
        MAX_REPLICAS_ANNOTATION: str(spec.replicas + max_surge(spec)),
    }
    rs = ReplicaSet(
        metadata=ObjectMeta(
            name=f"{meta.name}-{template_hash}",
            namespace=meta.namespace,
            labels=labels,
            annotations=annotations,
        ),
        spec=ReplicaSetSpec(
            selector=selector,
            template=template,
            replicas=replicas,
            min_ready_seconds=spec.min_ready_seconds,
        ),
    )
    return NewReplicaSet(rs, template_hash, revision, OwnerRef(deployment.kind, meta.name))


class _Sync:
    """The ReplicaSets' spec.replicas as this sync changes them, and which ones it changed."""

    def __init__(self, spec: DeploymentSpec, replicasets: Iterable[OwnedReplicaSet]) -> None:
        self.spec = spec
        self.surge = max_surge(spec)
        self.replicas = {rs.name: rs.replicas for rs in replicasets}
        self.changed: dict[str, int] = {}

    def size(self, rs: OwnedReplicaSet) -> int:
        return self.replicas[rs.name]

    def total(self, replicasets: Iterable[OwnedReplicaSet]) -> int:
        return sum(self.replicas[rs.name] for rs in replicasets)

    def scale(self, rs: OwnedReplicaSet, replicas: int) -> bool:
        """Kubernetes' scaleReplicaSetAndRecordEvent: a no-op when the size is already right."""
        if self.replicas[rs.name] == replicas:
            return False
        self.replicas[rs.name] = replicas
        self.changed[rs.name] = replicas
        return True

    def scale_or_annotate(self, rs: OwnedReplicaSet, replicas: int) -> None:
        """Kubernetes' scaleReplicaSet: also writes when only the replica annotations are stale."""
        stale = rs.desired_replicas != self.spec.replicas or rs.max_replicas != (
            self.spec.replicas + self.surge
        )
        if self.replicas[rs.name] != replicas or stale:
            self.replicas[rs.name] = replicas
            self.changed[rs.name] = replicas


def compute_deployment_plan(
    deployment: Deployment,
    key: ObjectKey,
    replicasets: Sequence[OwnedReplicaSet],
    template_hash: str,
    now: float,
    progress: ProgressState | None,
    *,
    generation: int = 1,
) -> DeploymentPlan:
    """The next steps for `deployment` (see the module docstring for the caller's side).

    `replicasets`: the ReplicaSets it owns, with their statuses as of `now`. `template_hash`: the
    hash of the current pod template. `key` names the Deployment (messages and ownership only).
    """
    spec = deployment.spec
    name = key.name or deployment.metadata.name
    surge, unavailable = max_surge(spec), max_unavailable(spec)
    ordered = sorted(replicasets, key=_by_creation)
    new = next((rs for rs in ordered if rs.template_hash == template_hash), None)
    olds = [rs for rs in ordered if rs is not new]
    previous = progress.status if progress is not None else None
    conditions = list(previous.conditions) if previous is not None else []
    deadline = spec.progress_deadline_seconds < UNLIMITED

    next_revision = max((rs.revision for rs in olds), default=0) + 1
    set_revision: tuple[str, int] | None = None
    if new is not None:
        if new.revision < next_revision:
            set_revision = (new.name, next_revision)
            new = attrs.evolve(new, revision=next_revision)
        if deadline and find_condition(conditions, _PROGRESSING) is None:
            message = f'Found new replica set "{new.name}"'
            _set(
                conditions,
                _condition(_PROGRESSING, True, ConditionReason.FOUND_NEW_REPLICA_SET, message, now),
            )

    created: NewReplicaSet | None = None

    def create(replicas: int) -> OwnedReplicaSet:
        nonlocal created
        created = new_replicaset(deployment, template_hash, replicas, next_revision)
        if deadline:
            message = f'Created new replica set "{created.name}"'
            _set(
                conditions,
                _condition(
                    _PROGRESSING, True, ConditionReason.NEW_REPLICA_SET_CREATED, message, now
                ),
            )
        return OwnedReplicaSet(
            name=created.name,
            template_hash=template_hash,
            replicas=replicas,
            status=ReplicaSetStatus(),
            created_at=now,
            template=created.replica_set.spec.template,
            revision=next_revision,
            desired_replicas=spec.replicas,
            max_replicas=spec.replicas + surge,
        )

    work = _Sync(spec, ordered)
    cleanup: tuple[str, ...] = ()

    def status_now() -> DeploymentStatus:
        everything = [*olds, *([new] if new is not None else [])]
        return _calculate(spec, everything, new, conditions, unavailable, generation, now)

    rollout = not _is_scaling_event(spec, [*olds, *([new] if new is not None else [])])
    if not rollout:
        _scale(work, spec, new, olds, previous)
    elif spec.strategy.type is StrategyType.ROLLING_UPDATE:
        if new is None:
            new = create(_new_rs_replicas(work, spec, olds, 0))
            work.replicas[new.name] = new.replicas
        scaled = _reconcile_new(work, spec, [*olds, new], new)
        if not scaled:
            active_olds = [rs for rs in olds if rs.replicas > 0]
            scaled = _reconcile_old(work, spec, [*olds, new], active_olds, new, unavailable)
        if not scaled and _complete(spec, status_now(), generation):
            cleanup = _cleanup(spec, olds)
    else:
        scaled = False
        for rs in olds:
            if rs.replicas > 0:
                scaled = work.scale(rs, 0) or scaled
        if not scaled and not _old_pods_running(olds):
            if new is None:
                new = create(spec.replicas)
                work.replicas[new.name] = new.replicas
            work.scale(new, spec.replicas)
            if _complete(spec, status_now(), generation):
                cleanup = _cleanup(spec, olds)

    current = find_condition(conditions, _PROGRESSING)
    status = status_now()
    if rollout:
        everything = [*olds, *([new] if new is not None else [])]
        status = _rollout_status(
            spec, name, status, previous, current, new, everything, now, generation
        )
    return DeploymentPlan(
        create_replicaset=created,
        scale=tuple(work.changed.items()),
        delete_replicasets=cleanup,
        set_revision=set_revision,
        revision=new.revision if new is not None else next_revision - 1,
        desired_replicas=spec.replicas,
        max_replicas=spec.replicas + surge,
        status=status,
        progress=ProgressState(status),
        requeue_after=_requeue_after(spec, status, now, generation),
    )


def _by_creation(rs: OwnedReplicaSet) -> tuple[float, str]:
    """Kubernetes' ReplicaSetsByCreationTimestamp: oldest first, ties by name."""
    return (rs.created_at, rs.name)


def _condition(
    kind: str, status: bool, reason: ConditionReason, message: str, now: float
) -> WorkloadCondition:
    return WorkloadCondition(
        type=kind,
        status=status,
        reason=reason.value,
        message=message,
        last_transition_time=now,
        last_update_time=now,
    )


def _set(conditions: list[WorkloadCondition], condition: WorkloadCondition) -> None:
    """Kubernetes' SetDeploymentCondition: same status and reason leaves the old one as it is."""
    current = find_condition(conditions, condition.type)
    if current is not None and current.status == condition.status:
        if current.reason == condition.reason:
            return
        condition = attrs.evolve(condition, last_transition_time=current.last_transition_time)
    conditions[:] = [c for c in conditions if c.type != condition.type]
    conditions.append(condition)


def _remove(conditions: list[WorkloadCondition], kind: str) -> None:
    conditions[:] = [c for c in conditions if c.type != kind]


def _is_scaling_event(spec: DeploymentSpec, replicasets: Iterable[OwnedReplicaSet]) -> bool:
    """An active ReplicaSet was last scaled by this Deployment for a different replica count."""
    return any(
        rs.replicas > 0 and rs.desired_replicas is not None and rs.desired_replicas != spec.replicas
        for rs in replicasets
    )


def _is_saturated(spec: DeploymentSpec, work: _Sync, rs: OwnedReplicaSet | None) -> bool:
    return (
        rs is not None
        and rs.desired_replicas == spec.replicas
        and work.size(rs) == spec.replicas
        and rs.status.available_replicas == spec.replicas
    )


def _scale(
    work: _Sync,
    spec: DeploymentSpec,
    new: OwnedReplicaSet | None,
    olds: Sequence[OwnedReplicaSet],
    previous: DeploymentStatus | None,
) -> None:
    """Kubernetes' DeploymentController.scale (sync.go), for a change of `replicas`."""
    everything = [*olds, *([new] if new else [])]
    active = [rs for rs in everything if work.size(rs) > 0]
    if len(active) <= 1 and everything:
        # FindActiveOrLatest: the only active one, else the new one, else the newest old one.
        target = active[0] if active else (new or max(olds, key=_by_creation))
        if work.size(target) != spec.replicas:
            work.scale_or_annotate(target, spec.replicas)
        return
    if _is_saturated(spec, work, new):
        for rs in olds:
            if work.size(rs) > 0:
                work.scale_or_annotate(rs, 0)
        return
    if spec.strategy.type is not StrategyType.ROLLING_UPDATE:
        return
    allowed = spec.replicas + work.surge if spec.replicas > 0 else 0
    to_add = allowed - work.total(active)
    if to_add > 0:  # larger first; of equal size, the newer first
        by_name = sorted(active, key=lambda rs: rs.name, reverse=True)
        active = sorted(by_name, key=lambda rs: (-work.size(rs), -rs.created_at))
    elif to_add < 0:  # larger first; of equal size, the older first
        active = sorted(active, key=lambda rs: (-work.size(rs), rs.created_at, rs.name))
    added = 0
    sizes: dict[str, int] = {}
    for rs in active:
        share = _proportion(work, spec, rs, to_add, added, previous)
        sizes[rs.name] = work.size(rs) + share
        added += share
    for index, rs in enumerate(active):
        if index == 0 and to_add != 0:
            sizes[rs.name] = max(sizes[rs.name] + to_add - added, 0)
        work.scale_or_annotate(rs, sizes[rs.name])


def _proportion(
    work: _Sync,
    spec: DeploymentSpec,
    rs: OwnedReplicaSet,
    to_add: int,
    added: int,
    previous: DeploymentStatus | None,
) -> int:
    """Kubernetes' GetReplicaSetProportion: this ReplicaSet's share of `to_add`."""
    size = work.size(rs)
    if size == 0 or to_add == 0 or to_add == added:
        return 0
    if spec.replicas == 0:
        fraction = -size
    else:
        before = rs.max_replicas or (previous.replicas if previous is not None else 0)
        if before == 0:
            return 0
        scaled = size * (spec.replicas + work.surge) / before
        fraction = int(scaled + 0.5) - size  # Go's math.Round for a positive number
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _new_rs_replicas(
    work: _Sync, spec: DeploymentSpec, olds: Sequence[OwnedReplicaSet], size: int
) -> int:
    """Kubernetes' NewRSNewReplicas for a new ReplicaSet of `size` next to `olds`."""
    if spec.strategy.type is StrategyType.RECREATE:
        return spec.replicas
    current = work.total(olds) + size
    most = spec.replicas + work.surge
    if current >= most:
        return size
    return size + min(most - current, spec.replicas - size)


def _reconcile_new(
    work: _Sync, spec: DeploymentSpec, all_rs: Sequence[OwnedReplicaSet], new: OwnedReplicaSet
) -> bool:
    if work.size(new) == spec.replicas:
        return False
    if work.size(new) > spec.replicas:
        return work.scale(new, spec.replicas)
    olds = [rs for rs in all_rs if rs is not new]
    return work.scale(new, _new_rs_replicas(work, spec, olds, work.size(new)))


def _reconcile_old(
    work: _Sync,
    spec: DeploymentSpec,
    all_rs: Sequence[OwnedReplicaSet],
    active_olds: Sequence[OwnedReplicaSet],
    new: OwnedReplicaSet,
    unavailable: int,
) -> bool:
    """Kubernetes' reconcileOldReplicaSets, cleanupUnhealthyReplicas and the rolling scale-down."""
    if work.total(active_olds) == 0:
        return False
    min_available = spec.replicas - unavailable
    new_unavailable = work.size(new) - new.status.available_replicas
    max_scaled_down = work.total(all_rs) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    olds = sorted(active_olds, key=_by_creation)
    cleaned = 0
    for rs in olds:  # unavailable pods first: removing them costs no availability
        if cleaned >= max_scaled_down:
            break
        size = work.size(rs)
        if size == 0 or size == rs.status.available_replicas:
            continue
        count = min(max_scaled_down - cleaned, size - rs.status.available_replicas)
        if count < 0:  # more available than wanted: Kubernetes gives up on this sync
            return False
        work.scale(rs, size - count)
        cleaned += count
    available = sum(rs.status.available_replicas for rs in [*olds, new])
    scaled_down = 0
    if available > min_available:
        wanted = available - min_available
        for rs in olds:
            if scaled_down >= wanted:
                break
            size = work.size(rs)
            if size == 0:
                continue
            count = min(size, wanted - scaled_down)
            work.scale(rs, size - count)
            scaled_down += count
    return cleaned + scaled_down > 0


def _old_pods_running(olds: Sequence[OwnedReplicaSet]) -> bool:
    """Kubernetes' oldPodsRunning: any old pod not finished, terminating ones included."""
    return any(rs.status.replicas > 0 or rs.status.terminating_replicas > 0 for rs in olds)


def _cleanup(spec: DeploymentSpec, olds: Sequence[OwnedReplicaSet]) -> tuple[str, ...]:
    """Kubernetes' cleanupDeployment: old ReplicaSets at 0 beyond the history limit."""
    if spec.revision_history_limit >= UNLIMITED:
        return ()
    excess = len(olds) - spec.revision_history_limit
    if excess <= 0:
        return ()
    by_revision = sorted(olds, key=lambda rs: (rs.revision, *_by_creation(rs)))
    return tuple(
        rs.name for rs in by_revision[:excess] if rs.replicas == 0 and rs.status.replicas == 0
    )


def _calculate(
    spec: DeploymentSpec,
    all_rs: Sequence[OwnedReplicaSet],
    new: OwnedReplicaSet | None,
    conditions: Sequence[WorkloadCondition],
    unavailable: int,
    generation: int,
    now: float,
) -> DeploymentStatus:
    """Kubernetes' calculateStatus (sync.go), with the Available condition."""
    available = sum(rs.status.available_replicas for rs in all_rs)
    wanted = sum(rs.replicas for rs in all_rs)
    result = list(conditions)
    if available >= spec.replicas - unavailable:
        reason, message = (
            ConditionReason.MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.",
        )
        _set(result, _condition(_AVAILABLE, True, reason, message, now))
    else:
        reason = ConditionReason.MINIMUM_REPLICAS_UNAVAILABLE
        message = "Deployment does not have minimum availability."
        _set(result, _condition(_AVAILABLE, False, reason, message, now))
    return DeploymentStatus(
        replicas=sum(rs.status.replicas for rs in all_rs),
        updated_replicas=new.status.replicas if new is not None else 0,
        ready_replicas=sum(rs.status.ready_replicas for rs in all_rs),
        available_replicas=available,
        unavailable_replicas=max(wanted - available, 0),
        observed_generation=generation,
        conditions=tuple(result),
    )


def _complete(spec: DeploymentSpec, status: DeploymentStatus, generation: int) -> bool:
    """Kubernetes' DeploymentComplete."""
    return (
        status.updated_replicas == spec.replicas
        and status.replicas == spec.replicas
        and status.available_replicas == spec.replicas
        and status.observed_generation >= generation
    )


def _progressing(previous: DeploymentStatus | None, status: DeploymentStatus) -> bool:
    """Kubernetes' DeploymentProgressing: some count moved the right way since the last status."""
    before = previous or DeploymentStatus()
    old_before = before.replicas - before.updated_replicas
    old_now = status.replicas - status.updated_replicas
    return (
        status.updated_replicas > before.updated_replicas
        or old_now < old_before
        or status.ready_replicas > before.ready_replicas
        or status.available_replicas > before.available_replicas
    )


def _timed_out(spec: DeploymentSpec, status: DeploymentStatus, now: float) -> bool:
    """Kubernetes' DeploymentTimedOut."""
    condition = status.condition(_PROGRESSING)
    if condition is None or condition.reason == ConditionReason.NEW_REPLICA_SET_AVAILABLE:
        return False
    if condition.reason == ConditionReason.PROGRESS_DEADLINE_EXCEEDED:
        return True
    since = condition.last_update_time
    return since is not None and since + spec.progress_deadline_seconds < now


def _rollout_status(
    spec: DeploymentSpec,
    name: str,
    status: DeploymentStatus,
    previous: DeploymentStatus | None,
    current: WorkloadCondition | None,
    new: OwnedReplicaSet | None,
    all_rs: Sequence[OwnedReplicaSet],
    now: float,
    generation: int,
) -> DeploymentStatus:
    """Kubernetes' syncRolloutStatus (progress.go): Progressing and ReplicaFailure."""
    conditions = list(status.conditions)
    deadline = spec.progress_deadline_seconds < UNLIMITED
    if not deadline:
        _remove(conditions, _PROGRESSING)
    done = (
        status.replicas == status.updated_replicas
        and current is not None
        and current.reason == ConditionReason.NEW_REPLICA_SET_AVAILABLE
    )
    subject = f'ReplicaSet "{new.name}"' if new is not None else f'Deployment "{name}"'
    if deadline and not done:
        if _complete(spec, status, generation):
            message = f"{subject} has successfully progressed."
            _set(
                conditions,
                _condition(
                    _PROGRESSING, True, ConditionReason.NEW_REPLICA_SET_AVAILABLE, message, now
                ),
            )
        elif _progressing(previous, status):
            message = f"{subject} is progressing."
            condition = _condition(
                _PROGRESSING, True, ConditionReason.REPLICA_SET_UPDATED, message, now
            )
            if current is not None:
                if current.status:
                    condition = attrs.evolve(
                        condition, last_transition_time=current.last_transition_time
                    )
                _remove(conditions, _PROGRESSING)
            _set(conditions, condition)
        elif _timed_out(spec, attrs.evolve(status, conditions=tuple(conditions)), now):
            message = f"{subject} has timed out progressing."
            _set(
                conditions,
                _condition(
                    _PROGRESSING, False, ConditionReason.PROGRESS_DEADLINE_EXCEEDED, message, now
                ),
            )
    failures = _replica_failures(new, all_rs)
    if failures:
        _set(
            conditions, attrs.evolve(failures[0], last_update_time=failures[0].last_transition_time)
        )
    else:
        _remove(conditions, _REPLICA_FAILURE)
    return attrs.evolve(status, conditions=tuple(conditions))


def _replica_failures(
    new: OwnedReplicaSet | None, all_rs: Sequence[OwnedReplicaSet]
) -> list[WorkloadCondition]:
    """ReplicaFailure conditions of the new ReplicaSet, else of any ReplicaSet."""
    for group in ([new] if new is not None else [], all_rs):
        found = [c for rs in group for c in rs.status.conditions if c.type == _REPLICA_FAILURE]
        if found:
            return found
    return []


def _requeue_after(
    spec: DeploymentSpec, status: DeploymentStatus, now: float, generation: int
) -> float | None:
    """Kubernetes' requeueStuckDeployment: wake up when the progress deadline would pass."""
    condition = status.condition(_PROGRESSING)
    if (
        spec.progress_deadline_seconds >= UNLIMITED
        or condition is None
        or condition.last_update_time is None
        or condition.reason
        in (ConditionReason.PROGRESS_DEADLINE_EXCEEDED, ConditionReason.NEW_REPLICA_SET_AVAILABLE)
        or _complete(spec, status, generation)
    ):
        return None
    remaining = condition.last_update_time + spec.progress_deadline_seconds - now
    return max(remaining, 0.0) + REQUEUE_SLACK_SECONDS
