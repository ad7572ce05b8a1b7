"""ReplicaSet and Deployment views -> Kubernetes JSON, as `kubectl get -o json` shows them.

The spec is serde's (`unstructure_replicaset`, `unstructure_deployment`); this adds what the API
server would: uid, generation, creationTimestamp, the controller ownerReference of a Deployment's
ReplicaSet, the Deployment's revision annotation, and the status with Kubernetes' field names.

Traps: Kubernetes omits zero counts (`omitempty`) everywhere in these statuses except a
ReplicaSet's `replicas`, and so does this module; clients read a missing count as 0. Times are
whole-second RFC 3339 in UTC (`serde.rfc3339`).
"""

from __future__ import annotations

from typing import Any

from controller.model.identity import owner_reference
from controller.model.meta import ObjectMeta
from controller.model.workload_status import (
    REVISION_ANNOTATION,
    DeploymentStatus,
    DeploymentView,
    ReplicaSetStatus,
    ReplicaSetView,
    WorkloadCondition,
)
from controller.serde import rfc3339, unstructure_deployment, unstructure_replicaset

JSON = dict[str, Any]


def _condition(c: WorkloadCondition, *, with_update_time: bool) -> JSON:
    out: JSON = {"type": c.type, "status": "True" if c.status else "False"}
    if with_update_time and c.last_update_time is not None:
        out["lastUpdateTime"] = rfc3339(c.last_update_time)
    if c.last_transition_time is not None:
        out["lastTransitionTime"] = rfc3339(c.last_transition_time)
    if c.reason:
        out["reason"] = c.reason
    if c.message:
        out["message"] = c.message
    return out


def _metadata(
    raw: JSON,
    meta: ObjectMeta,
    *,
    uid: str,
    generation: int,
    created_at: float | None,
    owner: str = "",
    annotations: dict[str, str] | None = None,
) -> JSON:
    """Kubernetes' key order: name, namespace, uid, generation, creationTimestamp, labels, ..."""
    out: JSON = {"name": meta.name, "namespace": meta.namespace, "uid": uid}
    if generation:
        out["generation"] = generation
    if created_at is not None:
        out["creationTimestamp"] = rfc3339(created_at)
    if "labels" in raw:
        out["labels"] = raw["labels"]
    notes = {**raw.get("annotations", {}), **(annotations or {})}
    if notes:
        out["annotations"] = notes
    ref = owner_reference(owner, meta.namespace)
    if ref is not None:
        out["ownerReferences"] = [ref]
    return out


def replicaset_status_to_k8s(status: ReplicaSetStatus) -> JSON:
    """Kubernetes' ReplicaSetStatus: `replicas` always, the other counts only when non-zero."""
    out: JSON = {"replicas": status.replicas}
    for key, value in (
        ("fullyLabeledReplicas", status.fully_labeled_replicas),
        ("readyReplicas", status.ready_replicas),
        ("availableReplicas", status.available_replicas),
        ("terminatingReplicas", status.terminating_replicas),
        ("observedGeneration", status.observed_generation),
    ):
        if value:
            out[key] = value
    if status.conditions:
        out["conditions"] = [_condition(c, with_update_time=False) for c in status.conditions]
    return out


def deployment_status_to_k8s(status: DeploymentStatus) -> JSON:
    """Kubernetes' DeploymentStatus: every count only when non-zero."""
    out: JSON = {}
    for key, value in (
        ("observedGeneration", status.observed_generation),
        ("replicas", status.replicas),
        ("updatedReplicas", status.updated_replicas),
        ("readyReplicas", status.ready_replicas),
        ("availableReplicas", status.available_replicas),
        ("unavailableReplicas", status.unavailable_replicas),
    ):
        if value:
            out[key] = value
    if status.conditions:
        out["conditions"] = [_condition(c, with_update_time=True) for c in status.conditions]
    return out


def replicaset_view_to_k8s(view: ReplicaSetView) -> JSON:
    """A full apps/v1 ReplicaSet (metadata, spec, status)."""
    rs = unstructure_replicaset(view.replicaset)
    rs["metadata"] = _metadata(
        rs["metadata"],
        view.replicaset.metadata,
        uid=view.uid,
        generation=view.generation,
        created_at=view.created_at,
        owner=view.owner,
    )
    rs["status"] = replicaset_status_to_k8s(view.status)
    return rs


def deployment_view_to_k8s(view: DeploymentView) -> JSON:
    """A full apps/v1 Deployment; `deployment.kubernetes.io/revision` once it has a revision."""
    deployment = unstructure_deployment(view.deployment)
    deployment["metadata"] = _metadata(
        deployment["metadata"],
        view.deployment.metadata,
        uid=view.uid,
        generation=view.generation,
        created_at=view.created_at,
        annotations={REVISION_ANNOTATION: str(view.revision)} if view.revision else None,
    )
    deployment["status"] = deployment_status_to_k8s(view.status)
    return deployment
