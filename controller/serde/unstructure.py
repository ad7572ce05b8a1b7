"""Model objects -> Kubernetes JSON: the objects, the spec hashes computed from it, and pod views.

`unstructure_pod`, `unstructure_replicaset` and `unstructure_deployment` write an object as
Kubernetes would show it (camelCase, Kubernetes' key order, unset fields and defaults omitted).
The spec hashes are hashes of exactly that form, so they live here: how an object is written and
what its hash is change together. `pod_view_to_k8s` adds what only a running pod has (uid, times,
owner, status) for the read API.

Traps:
- Hashes are sha256 of canonical JSON of the unstructured form, where defaults are omitted: adding a
  defaulted field to the model later does not change the hash of existing pods (no mass restart).
  The few defaults Kubernetes always shows (`restartPolicy`, `replicas`, `strategy.type`, ...) are
  written, so they are part of the hash from the start (`serde.fields.ALWAYS_SHOWN`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from controller.model.identity import object_uid, owner_reference
from controller.model.pod import Container, Pod, PodSpec
from controller.model.status import ContainerState, ContainerStatus, PodView, Running, Waiting
from controller.model.validation import TEMPLATE_HASH_LENGTH
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
)
from controller.serde.converter import converter

__all__ = [
    "container_spec_hash",
    "pod_spec_hash",
    "pod_view_to_k8s",
    "rfc3339",
    "template_hash",
    "unstructure_deployment",
    "unstructure_pod",
    "unstructure_replicaset",
    "workload_spec_hash",
]

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' SafeEncodeString alphabet: no vowels (no words), no 0/1/3 (no look-alikes)."""


def _unstructure_object(obj: object, cl: type) -> dict[str, Any]:
    """Kubernetes' key order: apiVersion, kind, metadata, spec, and `spec.replicas` first."""
    raw: dict[str, Any] = converter.unstructure(obj, cl)
    spec: dict[str, Any] = raw["spec"]
    if "replicas" in spec:
        raw["spec"] = {"replicas": spec.pop("replicas"), **spec}
    return {"apiVersion": raw.pop("apiVersion"), "kind": raw.pop("kind"), **raw}


def unstructure_pod(pod: Pod) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a pod: camelCase, unset fields and defaults omitted."""
    return _unstructure_object(pod, Pod)


def unstructure_replicaset(rs: ReplicaSet) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a ReplicaSet; `spec.replicas` is always shown, as Kubernetes does."""
    return _unstructure_object(rs, ReplicaSet)


