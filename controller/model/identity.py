"""Identity of declared objects: stable uids and Kubernetes ownerReferences.

The folder has no API server to hand out uids, so a declared object's uid is a uuid5 of its kind,
namespace and name: the same object gets the same uid in every run, and an owner's uid can be
computed from the owned object's `Kind/name` owner string alone. Pods keep the uids the engine
gives their instances; this is for ReplicaSets and Deployments (and the references to them),
ConfigMaps, Secrets, PersistentVolumeClaims and Events (one event keeps its uid as its count grows).
"""

from __future__ import annotations

import uuid
from typing import Any

from controller.model.workload_status import OwnerRef

OWNER_API_VERSIONS = {"ReplicaSet": "apps/v1", "Deployment": "apps/v1"}
"""Kinds that own objects, and their apiVersion (as an ownerReference names it)."""


def object_uid(kind: str, namespace: str, name: str) -> str:
    """The uid of a declared object: uuid5 of `podyard:<kind>/<namespace>/<name>`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"podyard:{kind}/{namespace}/{name}"))


def owner_reference(owner: str, namespace: str) -> dict[str, Any] | None:
    """Kubernetes' controller ownerReference for an owner string such as `ReplicaSet/web`.

    `namespace` is the owned object's (owners are always in their object's namespace). None when
    `owner` is empty, malformed or of a kind that cannot own objects. `controller` and
    `blockOwnerDeletion` are true, as Kubernetes' controllers set them.
    """
    ref = OwnerRef.parse(owner) if owner else None
    if ref is None or ref.kind not in OWNER_API_VERSIONS:
        return None
    return {
        "apiVersion": OWNER_API_VERSIONS[ref.kind],
        "kind": ref.kind,
        "name": ref.name,
        "uid": object_uid(ref.kind, namespace, ref.name),
        "controller": True,
        "blockOwnerDeletion": True,
    }
