"""Sandbox backoff and container garbage collection: what keeps a failing pod's footprint bounded.

Sandbox backoff, as the kubelet's: a sandbox that could not be created or started, or that died, is
followed by the next one after CrashLoopBackOff's delay (the first at once, then `initial` doubling
to `max`; a sandbox that ran `reset_after` seconds starts the count again). The count lives on the
engine, not in memory: each sandbox carries its attempt number and the delay that preceded it as
labels, and the LAST dead sandbox is kept until its successor replaces it, so a restarted
controller computes the same due time. A sandbox that could not even be created leaves nothing on
the engine; its retries are paced by the failure note (in memory: a restart costs one early retry,
and a failed create leaves nothing behind to count).

Garbage collection, as the kubelet's containerGC with MaxPerPodContainer 1: per container name the
latest container is kept, and one dead predecessor only while the latest is alive (it is the
`lastState` and what `logs --previous` reads); every older one goes, stopped first if it somehow
runs. A finished init container is the latest of its name, so it is kept: it is the proof that
the sandbox it ran in is initialized (decide.initcontainers), and removing it would run it again. Every sandbox but the latest goes. So a pod holds at most 1 + 2 x containers containers, of
which at most containers + 1 are dead, whatever fails and for however long.
"""

from __future__ import annotations

from controller.config import BackoffSettings
from controller.decide.instance import Instance
from controller.decide.restarts import exited, restart_delay, restart_due
from controller.model.observed import ObservedContainer, RunState


def sandbox_dead(sandbox: ObservedContainer | None) -> bool:
    """No sandbox, or one that ended or could not start: the pod needs a new one."""
    return sandbox is None or sandbox.state is RunState.EXITED or sandbox.failed_to_start


def sandbox_retry_delay(dead: ObservedContainer | None, settings: BackoffSettings) -> float:
    """Seconds between the dead sandbox's end and its successor (0 when there is none to count)."""
    return 0.0 if dead is None else restart_delay(dead, settings)


def sandbox_retry_due(dead: ObservedContainer | None, settings: BackoffSettings) -> float:
    """Wall time at which the successor of `dead` may be made."""
    return 0.0 if dead is None else restart_due(dead, settings)


def create_failure_delay(failures: int, settings: BackoffSettings) -> float:
    """Delay after the n-th sandbox create refused in a row: 0, then `initial` doubling to `max`."""
    if failures <= 1:
        return 0.0
    return min(settings.initial_seconds * 2.0 ** (failures - 2), settings.max_seconds)


def garbage(instance: Instance) -> tuple[list[ObservedContainer], list[ObservedContainer]]:
    """(to stop, to remove) so that the instance keeps only what status and recovery read."""
    stop: list[ObservedContainer] = []
    remove: list[ObservedContainer] = []
    for old in instance.sandboxes[:-1]:
        if old.state is RunState.RUNNING:
            stop.append(old)
        remove.append(old)
    for lineage in instance.apps.values():
        latest = lineage[-1]
        keep = lineage[-2] if len(lineage) > 1 and not exited(latest) else None
        for older in lineage[:-1]:
            if older is keep and exited(older):
                continue
            if older.state is RunState.RUNNING:
                stop.append(older)
            remove.append(older)
    return stop, remove
