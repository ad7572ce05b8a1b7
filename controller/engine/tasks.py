"""Long-lived tasks with names and guards: a forever-task that fails or returns is logged loudly.

An unguarded asyncio task that dies takes its exception with it until garbage collection, and the
controller silently stops reacting. Every background task goes through `spawn`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


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
