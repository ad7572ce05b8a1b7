"""A Deployment's status and conditions: counts, Available, Progressing, ReplicaFailure, deadline.

Kubernetes' calculateStatus (sync.go) and syncRolloutStatus (progress.go) as pure functions of the
ReplicaSets' statuses as of `now`. Separate from the scaling steps (scaling.py) because
it resizes nothing: it says how the rollout stands and when to look at it again.

* Status: counts summed over the ReplicaSets, Available while available >= replicas -
  maxUnavailable, Progressing with Kubernetes' reasons, False/ProgressDeadlineExceeded after
  progressDeadlineSeconds without progress, and the new ReplicaSet's ReplicaFailure conditions
  (else any ReplicaSet's) copied.

Traps: set conditions only through `set_condition` (Kubernetes' SetDeploymentCondition): a
condition whose status and reason are unchanged stays as it is, times included, and one whose
reason alone changes keeps its transition time. Without a progress deadline (`UNLIMITED`) syncing
the rollout status drops Progressing and no deadline requeue is asked for; the requeue otherwise
adds `REQUEUE_SLACK_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from controller.decide.deployments.plan import UNLIMITED
from controller.model.workload_status import (
    ConditionReason,
    DeploymentStatus,
    OwnedReplicaSet,
    WorkloadCondition,
    WorkloadConditionType,
    find_condition,
)
from controller.model.workloads import DeploymentSpec

REQUEUE_SLACK_SECONDS = 1.0
"""Added to the progress-deadline requeue, as Kubernetes does against timer skew."""


_PROGRESSING = WorkloadConditionType.PROGRESSING.value
_AVAILABLE = WorkloadConditionType.AVAILABLE.value
_REPLICA_FAILURE = WorkloadConditionType.REPLICA_FAILURE.value


def new_condition(
    kind: str, status: bool, reason: ConditionReason, message: str, now: float
) -> WorkloadCondition:
    """Kubernetes' NewDeploymentCondition: both times are `now`; `set_condition` keeps older ones."""
    return WorkloadCondition(
        type=kind,
        status=status,
        reason=reason.value,
        message=message,
        last_transition_time=now,
        last_update_time=now,
    )


def set_condition(conditions: list[WorkloadCondition], condition: WorkloadCondition) -> None:
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


def calculate_status(
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
        set_condition(result, new_condition(_AVAILABLE, True, reason, message, now))
    else:
        reason = ConditionReason.MINIMUM_REPLICAS_UNAVAILABLE
        message = "Deployment does not have minimum availability."
        set_condition(result, new_condition(_AVAILABLE, False, reason, message, now))
    return DeploymentStatus(
        replicas=sum(rs.status.replicas for rs in all_rs),
        updated_replicas=new.status.replicas if new is not None else 0,
        ready_replicas=sum(rs.status.ready_replicas for rs in all_rs),
        available_replicas=available,
        unavailable_replicas=max(wanted - available, 0),
        observed_generation=generation,
        conditions=tuple(result),
    )


def deployment_complete(spec: DeploymentSpec, status: DeploymentStatus, generation: int) -> bool:
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


def rollout_status(
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
        if deployment_complete(spec, status, generation):
            message = f"{subject} has successfully progressed."
            set_condition(
                conditions,
                new_condition(
                    _PROGRESSING, True, ConditionReason.NEW_REPLICA_SET_AVAILABLE, message, now
                ),
            )
        elif _progressing(previous, status):
            message = f"{subject} is progressing."
            condition = new_condition(
                _PROGRESSING, True, ConditionReason.REPLICA_SET_UPDATED, message, now
            )
            if current is not None:
                if current.status:
                    condition = attrs.evolve(
                        condition, last_transition_time=current.last_transition_time
                    )
                _remove(conditions, _PROGRESSING)
            set_condition(conditions, condition)
        elif _timed_out(spec, attrs.evolve(status, conditions=tuple(conditions)), now):
            message = f"{subject} has timed out progressing."
            set_condition(
                conditions,
                new_condition(
                    _PROGRESSING, False, ConditionReason.PROGRESS_DEADLINE_EXCEEDED, message, now
                ),
            )
    failures = _replica_failures(new, all_rs)
    if failures:
        set_condition(
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


def requeue_stuck_after(
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
        or deployment_complete(spec, status, generation)
    ):
        return None
    remaining = condition.last_update_time + spec.progress_deadline_seconds - now
    return max(remaining, 0.0) + REQUEUE_SLACK_SECONDS
