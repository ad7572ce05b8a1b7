"""DeploymentPlan, and the ReplicaSets the caller writes to carry one out.

`compute_deployment_plan` (deployments.py) decides; this module holds what it hands back
(`DeploymentPlan`, `NewReplicaSet`), the pure builders the caller applies a plan with, and the
resolved strategy values every part of the decision reads (`max_surge`, `max_unavailable`,
`UNLIMITED`). It is separate so that applying a plan needs nothing of the decision itself.

* Without a ReplicaSet for the current template, a ReplicaSet `<deployment>-<hash>` is created
  (`new_replicaset`, Kubernetes' getNewReplicaSet): the template with `pod-template-hash` added to
  its labels and to the selector, the Deployment's minReadySeconds, and the Deployment's
  annotations except those Kubernetes never copies (last-applied configuration, revision, revision
  history, desired/max replicas, rollback-to), plus its own revision and replica annotations.

Traps: scale each `(name, replicas)` of `plan.scale` with `scaled_replicaset`, never by setting
spec.replicas alone. It also records desired/max replicas, and the next sync reads an active
ReplicaSet whose recorded desired replicas differ from the Deployment's `replicas` as a scaling
event. Set the revision named by `plan.set_revision` with `revised_replicaset`.
"""

from __future__ import annotations

import attrs

from controller.model.meta import ObjectMeta
from controller.model.workload_status import (
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    POD_TEMPLATE_HASH_LABEL,
    REVISION_ANNOTATION,
    DeploymentStatus,
    OwnerRef,
    ProgressState,
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
