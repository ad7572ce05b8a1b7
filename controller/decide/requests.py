"""What a pod asks of a node: its cpu and memory requests, as kube-scheduler adds them up.

`requests` is `PodSpec.effective_requests` (per resource, the pod-level request when set, else as
the API server defaults it from the pod-level limit and the containers, else the containers' sum,
each container's request defaulting to its limit), in millicores and bytes.

Scores use a second sum, `nonzero`: where the pod sets nothing at pod level for a resource, a
container that leaves that request unset counts as 100m cpu and 200 MiB memory (kube-scheduler's
DefaultMilliCPURequest and DefaultMemoryRequest), so pods without requests still spread by load
instead of all looking free. Filters never use it: a pod
without requests fits wherever its pod count does.
"""

from __future__ import annotations

import attrs

from controller.model.pod import PodSpec, ResourceRequirements

DEFAULT_CPU_REQUEST_MILLIS = 100
DEFAULT_MEMORY_REQUEST_BYTES = 200 * 1024 * 1024


@attrs.frozen
class Requests:
    cpu_millis: int = 0
    memory_bytes: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.cpu_millis + other.cpu_millis, self.memory_bytes + other.memory_bytes)


def pod_requests(spec: PodSpec) -> tuple[Requests, Requests]:
    """The pod's requests, and the same with the defaults for unset ones (for scores)."""
    asked = spec.effective_requests()
    pod_level = spec.resources or ResourceRequirements()
    pod_cpu = pod_level.requests.cpu or pod_level.limits.cpu
    pod_memory = pod_level.requests.memory or pod_level.limits.memory
    containers = [c.resources.effective_requests() for c in spec.containers]
    cpu = asked.cpu.millis() if asked.cpu is not None else 0
    memory = asked.memory.whole() if asked.memory is not None else 0
    nonzero_cpu = (
        cpu
        if pod_cpu is not None
        else sum(
            c.cpu.millis() if c.cpu is not None else DEFAULT_CPU_REQUEST_MILLIS for c in containers
        )
    )
    nonzero_memory = (
        memory
        if pod_memory is not None
        else sum(
            c.memory.whole() if c.memory is not None else DEFAULT_MEMORY_REQUEST_BYTES
            for c in containers
        )
    )
    return Requests(cpu, memory), Requests(nonzero_cpu, nonzero_memory)
