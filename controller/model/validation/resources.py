"""Pod-level resources (`spec.resources`, Kubernetes' PodLevelResources) checked against the pod's
containers, with Kubernetes' own messages.

The rules, as the API server applies them (validatePodResources, validatePodResourceConsistency):
- pod-level requests and limits follow a container's rules: not negative, a request no more than
  its limit (`must be less than or equal to cpu limit of 500m`);
- the containers' requests together fit in the pod's request (`spec.resources.requests.memory:
  Invalid value: "64Mi": must be greater than or equal to aggregate container requests of 96Mi`);
- no container's limit is above the pod's (`spec.containers[1].resources.limits.cpu: Invalid value:
  "2": must be less than or equal to pod limits of 1`).

Traps:
- A pod-level request left out is defaulted by the API server before these checks: to the
  containers' aggregate when any container asks, else to the pod's limit. The request compared
  with the limit is that defaulted one (`PodSpec.effective_requests`), so two containers asking
  for more than the pod's limit are refused at `spec.resources.requests`, as Kubernetes does.
- Only cpu and memory exist at pod level (serde refuses other names, as Kubernetes refuses them
  with `supported values: "cpu", "memory"` here).
- The pod's limits become the sandbox's cgroup limits, so Docker's own minimums (6 MiB of memory,
  10m of cpu) hold for them as for a container's.
"""

from __future__ import annotations

from fractions import Fraction

from controller.model.pod import PodSpec
from controller.model.quantity import Quantity
from controller.model.validation.meta import FieldError, invalid

DOCKER_MIN_MEMORY = 6 * 2**20
"""Docker refuses smaller limits ("Minimum memory limit allowed is 6MB"); 0 would mean none."""
DOCKER_MIN_CPU_MILLIS = 10
"""Docker's smallest CPU limit is 0.01 CPU ("Range of CPUs is from 0.01 to ...")."""

_NAMES = ("cpu", "memory")


def pod_resource_errors(path: str, spec: PodSpec) -> list[FieldError]:
    """The rules of `spec.resources` (at `path`, the PodSpec's path) and of the containers
    against it; nothing when the pod has no pod-level resources."""
    resources = spec.resources
    if resources is None:
        return []
    rpath = f"{path}.resources"
    errors: list[FieldError] = []
    for kind, values in (("requests", resources.requests), ("limits", resources.limits)):
        for name in _NAMES:
            quantity: Quantity | None = getattr(values, name)
            if quantity is not None and quantity.value < 0:
                errors.append(
                    invalid(
                        f"{rpath}.{kind}.{name}",
                        quantity.text,
                        "must be greater than or equal to 0",
                    )
                )
    errors += _docker_minimums(rpath, resources.limits.cpu, resources.limits.memory)
    summed = spec.container_requests()
    effective = spec.effective_requests()
    for name in _NAMES:
        asked: Quantity | None = getattr(resources.requests, name)
        aggregate: Quantity | None = getattr(summed, name)
        if asked is not None and aggregate is not None and aggregate.value > asked.value:
            errors.append(
                invalid(
                    f"{rpath}.requests.{name}",
                    asked.text,
                    f"must be greater than or equal to aggregate container requests of {aggregate}",
                )
            )
        limit: Quantity | None = getattr(resources.limits, name)
        request: Quantity | None = getattr(effective, name)
        if limit is not None and request is not None and request.value > limit.value:
            errors.append(
                invalid(
                    f"{rpath}.requests.{name}",
                    request.text,
                    f"must be less than or equal to {name} limit of {limit}",
                )
            )
    for i, container in enumerate(spec.containers):
        for name in _NAMES:
            pod_limit: Quantity | None = getattr(resources.limits, name)
            own: Quantity | None = getattr(container.resources.limits, name)
            if pod_limit is not None and own is not None and own.value > pod_limit.value:
                errors.append(
                    invalid(
                        f"{path}.containers[{i}].resources.limits.{name}",
                        own.text,
                        f"must be less than or equal to pod limits of {pod_limit}",
                    )
                )
    return errors


def _docker_minimums(path: str, cpu: Quantity | None, memory: Quantity | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if cpu is not None and 0 <= cpu.value < Fraction(DOCKER_MIN_CPU_MILLIS, 1000):
        errors.append(
            invalid(
                f"{path}.limits.cpu",
                cpu.text,
                f"must be at least {DOCKER_MIN_CPU_MILLIS}m (Docker's smallest CPU limit is 0.01 CPU)",
            )
        )
    if memory is not None and memory.value >= 0 and memory.whole() < DOCKER_MIN_MEMORY:
        errors.append(
            invalid(
                f"{path}.limits.memory",
                memory.text,
                "must be at least 6Mi (Docker: Minimum memory limit allowed is 6MB)",
            )
        )
    return errors