def unstructure_deployment(deployment: Deployment) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a Deployment.

    `replicas`, `strategy.type`, `revisionHistoryLimit` and `progressDeadlineSeconds` are always
    shown, as Kubernetes shows them; `strategy.rollingUpdate` only when the manifest set it (the
    model keeps "absent" apart from "25%/25% written out", so the round trip is exact).
    """
    return _unstructure_object(deployment, Deployment)


def _canonical_json(value: object) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _canonical_hash(value: object) -> str:
    return hashlib.sha256(_canonical_json(value)).hexdigest()[:16]


def pod_spec_hash(spec: PodSpec) -> str:
    """16 hex chars identifying the spec; equal specs hash equal in every run and Python version."""
    return _canonical_hash(converter.unstructure(spec, PodSpec))


def container_spec_hash(container: Container) -> str:
    return _canonical_hash(converter.unstructure(container, Container))


def workload_spec_hash(obj: ReplicaSet | Deployment) -> str:
    """16 hex chars identifying a ReplicaSet's or Deployment's whole spec (replicas included).

    For change detection only (did the manifest's spec change?); metadata is not part of it.
    """
    if isinstance(obj, ReplicaSet):
        return _canonical_hash(converter.unstructure(obj.spec, ReplicaSetSpec))
    return _canonical_hash(converter.unstructure(obj.spec, DeploymentSpec))


def template_hash(template: PodTemplateSpec) -> str:
    """The `pod-template-hash`: 10 characters from `bcdfghjklmnpqrstvwxz2456789`.

    Safe in names (`<deployment>-<hash>`) and label values, and stable across runs and Python
    versions: sha256 of the canonical JSON of the unstructured template (labels, annotations and
    spec), read as a number and written in base 27. Equal templates hash equal whatever the key
    order of the manifest.

    Trap: hash the template as declared (a Deployment's), before a `pod-template-hash` label is added
    to it, as Kubernetes does: the label is part of the template, so adding it changes the hash.
    """
    digest = hashlib.sha256(_canonical_json(converter.unstructure(template, PodTemplateSpec)))
    number = int.from_bytes(digest.digest()[:8], "big")
    chars: list[str] = []
    for _ in range(TEMPLATE_HASH_LENGTH):
        number, index = divmod(number, len(_SAFE_ALPHABET))
        chars.append(_SAFE_ALPHABET[index])
    return "".join(chars)


def rfc3339(epoch: float) -> str:
    """Epoch seconds -> `2026-11-23T11:47:21Z` (UTC, whole seconds, as Kubernetes prints times)."""
    return datetime.fromtimestamp(int(epoch // 1), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _docker_id(container_id: str) -> str:
    return container_id if "://" in container_id else f"docker://{container_id}"


def _state(state: ContainerState | None) -> dict[str, Any]:
    if state is None:
        return {}
    if isinstance(state, Waiting):
        waiting = {"reason": state.reason, **({"message": state.message} if state.message else {})}
        return {"waiting": waiting}
    if isinstance(state, Running):
        return {"running": {"startedAt": rfc3339(state.started_at)}}
    out: dict[str, Any] = {"exitCode": state.exit_code, "reason": state.reason}
    for key, when in (("startedAt", state.started_at), ("finishedAt", state.finished_at)):
        if when is not None:
            out[key] = rfc3339(when)
    if state.message:
        out["message"] = state.message
    if state.container_id:
        out["containerID"] = _docker_id(state.container_id)
    return {"terminated": out}


def pod_view_to_k8s(view: PodView, *, deletion_timestamp: float | None = None) -> dict[str, Any]:
    """A full Kubernetes Pod object (metadata, spec, status) as `kubectl get -o json` shows it.

    `deletionTimestamp` is shown when `view.deleting`: `deletion_timestamp` if given, else the
    creation time (the marker matters more than the instant). A pod a ReplicaSet made carries its
    controller `ownerReferences` (see `model.identity.owner_reference`).
    """
    pod = unstructure_pod(view.pod)
    meta: dict[str, Any] = pod["metadata"]
    if view.ref is not None:
        meta["uid"] = view.ref.uid
    else:
        # Not created yet (unscheduled, say): Kubernetes' clients need a uid on every object, so
        # the declaration's stands in; once created, the instance's uid replaces it, which a watch
        # shows as the pod DELETED then ADDED (see `controller.api.changes`).
        meta["uid"] = object_uid("Pod", meta["namespace"], meta["name"])
    if view.created_at is not None:
        meta["creationTimestamp"] = rfc3339(view.created_at)
    deleted_at = deletion_timestamp if deletion_timestamp is not None else view.created_at
    if view.deletion_at is not None:
        meta["deletionTimestamp"] = rfc3339(view.deletion_at)
        meta["deletionGracePeriodSeconds"] = view.deletion_grace_seconds
    elif view.deleting and deleted_at is not None:
        meta["deletionTimestamp"] = rfc3339(deleted_at)
        meta["deletionGracePeriodSeconds"] = view.pod.spec.termination_grace_period_seconds
    owner = owner_reference(view.owner, view.pod.metadata.namespace)
    if owner is not None:
        meta["ownerReferences"] = [owner]
    if view.node is not None:
        pod["spec"]["nodeName"] = view.node
    status = view.status
    out: dict[str, Any] = {"phase": status.phase.value}
    if status.conditions:
        out["conditions"] = [
            {
                "type": c.type.value,
                "status": "True" if c.status else "False",
                **(
                    {"lastTransitionTime": rfc3339(c.last_transition_time)}
                    if c.last_transition_time is not None
                    else {}
                ),
                **({"reason": c.reason} if c.reason else {}),
                **({"message": c.message} if c.message else {}),
            }
            for c in status.conditions
        ]
    for key, text in (("reason", status.reason), ("message", status.message)):
        if text:
            out[key] = text
    if status.host_ip:
        out["hostIP"] = status.host_ip
        out["hostIPs"] = [{"ip": status.host_ip}]
    if status.pod_ip:
        out["podIP"] = status.pod_ip
        out["podIPs"] = [{"ip": status.pod_ip}]
    if status.start_time is not None:
        out["startTime"] = rfc3339(status.start_time)
    if status.init_container_statuses:
        out["initContainerStatuses"] = [
            _container_status(cs) for cs in status.init_container_statuses
        ]
    if status.container_statuses:
        out["containerStatuses"] = [_container_status(cs) for cs in status.container_statuses]
    pod["status"] = out
    return pod


def _container_status(cs: ContainerStatus) -> dict[str, Any]:
    return {
        "name": cs.name,
        "image": cs.image,
        "imageID": cs.image_id,
        **({"containerID": _docker_id(cs.container_id)} if cs.container_id else {}),
        "ready": cs.ready,
        "started": cs.started,
        "restartCount": cs.restart_count,
        "state": _state(cs.state),
        "lastState": _state(cs.last_state),
    }
