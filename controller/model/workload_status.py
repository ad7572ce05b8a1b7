"""What the ReplicaSet and Deployment controllers read and report, as frozen types.

The engine condenses each pod into a `PodSummary` and each ReplicaSet a Deployment owns into an
`OwnedReplicaSet`; the pure controllers in `controller.decide.replicasets` and
`controller.decide.deployments.sync` turn those into plans and statuses shaped like Kubernetes'
`ReplicaSetStatus` and `DeploymentStatus`. Annotation and label names are Kubernetes' own, so tools
written for Kubernetes read them unchanged.

Times are epoch seconds handed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

import attrs

from controller.model.status import PodPhase
from controller.model.workloads import Deployment, PodTemplateSpec, ReplicaSet

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
"""Label a Deployment adds to its ReplicaSets' selector, template and pods (Kubernetes' name)."""
POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
"""Pod annotation: an int32; pods with a lower cost are deleted first when a ReplicaSet shrinks."""
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
"""ReplicaSet (and Deployment) annotation: the rollout sequence number."""
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
"""ReplicaSet annotation: the Deployment's replicas when it last scaled this ReplicaSet."""
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
"""ReplicaSet annotation: the Deployment's replicas + maxSurge when it last scaled this ReplicaSet."""

_INT32 = re.compile(r"[+-]?[0-9]+")


def parse_int32(value: str | None) -> int | None:
    """Kubernetes' strconv.ParseInt(value, 10, 32): None when absent, malformed or out of range."""
    if value is None or not _INT32.fullmatch(value):
        return None
    number = int(value)
    return number if -(2**31) <= number < 2**31 else None


def deletion_cost(annotations: Mapping[str, str]) -> int:
    """The pod-deletion-cost annotation; absent or invalid counts as 0, as in Kubernetes' ranking."""
    return parse_int32(annotations.get(POD_DELETION_COST_ANNOTATION)) or 0


@attrs.frozen(order=True)
class OwnerRef:
    """The controller of an object (Kubernetes' controller ownerReference, without the uid).

    `str()` gives `Kind/name`, the form the engine may store in a pod's owner label; `parse` reads
    it back. The namespace is always the owned object's own.
    """

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> OwnerRef | None:
        kind, sep, name = text.partition("/")
        if not sep or not kind or not name or "/" in name:
            return None
        return cls(kind, name)


def _template_hash_of(pod: PodSummary) -> str:
    return pod.labels.get(POD_TEMPLATE_HASH_LABEL, "")


def _scheduled_of(pod: PodSummary) -> bool:
    return pod.node is not None


@attrs.frozen
class PodSummary:
    """One pod as the workload controllers see it (one instance; a replaced pod is a new summary)."""

    name: str
    namespace: str = "default"
    uid: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    owner: OwnerRef | None = None
    phase: PodPhase = PodPhase.PENDING
    ready: bool = False
    ready_since: float | None = None
    """When the pod's Ready condition last turned true (its lastTransitionTime); None if unknown."""
    restart_count: int = 0
    """The highest restart count among its containers."""
    node: str | None = None
    created_at: float = 0.0
    deletion_cost: int = 0
    """From the `controller.kubernetes.io/pod-deletion-cost` annotation (see `deletion_cost`)."""
    terminating: bool = False
    """Its deletion has begun (Kubernetes' deletionTimestamp is set): it no longer counts."""
    template_hash: str = attrs.field(default=attrs.Factory(_template_hash_of, takes_self=True))
    """The `pod-template-hash` label, or ""."""
    scheduled: bool = attrs.field(default=attrs.Factory(_scheduled_of, takes_self=True))
    """Bound to a node (defaults to `node is not None`)."""

    @property
    def finished(self) -> bool:
        return self.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)

    @property
    def active(self) -> bool:
        """Kubernetes' IsPodActive: not Succeeded, not Failed, not being deleted."""
        return not self.terminating and not self.finished


class WorkloadConditionType(enum.StrEnum):
    REPLICA_FAILURE = "ReplicaFailure"
    AVAILABLE = "Available"
    PROGRESSING = "Progressing"


class ConditionReason(enum.StrEnum):
    """Kubernetes' reason strings for ReplicaSet and Deployment conditions."""

    FAILED_CREATE = "FailedCreate"
    FAILED_DELETE = "FailedDelete"
    NEW_REPLICA_SET_CREATED = "NewReplicaSetCreated"
    FOUND_NEW_REPLICA_SET = "FoundNewReplicaSet"
    REPLICA_SET_UPDATED = "ReplicaSetUpdated"
    NEW_REPLICA_SET_AVAILABLE = "NewReplicaSetAvailable"
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
    MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"


@attrs.frozen
class WorkloadCondition:
    type: str
    status: bool
    reason: str = ""
    message: str = ""
    last_transition_time: float | None = None
    last_update_time: float | None = None
    """Deployments only: when the condition was last refreshed (progress is measured from it)."""


def find_condition(conditions: Iterable[WorkloadCondition], kind: str) -> WorkloadCondition | None:
    return next((c for c in conditions if c.type == kind), None)


