"""What `/healthz` and `/readyz` check, computed from what the engine holds in memory.

`/healthz` (liveness: restart me if this fails for long) fails when the controller cannot do its
job:

- `pleg`: no node had a successful relist within `relist_threshold_seconds` (the kubelet's "PLEG
  is not healthy"; counted from the engine's start for a node never relisted). With several nodes,
  one stale node is that node's trouble, reported in its conditions (NotReady), not the
  controller's: a restart would not bring a dead host back, and would only stop the controller
  acting on the others for a while. So the check fails when every node is stale, and then names
  them all; with one node, as soon as it is;
- `tasks`: a supervised task is dead or crash-looping right now (`tasks.Supervisor.failing`);
- `loop-lag`: the event loop woke `loop_lag_threshold_seconds` late or later, in one of the last
  `LAG_SAMPLES` ticks or in a tick overdue now.

`/readyz` (serve me) adds, until they have happened once: `relist` (every node relisted),
`initial-sync` (every pod key known at start synced once). The folder is read before the engine
starts, so a started engine has applied it.

Trap: nothing here calls an engine. A hung Docker engine must turn `/healthz` red, not hang it.
The loop lag is measured with the loop's own clock (monotonic), never the injected clock: a test
that freezes fake time must not read as a frozen loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

from controller.config import HealthSettings
from controller.model.health import HealthCheck
from controller.model.meta import NodeName

LAG_SAMPLES = 10
"""Ticks of the lag timer the `loop-lag` check looks back on."""


class LoopLagMonitor:
    """A timer that measures how late the event loop runs it."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._recent: deque[float] = deque(maxlen=LAG_SAMPLES)
        self._due: float | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._recent.append(max(0.0, loop.time() - self._due))

    def lag(self) -> float:
        """The worst lag (seconds) of the recent ticks and of a tick overdue right now."""
        overdue = 0.0
        if self._due is not None:
            overdue = max(0.0, asyncio.get_running_loop().time() - self._due)
        return max([overdue, *self._recent])


class HealthChecks:
    """The engine's checks; every input is a cheap callable reading memory."""

    def __init__(
        self,
        settings: HealthSettings,
        now: Callable[[], float],
        relisted_at: Callable[[], Iterable[tuple[NodeName, float | None]]],
        failing_tasks: Callable[[], list[str]],
        lag: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._now = now
        self._relisted_at = relisted_at
        self._failing_tasks = failing_tasks
        self._lag = lag
        self.started_at: float | None = None
        """Clock time the engine started; None before (nothing is checked yet)."""

    def liveness(self) -> list[HealthCheck]:
        return [self._pleg(), self._tasks(), self._loop_lag()]

    def _pleg(self) -> HealthCheck:
        if self.started_at is None:
            return HealthCheck("pleg")
        threshold = self._settings.relist_threshold_seconds
        now = self._now()
        stale = []
        nodes = sorted(self._relisted_at())
        for node, at in nodes:
            if at is None and now - self.started_at > threshold:
                stale.append(
                    f"node {node} not relisted since start {now - self.started_at:.0f}s ago "
                    f"(threshold {threshold:g}s)"
                )
            elif at is not None and now - at > threshold:
                stale.append(f"node {node} relist {now - at:.0f}s ago (threshold {threshold:g}s)")
        if len(stale) < len(nodes):
            return HealthCheck("pleg")  # some node is relisted: the controller does its job
        return HealthCheck("pleg", "; ".join(stale))

    def _tasks(self) -> HealthCheck:
        return HealthCheck("tasks", "; ".join(self._failing_tasks()))

    def _loop_lag(self) -> HealthCheck:
        lag = self._lag()
        threshold = self._settings.loop_lag_threshold_seconds
        if lag < threshold:
            return HealthCheck("loop-lag")
        return HealthCheck("loop-lag", f"event loop {lag:.1f}s late (threshold {threshold:g}s)")


def sync_checks(
    started: bool, never_relisted: list[NodeName], initial_left: int
) -> list[HealthCheck]:
    """`/readyz`'s own checks: the first full sync, until it has happened."""
    if not started:
        waiting = "the engine has not started (the folder is not read yet)"
        return [HealthCheck("relist", waiting), HealthCheck("initial-sync", waiting)]
    relist = ""
    if never_relisted:
        relist = "not relisted yet: " + ", ".join(f"node {n}" for n in sorted(never_relisted))
    sync = f"{initial_left} pod(s) known at start not synced yet" if initial_left else ""
    return [HealthCheck("relist", relist), HealthCheck("initial-sync", sync)]
