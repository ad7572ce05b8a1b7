"""compute_deployment_plan: one Deployment and the ReplicaSets it owns -> the next steps.

Kubernetes' Deployment controller (pkg/controller/deployment), as a pure function. This module is
the sync itself: which ReplicaSet is new, which step the strategy takes, and the plan that results.
The parts it calls live beside it, one concern each:

* plan.py: the plan, the ReplicaSet to create, and the copies the caller writes;
* scaling.py: scaling events, RollingUpdate, Recreate, revision history cleanup;
* status.py: status, conditions and the progress deadline.

The new ReplicaSet is the oldest one whose pod-template-hash equals the current template's hash.
Its revision is raised to max(old revisions) + 1 when lower, so going back to an earlier template
reuses that revision's ReplicaSet and makes it the newest revision (the folder's rollback). Without
one, a ReplicaSet `<deployment>-<hash>` is created (see `NewReplicaSet`). A scaling event is
handled on its own; otherwise the strategy's rollout step runs and the rollout status is synced.

How the caller uses it: call with the ReplicaSets the Deployment owns, their statuses computed from
the pods as of `now` (`compute_replicaset_status`), and the last `plan.progress` (None at first).
The owned ReplicaSets run with the Deployment's minReadySeconds. Then: create
`plan.create_replicaset` (owned by the Deployment), set the revision named by `plan.set_revision`,
scale each `(name, replicas)` of `plan.scale` (with `scaled_replicaset`, which also records
desired/max replicas), delete `plan.delete_replicasets`, and store `plan.progress`. If the plan did anything (`plan.acted`),
sync again at once (Kubernetes is woken by its own ReplicaSet updates); sync again whenever an
owned ReplicaSet's status changes, and after `plan.requeue_after` seconds when it is set.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from controller.decide.deployments.plan import (
    UNLIMITED,
    DeploymentPlan,
    NewReplicaSet,
    max_surge,
    max_unavailable,
    new_replicaset,
)
from controller.decide.deployments.scaling import (
    SyncSizes,
    by_creation,
    history_cleanup,
    is_scaling_event,
    new_rs_replicas,
    old_pods_running,
    reconcile_new,
    reconcile_old,
    scale_for_replica_change,
)
from controller.decide.deployments.status import (
    calculate_status,
    deployment_complete,
    new_condition,
    requeue_stuck_after,
    rollout_status,
    set_condition,
)
from controller.model.meta import ObjectKey
from controller.model.workload_status import (
    ConditionReason,
    DeploymentStatus,
    OwnedReplicaSet,
    ProgressState,
    ReplicaSetStatus,
    WorkloadConditionType,
    find_condition,
)
from controller.model.workloads import Deployment, StrategyType

_PROGRESSING = WorkloadConditionType.PROGRESSING.value


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
    ordered = sorted(replicasets, key=by_creation)
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
            set_condition(
                conditions,
                new_condition(
                    _PROGRESSING, True, ConditionReason.FOUND_NEW_REPLICA_SET, message, now
                ),
            )

    created: NewReplicaSet | None = None

    def create(replicas: int) -> OwnedReplicaSet:
        nonlocal created
        created = new_replicaset(deployment, template_hash, replicas, next_revision)
        if deadline:
            message = f'Created new replica set "{created.name}"'
            set_condition(
                conditions,
                new_condition(
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

    work = SyncSizes(spec, ordered)
    cleanup: tuple[str, ...] = ()

    def status_now() -> DeploymentStatus:
        everything = [*olds, *([new] if new is not None else [])]
        return calculate_status(spec, everything, new, conditions, unavailable, generation, now)

    rollout = not is_scaling_event(spec, [*olds, *([new] if new is not None else [])])
    if not rollout:
        scale_for_replica_change(work, spec, new, olds, previous)
    elif spec.strategy.type is StrategyType.ROLLING_UPDATE:
        if new is None:
            new = create(new_rs_replicas(work, spec, olds, 0))
            work.replicas[new.name] = new.replicas
        scaled = reconcile_new(work, spec, [*olds, new], new)
        if not scaled:
            active_olds = [rs for rs in olds if rs.replicas > 0]
            scaled = reconcile_old(work, spec, [*olds, new], active_olds, new, unavailable)
        if not scaled and deployment_complete(spec, status_now(), generation):
            cleanup = history_cleanup(spec, olds)
    else:
        scaled = False
        for rs in olds:
            if rs.replicas > 0:
                scaled = work.scale(rs, 0) or scaled
        if not scaled and not old_pods_running(olds):
            if new is None:
                new = create(spec.replicas)
                work.replicas[new.name] = new.replicas
            work.scale(new, spec.replicas)
            if deployment_complete(spec, status_now(), generation):
                cleanup = history_cleanup(spec, olds)

    current = find_condition(conditions, _PROGRESSING)
    status = status_now()
    if rollout:
        everything = [*olds, *([new] if new is not None else [])]
        status = rollout_status(
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
        requeue_after=requeue_stuck_after(spec, status, now, generation),
    )
