"""What a pod asks of a node: its cpu and memory requests, as kube-scheduler adds them up.

Per resource, `PodSpec.effective_requests`: the pod-level request (`spec.resources`) when set;
with only a pod-level limit, the containers' sum if any container asks, else that limit (the API
server's defaulting); otherwise the sum of the containers' requests, each defaulting to its limit.

Scores use a second sum, `nonzero`: a container that leaves a request unset counts as 100m cpu and
200 MiB memory there (kube-scheduler's DefaultMilliCPURequest and DefaultMemoryRequest), so pods
without requests still spread by load instead of all looking free. Filters never use it: a pod
without requests fits wherever its pod count does.
"""

from __future__ import annotations

import attrs

from controller.model.pod import PodSpec

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
    asked = spec.effective_requests()  # pod-level when set, defaulted as the API server does
    containers = [c.resources.effective_requests() for c in spec.containers]
    level = spec.resources
    pod_cpu = level is not None and (level.requests.cpu or level.limits.cpu) is not None
    pod_memory = level is not None and (level.requests.memory or level.limits.memory) is not None
    cpu = asked.cpu.millis() if asked.cpu is not None else 0
    memory = asked.memory.whole() if asked.memory is not None else 0
    if pod_cpu:
        nonzero_cpu = cpu
    else:
        nonzero_cpu = sum(
            c.cpu.millis() if c.cpu is not None else DEFAULT_CPU_REQUEST_MILLIS for c in containers
        )
    if pod_memory:
        nonzero_memory = memory
    else:
        nonzero_memory = sum(
            c.memory.whole() if c.memory is not None else DEFAULT_MEMORY_REQUEST_BYTES
            for c in containers
        )
    return Requests(cpu, memory), Requests(nonzero_cpu, nonzero_memory)
