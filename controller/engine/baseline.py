"""The start-time baseline: which folder objects have pods running, read from the engine alone.

Role: `running_baseline(cache)` folds the sandboxes of a fully relisted cache into one
`RunningObject` per declaring object (a bare Pod, a ReplicaSet, or the Deployment behind a
ReplicaSet), with the manifest file its pods carry and how many there are. The folder source
compares its first reading with it, so an emptied folder at start is held as it would be live.

Traps:
- Only meaningful once every node was relisted: a node not listed yet would read as "no pods".
- A Deployment's pods name their ReplicaSet (`<deployment>-<pod-template-hash>`); the Deployment
  is found by that suffix and the `pod-template-hash` label in the sandbox's manifest copy.
- Pods without a source label (made by an older Podyard) are left out: nothing to compare.
"""

from __future__ import annotations

import json
from collections import defaultdict

from controller.engine.stores import ObservedCache
from controller.model.manifests import RunningObject
from controller.model.meta import ObjectKey, PodKey
from controller.model.observed import ObservedContainer
from controller.model.workload_status import POD_TEMPLATE_HASH_LABEL, OwnerRef


def running_baseline(cache: ObservedCache) -> tuple[RunningObject, ...]:
    pods: dict[ObjectKey, set[PodKey]] = defaultdict(set)
    files: dict[ObjectKey, str] = {}
    for key in sorted(cache.keys()):
        sandbox = next((c for c in cache.containers_for(key) if c.is_sandbox and c.source), None)
        if sandbox is None:
            continue
        declared = declaring_object(sandbox)
        if declared is not None:
            pods[declared].add(key)
            files.setdefault(declared, sandbox.source)
    return tuple(RunningObject(k, files[k], len(pods[k])) for k in sorted(pods))


def declaring_object(sandbox: ObservedContainer) -> ObjectKey | None:
    """The folder object a pod was made for, from its sandbox's labels."""
    ref = sandbox.pod
    owner = OwnerRef.parse(sandbox.identity.owner) if sandbox.identity.owner else None
    if owner is None:
        return ObjectKey("Pod", ref.namespace, ref.name) if not sandbox.identity.owner else None
    if owner.kind != "ReplicaSet":
        return None
    pod_hash = _template_hash(sandbox.manifest)
    if pod_hash and owner.name.endswith(f"-{pod_hash}"):
        return ObjectKey("Deployment", ref.namespace, owner.name.removesuffix(f"-{pod_hash}"))
    return ObjectKey("ReplicaSet", ref.namespace, owner.name)


def _template_hash(manifest: str) -> str:
    try:
        labels = json.loads(manifest).get("metadata", {}).get("labels", {})
    except (ValueError, AttributeError):
        return ""
    value = labels.get(POD_TEMPLATE_HASH_LABEL, "") if isinstance(labels, dict) else ""
    return value if isinstance(value, str) else ""
