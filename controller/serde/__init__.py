"""Manifest dicts <-> model types, with Kubernetes' names, strictness and error paths; spec hashes.

One cattrs converter does the work. This package's public names are re-exported here, so callers
import from `controller.serde` and need not know which module holds what:

- `serde.structure`: manifest dict -> `Pod`/`ReplicaSet`/`Deployment`, or `ManifestInvalid` with
  every problem of the document as a Kubernetes field path.
- `serde.unstructure`: model -> Kubernetes JSON, the spec hashes of that JSON, and pod views as
  `kubectl get -o json` shows them.
- `serde.converter`: the cattrs converter and its hooks (no coercion, `null` means unset).
- `serde.fields`: Kubernetes' field names and the fields it has that Podyard does not implement.

Each module's docstring holds the traps of its part.
"""

from __future__ import annotations

from controller.model.validation import FieldError
from controller.serde.fields import field_path, k8s_name
from controller.serde.structure import (
    OBJECT_KINDS,
    ManifestInvalid,
    ManifestObject,
    structure_claim,
    structure_config_map,
    structure_deployment,
    structure_namespace,
    structure_object,
    structure_pod,
    structure_replicaset,
    structure_secret,
)
from controller.serde.unstructure import (
    container_spec_hash,
    pod_spec_hash,
    pod_view_to_k8s,
    rfc3339,
    template_hash,
    unstructure_deployment,
    unstructure_pod,
    unstructure_replicaset,
    workload_spec_hash,
)

__all__ = [
    "OBJECT_KINDS",
    "FieldError",
    "ManifestInvalid",
    "ManifestObject",
    "container_spec_hash",
    "field_path",
    "k8s_name",
    "pod_spec_hash",
    "pod_view_to_k8s",
    "rfc3339",
    "structure_claim",
    "structure_config_map",
    "structure_deployment",
    "structure_namespace",
    "structure_object",
    "structure_pod",
    "structure_replicaset",
    "structure_secret",
    "template_hash",
    "unstructure_deployment",
    "unstructure_pod",
    "unstructure_replicaset",
    "workload_spec_hash",
]
