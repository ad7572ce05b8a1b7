"""Kubernetes' validation rules for structured objects, plus the limits Docker itself enforces.

`validate_pod`, `validate_replicaset` and `validate_deployment` return every problem at once as
`FieldError`s whose paths are spelled as Kubernetes spells them
(`spec.containers[0].ports[1].containerPort`) and whose messages follow Kubernetes' wording
(`Required value`, `Invalid value: "x": ...`, `Duplicate value: ...`, `Not found: ...`), so users
can search for them. Only values are checked here; structure (unknown fields, wrong types) was
checked by serde before a `Pod` could exist. A pod template is checked by the very rules of a pod
(`validate_pod_spec`), under `spec.template.spec`.

This package is the entry point serde uses; the rules live in six modules, each with its traps:
- `meta`: `FieldError` and its wording, Kubernetes' string formats (DNS-1123 names,
  qualified names, label values, port names) and ObjectMeta's rules, which every kind shares.
- `pod`: a pod's containers, ports, resources and volumes, and Docker's own limits.
- `resources`: pod-level resources (`spec.resources`) against the containers' own.
- `probes`: liveness, readiness and startup probes (handlers, timings, ports).
- `workloads`: ReplicaSet and Deployment names, selectors and strategies.
- `claims`: PersistentVolumeClaims and a pod's `persistentVolumeClaim` volumes.
- `placement`: nodeName, nodeSelector, node affinity and tolerations.
"""

from __future__ import annotations

from controller.model.validation.claims import validate_claim
from controller.model.validation.meta import (
    DNS1123_LABEL_MAX,
    DNS1123_SUBDOMAIN_MAX,
    MAX_ANNOTATIONS_BYTES,
    FieldError,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    invalid,
    label_value_problems,
    port_name_problems,
    qualified_name_problems,
    required,
    show_value,
    validate_namespace,
)
from controller.model.validation.pod import validate_pod, validate_pod_spec
from controller.model.validation.resources import DOCKER_MIN_CPU_MILLIS, DOCKER_MIN_MEMORY
from controller.model.validation.workloads import (
    MAX_DEPLOYMENT_NAME,
    MAX_REPLICASET_NAME,
    POD_NAME_SUFFIX,
    TEMPLATE_HASH_LENGTH,
    validate_deployment,
    validate_label_selector,
    validate_replicaset,
)

__all__ = [
    "DNS1123_LABEL_MAX",
    "DNS1123_SUBDOMAIN_MAX",
    "DOCKER_MIN_CPU_MILLIS",
    "DOCKER_MIN_MEMORY",
    "MAX_ANNOTATIONS_BYTES",
    "MAX_DEPLOYMENT_NAME",
    "MAX_REPLICASET_NAME",
    "POD_NAME_SUFFIX",
    "TEMPLATE_HASH_LENGTH",
    "FieldError",
    "dns1123_label_problems",
    "dns1123_subdomain_problems",
    "invalid",
    "label_value_problems",
    "port_name_problems",
    "qualified_name_problems",
    "required",
    "show_value",
    "validate_claim",
    "validate_deployment",
    "validate_label_selector",
    "validate_namespace",
    "validate_pod",
    "validate_pod_spec",
    "validate_replicaset",
]
