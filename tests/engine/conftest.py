"""A harness that runs the real Engine against FakeRuntime and FakeClock.

`settle()` lets every queued reconcile and event run to quiescence; `advance(s)` moves fake time in
steps that stop at each timer, settling after each, so backoff timers fire exactly when due.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

import pytest

from controller.config import (
    BackoffSettings,
    EngineSettings,
    NodeLifecycleSettings,
    RuntimeSettings,
)
from controller.engine.engine import Engine
from controller.engine.ports import FakeClock
from controller.metrics import ControllerMetrics
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName, PodKey
from controller.model.status import PodView
from controller.runtime.fake import FakeRuntime, run_forever
from tests.factories import IMAGE

PAUSE = "localhost/podyard-pause:1"

UNWATCHED_NODES = NodeLifecycleSettings(monitor_grace_seconds=1e9)
"""Fake time jumps hours while no relist runs (their interval is real time): no heartbeat is
missed for that. Node health has its own tests (test_node_lifecycle)."""


async def settle_engine(
    engine: Engine,
    runtimes: Iterable[FakeRuntime],
    *,
    quiet_turns: int = 20,
    deadline_seconds: float = 30.0,
) -> None:
    """Let every queued reconcile and event run until nothing moved for `quiet_turns` turns.

    Some work leaves the loop (files written in a thread), so a count of turns alone runs out on
    a busy machine: the loop yields at once while work moves, then in millisecond naps, until a
    wall-clock deadline.
    """
    runtimes = list(runtimes)
    deadline = time.monotonic() + deadline_seconds
    quiet = 0
    turn = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(0 if turn < 5000 else 0.001)
        turn += 1
        busy = not engine.idle() or any(not r._events.empty() for r in runtimes)
        quiet = 0 if busy else quiet + 1
        if quiet >= quiet_turns:
            return
    raise AssertionError(f"engine did not settle in {deadline_seconds:.0f} s")


async def advance_clock(
    clock: FakeClock, seconds: float, settle: Callable[[], Awaitable[None]]
) -> None:
    """Move fake time in steps that stop at each timer, settling after each, so timers fire
    exactly when due."""
    remaining = seconds
    while remaining > 1e-9:
        due = clock.next_timer()
        step = remaining if due is None else min(remaining, max(due - clock.now(), 0.0))
        clock.advance(step)
        remaining -= step
        await settle()


class Harness:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.runtime = FakeRuntime(
            "node-a", self.clock, images=[IMAGE, PAUSE], behaviour=run_forever
        )
        self.backoff = BackoffSettings()
        self.metrics = ControllerMetrics(["node-a"])
        """The real metrics adapter as the engine's sink: every engine test exercises it."""
        self.engine = self._new_engine()

    def _new_engine(self) -> Engine:
        return Engine(
            {NodeName("node-a"): self.runtime},
            self.clock,
            engine=EngineSettings(),
            runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
            node_lifecycle=UNWATCHED_NODES,
            backoff=self.backoff,
            metrics=self.metrics,
        )

    async def start(self, pods: Sequence[DesiredPod] = ()) -> None:
        self.engine.set_desired(pods)
        await self.engine.start()
        await self.settle()

    async def restart_controller(self) -> None:
        """Throw the engine away (as SIGKILL would) and start a new one on the same runtime."""
        desired = self.engine.desired.all()
        await self.engine.stop()
        self.runtime._events = asyncio.Queue()  # a new subscription sees no old events
        self.engine = self._new_engine()
        await self.start(desired)

    async def settle(self) -> None:
        await settle_engine(self.engine, [self.runtime])

    async def advance(self, seconds: float) -> None:
        await advance_clock(self.clock, seconds, self.settle)

    def view(self, name: str = "web", namespace: str = "default") -> PodView:
        for view in self.engine.pod_views():
            if view.pod.metadata.name == name and view.pod.metadata.namespace == namespace:
                return view
        raise AssertionError(f"no pod {namespace}/{name} in {self.engine.pod_views()}")

    def key(self, name: str = "web") -> PodKey:
        return PodKey("default", name)


async def turns_until(predicate: Callable[[], bool], what: str, turns: int = 5000) -> None:
    """Let the loop run until `predicate` holds, fake time standing still: for states `settle`
    cannot wait for because work stays in progress (a stop waiting out its grace period)."""
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"not reached within {turns} loop turns: {what}")


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.engine.stop()
