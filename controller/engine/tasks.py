"""Long-lived tasks with names and guards: a task that dies is reported, and restarted if supervised.

An unguarded asyncio task that dies takes its exception with it until garbage collection, and the
controller silently stops reacting. Every background task goes through `spawn` (a task that may end,
logged if it fails) or, for the loops the controller cannot do without, through `Supervisor`:

- each loop catches and counts its own errors and carries on (`Supervisor.error`,
  `podyard_task_errors_total{task}`); the supervisor is the net under that net;
- a supervised task that raises or returns is logged, counted (`podyard_task_restarts_total{task}`)
  and started again after a wait that doubles from `restart_initial_seconds` to
  `restart_max_seconds`, and starts over once a run lasted `stable_seconds`;
- `failing()` names the tasks that are dead right now (waiting for their restart) or crash-looping
  (died twice or more without a stable run between), for `/healthz`.

Traps: waits run on the injected clock, so engine tests drive restarts by moving fake time. A
supervised coroutine is made anew for every run (`run` is a factory), as a finished coroutine cannot
be awaited twice. `stop` must come before the queues are shut down, or the loops that end on a shut
down queue would be restarted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from controller.config import SupervisionSettings
from controller.engine.ports import Clock, MetricsSink, NoMetrics

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, None]]

CRASH_LOOP_DEATHS = 2
"""Deaths in a row, without a stable run between, that make a running task crash-looping."""


def spawn(
    name: str, coro: Coroutine[Any, Any, None], *, forever: bool = True
) -> asyncio.Task[None]:
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(lambda t: _report(t, forever))
    return task


def _report(task: asyncio.Task[None], forever: bool) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("task %s failed", task.get_name(), exc_info=error)
    elif forever:
        log.error("task %s returned, but it should run until shutdown", task.get_name())


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@attrs.define
class _Supervised:
    name: str
    run: TaskFactory
    task: asyncio.Task[None] | None = None
    running: bool = False
    started_at: float = 0.0
    deaths: int = 0
    """Deaths in a row without a stable run between."""
    restarts: int = 0
    last_error: str = ""
    restart_at: float | None = None


class Supervisor:
    """Keeps named forever-tasks running; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        metrics: MetricsSink | None = None,
        settings: SupervisionSettings | None = None,
    ) -> None:
        self._clock = clock
        self._metrics: MetricsSink = metrics or NoMetrics()
        self.settings = settings or SupervisionSettings()
        self._tasks: dict[str, _Supervised] = {}
        self._stopping = False
        self.errors_total = 0
        self.restarts_total = 0

    def declare(self, name: str) -> None:
        """Make the task's error and restart series exist at 0 before it runs."""
        self._metrics.task_declared(name)

    def supervise(self, name: str, run: TaskFactory) -> None:
        """Run `run()` as task `name` until `stop`, restarting it whenever it ends."""
        if name in self._tasks:
            raise ValueError(f"task {name} is already supervised")
        self._stopping = False
        entry = _Supervised(name, run)
        self._tasks[name] = entry
        self.declare(name)
        entry.task = asyncio.create_task(self._keep(entry), name=name)

    def error(self, name: str, what: str, exc: BaseException) -> None:
        """A loop caught an error and carries on: log it with its traceback and count it."""
        self.errors_total += 1
        self._metrics.task_error(name)
        log.error("task %s: %s failed; carrying on", name, what, exc_info=exc)

    async def _keep(self, entry: _Supervised) -> None:
        settings = self.settings
        delay = settings.restart_initial_seconds
        while True:
            entry.running = True
            entry.restart_at = None
            entry.started_at = self._clock.now()
            try:
                await entry.run()
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                failed: BaseException | None = exc
            else:
                reason = "returned, but it should run until shutdown"
                failed = None
            if self._stopping:
                return
            now = self._clock.now()
            entry.running = False
            if now - entry.started_at >= settings.stable_seconds:
                delay = settings.restart_initial_seconds
                entry.deaths = 0
            entry.deaths += 1
            entry.restarts += 1
            entry.last_error = reason
            entry.restart_at = now + delay
            self.restarts_total += 1
            self._metrics.task_restarted(entry.name)
            log.error(
                "task %s died (%s); restarting in %.1fs", entry.name, reason, delay, exc_info=failed
            )
            await self._sleep(delay)
            delay = min(delay * 2, settings.restart_max_seconds)

    async def _sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        cancel = self._clock.call_at(self._clock.now() + seconds, wake)
        try:
            await woken
        finally:
            cancel()

    def failing(self) -> list[str]:
        """Why each task that is dead or crash-looping right now is so; empty when all are well."""
        now = self._clock.now()
        out = []
        for entry in sorted(self._tasks.values(), key=lambda e: e.name):
            if not entry.running:
                wait = max(0.0, (entry.restart_at or now) - now)
                out.append(
                    f"task {entry.name} is dead ({entry.last_error}); restart in {wait:.0f}s"
                )
            elif (
                entry.deaths >= CRASH_LOOP_DEATHS
                and now - entry.started_at < self.settings.stable_seconds
            ):
                out.append(
                    f"task {entry.name} is crash-looping: {entry.deaths} deaths in a row, "
                    f"last: {entry.last_error}"
                )
        return out

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def restarts(self, name: str) -> int:
        return self._tasks[name].restarts

    async def stop(self) -> None:
        """Cancel every supervised task; none is restarted after this."""
        self._stopping = True
        tasks = [e.task for e in self._tasks.values() if e.task is not None]
        self._tasks.clear()
        await cancel_all(tasks)
