"""How one sync resizes a Deployment's ReplicaSets: scaling events, RollingUpdate, Recreate, history.

`compute_deployment_plan` (deployments.py) picks the step; the steps here are Kubernetes' (sync.go,
rolling.go, recreate.go in pkg/controller/deployment) and record every size they change in a
`SyncSizes`, which becomes `plan.scale`. They are separate from the status logic
(status.py) because they only decide sizes: they read the ReplicaSets' statuses and
never say how the rollout stands.

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

Trap: `OwnedReplicaSet.replicas` is a size as the sync started; a size an earlier step of the same
sync changed is only in `SyncSizes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from controller.decide.deployments.plan import UNLIMITED, max_surge
from controller.model.workload_status import DeploymentStatus, OwnedReplicaSet
from controller.model.workloads import DeploymentSpec, StrategyType


class SyncSizes:
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


def by_creation(rs: OwnedReplicaSet) -> tuple[float, str]:
    """Kubernetes' ReplicaSetsByCreationTimestamp: oldest first, ties by name."""
    return (rs.created_at, rs.name)


def is_scaling_event(spec: DeploymentSpec, replicasets: Iterable[OwnedReplicaSet]) -> bool:
    """An active ReplicaSet was last scaled by this Deployment for a different replica count."""
    return any(
        rs.replicas > 0 and rs.desired_replicas is not None and rs.desired_replicas != spec.replicas
        for rs in replicasets
    )


def _is_saturated(spec: DeploymentSpec, work: SyncSizes, rs: OwnedReplicaSet | None) -> bool:
    return (
        rs is not None
        and rs.desired_replicas == spec.replicas
        and work.size(rs) == spec.replicas
        and rs.status.available_replicas == spec.replicas
    )


def scale_for_replica_change(
    work: SyncSizes,
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
        target = active[0] if active else (new or max(olds, key=by_creation))
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
    work: SyncSizes,
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


def new_rs_replicas(
    work: SyncSizes, spec: DeploymentSpec, olds: Sequence[OwnedReplicaSet], size: int
) -> int:
    """Kubernetes' NewRSNewReplicas for a new ReplicaSet of `size` next to `olds`."""
    if spec.strategy.type is StrategyType.RECREATE:
        return spec.replicas
    current = work.total(olds) + size
    most = spec.replicas + work.surge
    if current >= most:
        return size
    return size + min(most - current, spec.replicas - size)


def reconcile_new(
    work: SyncSizes, spec: DeploymentSpec, all_rs: Sequence[OwnedReplicaSet], new: OwnedReplicaSet
) -> bool:
    """Kubernetes' reconcileNewReplicaSet: scale the new ReplicaSet towards `replicas`."""
    if work.size(new) == spec.replicas:
        return False
    if work.size(new) > spec.replicas:
        return work.scale(new, spec.replicas)
    olds = [rs for rs in all_rs if rs is not new]
    return work.scale(new, new_rs_replicas(work, spec, olds, work.size(new)))


def reconcile_old(
    work: SyncSizes,
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
    olds = sorted(active_olds, key=by_creation)
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


def old_pods_running(olds: Sequence[OwnedReplicaSet]) -> bool:
    """Kubernetes' oldPodsRunning: any old pod not finished, terminating ones included."""
    return any(rs.status.replicas > 0 or rs.status.terminating_replicas > 0 for rs in olds)


def history_cleanup(spec: DeploymentSpec, olds: Sequence[OwnedReplicaSet]) -> tuple[str, ...]:
    """Kubernetes' cleanupDeployment: old ReplicaSets at 0 beyond the history limit."""
    if spec.revision_history_limit >= UNLIMITED:
        return ()
    excess = len(olds) - spec.revision_history_limit
    if excess <= 0:
        return ()
    by_revision = sorted(olds, key=lambda rs: (rs.revision, *by_creation(rs)))
    return tuple(
        rs.name for rs in by_revision[:excess] if rs.replicas == 0 and rs.status.replicas == 0
    )
