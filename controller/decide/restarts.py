"""Restart policy and CrashLoopBackOff, derived from the engine's own record.

The kubelet keeps its backoff in memory keyed by pod uid + container name + spec hash. Podyard keeps
none: each container is created with the delay that preceded its start as a label, so after a
controller crash the next delay is computed from the dead container itself, and a new spec (a new pod
uid, or a new container hash) starts fresh because it is a different container lineage.

Delays: first restart at once, then `initial`, doubling to `max`; a container that ran for
`reset_after` seconds or more restarts at once again.
"""

from __future__ import annotations

from controller.config import BackoffSettings, ImagePullSettings
from controller.model.observed import ObservedContainer, RunState
from controller.model.pod import RestartPolicy


def exited(container: ObservedContainer) -> bool:
    """Dead for good: exited, or created but the engine could not start it."""
    return container.state is RunState.EXITED or container.failed_to_start


def exit_code(container: ObservedContainer) -> int:
    """Exit code, with a start failure counting as 128 (Docker reports 127/128 there too)."""
    if container.exit_code is not None and (container.exit_code or not container.failed_to_start):
        return container.exit_code
    return 128 if container.failed_to_start else 0


def should_restart(policy: RestartPolicy, container: ObservedContainer) -> bool:
    """Kubernetes' rule: Always restarts, OnFailure restarts non-zero exits, Never never does."""
    if policy is RestartPolicy.ALWAYS:
        return True
    if policy is RestartPolicy.ON_FAILURE:
        return exit_code(container) != 0
    return False


def finished_at(container: ObservedContainer) -> float:
    """When it stopped; a start failure may carry no finish time, so fall back to its creation."""
    return container.finished_at or container.started_at or container.created_at


def ran_for(container: ObservedContainer) -> float:
    if container.started_at is None or container.finished_at is None:
        return 0.0
    return max(0.0, container.finished_at - container.started_at)


def restart_delay(container: ObservedContainer, settings: BackoffSettings) -> float:
    """Delay (seconds) between this dead container's finish and its successor's start."""
    previous = container.identity.backoff_seconds
    if container.identity.attempt == 0 or ran_for(container) >= settings.reset_after_seconds:
        return 0.0
    if previous <= 0:
        return settings.initial_seconds
    return min(previous * 2, settings.max_seconds)


def restart_due(container: ObservedContainer, settings: BackoffSettings) -> float:
    """Wall time at which the successor may start."""
    return finished_at(container) + restart_delay(container, settings)


def image_pull_delay(failures: int, settings: ImagePullSettings) -> float:
    """ImagePullBackOff: the first failure retries after `initial`, doubling to `max`."""
    if failures <= 0:
        return 0.0
    return min(settings.initial_seconds * 2.0 ** (failures - 1), settings.max_seconds)