@attrs.frozen
class ReplicaSetStatus:
    replicas: int = 0
    """Active pods (not finished, not terminating) the ReplicaSet owns."""
    fully_labeled_replicas: int = 0
    """Active pods whose labels include all of the template's labels."""
    ready_replicas: int = 0
    available_replicas: int = 0
    """Ready for at least minReadySeconds."""
    terminating_replicas: int = 0
    """Owned pods being deleted that have not finished yet (Kubernetes' terminatingReplicas)."""
    observed_generation: int = 0
    conditions: tuple[WorkloadCondition, ...] = ()

    def condition(self, kind: str) -> WorkloadCondition | None:
        return find_condition(self.conditions, kind)


@attrs.frozen
class DeploymentStatus:
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    observed_generation: int = 0
    conditions: tuple[WorkloadCondition, ...] = ()

    def condition(self, kind: str) -> WorkloadCondition | None:
        return find_condition(self.conditions, kind)


@attrs.frozen
class ProgressState:
    """What the Deployment controller remembers between syncs: the status it last reported.

    Kubernetes keeps this in the Deployment's .status: progress is "some count moved the right way
    since then", and the Progressing condition's last_update_time is when progress was last seen.
    The caller stores `DeploymentPlan.progress` and hands it to the next sync; losing it (a
    restart) only restarts the progress clock.
    """

    status: DeploymentStatus

    @property
    def last_progress_at(self) -> float | None:
        cond = self.status.condition(WorkloadConditionType.PROGRESSING)
        return cond.last_update_time if cond is not None else None


@attrs.frozen
class OwnedReplicaSet:
    """A ReplicaSet a Deployment owns, as the Deployment controller reads it."""

    name: str
    template_hash: str
    replicas: int
    """Its spec.replicas."""
    status: ReplicaSetStatus
    created_at: float
    template: PodTemplateSpec
    revision: int = 0
    """The `deployment.kubernetes.io/revision` annotation (0 when absent or malformed)."""
    desired_replicas: int | None = None
    """The `deployment.kubernetes.io/desired-replicas` annotation, if any."""
    max_replicas: int | None = None
    """The `deployment.kubernetes.io/max-replicas` annotation, if any."""

    @classmethod
    def from_replicaset(
        cls, rs: ReplicaSet, status: ReplicaSetStatus, created_at: float
    ) -> OwnedReplicaSet:
        """Read name, hash, replicas, template and the deployment annotations off `rs`."""
        notes = rs.metadata.annotations
        labels = rs.spec.template.metadata.labels
        return cls(
            name=rs.metadata.name,
            template_hash=labels.get(POD_TEMPLATE_HASH_LABEL, ""),
            replicas=rs.spec.replicas,
            status=status,
            created_at=created_at,
            template=rs.spec.template,
            revision=parse_int32(notes.get(REVISION_ANNOTATION)) or 0,
            desired_replicas=parse_int32(notes.get(DESIRED_REPLICAS_ANNOTATION)),
            max_replicas=parse_int32(notes.get(MAX_REPLICAS_ANNOTATION)),
        )


@attrs.frozen
class Expectations:
    """Pods a ReplicaSet created or deleted and has not yet seen the effect of.

    Kubernetes counts creations and deletions down as watch events arrive. Podyard's controllers
    see snapshots, not events, so the expectation holds the *names*: a creation is observed once a
    pod of that name is listed, a deletion once the pod is gone or terminating. The caller records
    `Expectations.expect(...)` right after acting on a plan, and drops the record when the
    ReplicaSet is deleted.
    """

    creates: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    set_at: float = 0.0

    @classmethod
    def expect(
        cls, *, created: Iterable[str] = (), deleted: Iterable[str] = (), now: float
    ) -> Expectations:
        """Record the pods actually created (requests that failed are left out) and deleted."""
        return cls(frozenset(created), frozenset(deleted), now)

    @property
    def add(self) -> int:
        """Creations not yet observed (Kubernetes' `add` counter)."""
        return len(self.creates)

    @property
    def delete(self) -> int:
        """Deletions not yet observed (Kubernetes' `del` counter)."""
        return len(self.deletes)

    @property
    def fulfilled(self) -> bool:
        return not self.creates and not self.deletes

    def observe(self, pods: Iterable[PodSummary]) -> Expectations:
        """Drop what `pods` shows done: created names listed, deleted names gone or terminating."""
        listed = {p.name: p for p in pods}
        creates = frozenset(n for n in self.creates if n not in listed)
        deletes = frozenset(n for n in self.deletes if n in listed and not listed[n].terminating)
        if creates == self.creates and deletes == self.deletes:
            return self
        return attrs.evolve(self, creates=creates, deletes=deletes)

    def after_observed(
        self, *, created: Iterable[str] = (), deleted: Iterable[str] = ()
    ) -> Expectations:
        """Lower by names the caller knows are settled (e.g. a create whose request then failed)."""
        return attrs.evolve(
            self, creates=self.creates - set(created), deletes=self.deletes - set(deleted)
        )


@attrs.frozen
class ReplicaSetView:
    """A ReplicaSet as the API shows it."""

    replicaset: ReplicaSet
    status: ReplicaSetStatus
    uid: str
    generation: int
    owner: str = ""
    """`Deployment/<name>` for a Deployment's ReplicaSet, "" when declared in the folder."""
    source: str = ""
    created_at: float | None = None
    """When the controller first held it (its creationTimestamp), if known."""


@attrs.frozen
class DeploymentView:
    """A Deployment as the API shows it."""

    deployment: Deployment
    status: DeploymentStatus
    uid: str
    generation: int
    revision: int = 0
    source: str = ""
    created_at: float | None = None
    """When the controller first held it (its creationTimestamp), if known."""
