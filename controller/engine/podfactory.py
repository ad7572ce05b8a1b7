"""Making desired pods: from a manifest, from a workload's template, or back from the engine.

Every DesiredPod carries its hashes and its manifest JSON (stored on the sandbox), so a pod that a
controller made can be restored from the engine alone after a restart, even if its owner's template
has changed since. Pod names for templates follow Kubernetes' generateName: `<owner>-<5 chars>`
from the same consonant-and-digit alphabet, so names never spell words.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

from controller.model.desired import DesiredPod
from controller.model.meta import ObjectMeta
from controller.model.observed import ObservedContainer
from controller.model.pod import Pod
from controller.model.workloads import PodTemplateSpec
from controller.serde import (
    ManifestInvalid,
    container_spec_hash,
    pod_spec_hash,
    structure_pod,
    unstructure_pod,
)

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' generateName alphabet: no vowels, no 0/1/3 that read as letters."""


def desired_from_pod(pod: Pod, *, owner: str = "", source: str = "") -> DesiredPod:
    return DesiredPod(
        pod=pod,
        spec_hash=pod_spec_hash(pod.spec),
        container_hashes={c.name: container_spec_hash(c) for c in pod.spec.all_containers()},
        owner=owner,
        source=source,
        manifest=json.dumps(unstructure_pod(pod), sort_keys=True, separators=(",", ":")),
    )


def name_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(length))


def pod_from_template(
    template: PodTemplateSpec,
    name: str,
    namespace: str,
    *,
    extra_labels: Mapping[str, str] | None = None,
) -> Pod:
    labels = {**template.metadata.labels, **(extra_labels or {})}
    meta = ObjectMeta(
        name=name,
        namespace=namespace,
        labels=labels,
        annotations=dict(template.metadata.annotations),
    )
    return Pod(metadata=meta, spec=template.spec)


def restore_from_sandbox(sandbox: ObservedContainer) -> DesiredPod | None:
    """The pod a sandbox was made for, from its manifest label; None when absent or unreadable."""
    if not sandbox.manifest:
        return None
    try:
        pod = structure_pod(json.loads(sandbox.manifest))
    except (ValueError, ManifestInvalid):
        return None
    restored = desired_from_pod(pod, owner=sandbox.identity.owner, source=sandbox.source)
    if restored.spec_hash != sandbox.identity.pod_spec_hash:
        return None  # written by another version of the hashing: do not guess
    return restored
