"""Kubernetes' validation rules for structured objects, plus the limits Docker itself enforces.

`validate_pod`, `validate_replicaset` and `validate_deployment` return every problem at once as
`FieldError`s whose paths are spelled as Kubernetes spells them
(`spec.containers[0].ports[1].containerPort`) and whose messages follow Kubernetes' wording
(`Required value`, `Invalid value: "x": ...`, `Duplicate value: ...`, `Not found: ...`), so users
can search for them. Only values are checked here; structure (unknown fields, wrong types) was
checked by serde before a `Pod` could exist. A pod template is checked by the very rules of a pod
(`validate_pod_spec`), under `spec.template.spec`.

This module is the entry point serde uses; the rules live in five modules, each with its traps:
- `meta_validation`: `FieldError` and its wording, Kubernetes' string formats (DNS-1123 names,
  qualified names, label values, port names) and ObjectMeta's rules, which every kind shares.
- `pod_validation`: a pod's containers, ports, resources and volumes, and Docker's own limits.
- `pod_resource_validation`: pod-level resources (`spec.resources`) against the containers' own.
- `probe_validation`: liveness, readiness and startup probes (handlers, timings, ports).
- `workload_validation`: ReplicaSet and Deployment names, selectors and strategies.
"""

from __future__ import annotations

from controller.model.meta_validation import (
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
)
from controller.model.pod_resource_validation import DOCKER_MIN_CPU_MILLIS, DOCKER_MIN_MEMORY
from controller.model.pod_validation import validate_pod, validate_pod_spec
from controller.model.workload_validation import (
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
    "validate_deployment",
    "validate_label_selector",
    "validate_pod",
    "validate_pod_spec",
    "validate_replicaset",
]
