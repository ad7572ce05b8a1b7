"""Presence checks of one image at once share one engine call (a bring-up of hundreds of pods
would otherwise ask once per container before the first answer is cached)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from controller.config import ImagePullSettings
from controller.model.errors import ImageError
from controller.model.pod import PullPolicy
from controller.runtime.docker.images import DockerImages


class Calls:
    """The engine: each image inspect takes a few loop turns; `fail` makes it refuse."""

    node = "node-a"

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.fail: Exception | None = None

    async def call(self, what: str, call: Callable[[Any], Awaitable[Any]], **_: Any) -> Any:
        self.asked.append(what)
        for _ in range(5):
            await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return {}


def images_on(calls: Calls) -> DockerImages:
    return DockerImages(calls, ImagePullSettings())  # type: ignore[arg-type]


async def test_fifty_checks_at_once_make_one_call() -> None:
    calls = Calls()
    images = images_on(calls)
    await asyncio.gather(
        *(images.ensure("localhost/app:1", PullPolicy.IF_NOT_PRESENT) for _ in range(50))
    )
    assert calls.asked == ["inspect image localhost/app:1"]
    await images.ensure("localhost/app:1", PullPolicy.NEVER)  # cached now
    assert len(calls.asked) == 1


async def test_a_failed_check_fails_every_caller_and_is_asked_again_next_time() -> None:
    calls = Calls()
    images = images_on(calls)
    calls.fail = ImageError("the engine refused")
    answers = await asyncio.gather(
        *(images.ensure("localhost/app:1", PullPolicy.NEVER) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(a, ImageError) for a in answers)
    assert len(calls.asked) == 1
    calls.fail = None
    await images.ensure("localhost/app:1", PullPolicy.NEVER)
    assert len(calls.asked) == 2


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    calls = Calls()
    images = images_on(calls)
    first = asyncio.create_task(images.ensure("localhost/app:1", PullPolicy.NEVER))
    second = asyncio.create_task(images.ensure("localhost/app:1", PullPolicy.NEVER))
    await asyncio.sleep(0)
    first.cancel()
    await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert len(calls.asked) == 1
