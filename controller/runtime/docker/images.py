"""`DockerImages`: pull policies and the pause image on one engine.

`DockerRuntime.ensure_image` and `prepare_pause_image` hand over to this class. It is separate
because it keeps its own state (which images were recently seen on the engine) and its own
deadlines (a pull may take far longer than any other call), and maps failures to the image errors
a pod's status reports (`ImageNeverPull`, `ImagePullFailed`, `ImageError`). Building the local
pause and demo images FROM scratch is `controller.runtime.localimages`' job; this class only decides
when to ask for it.

Traps this module deals with:

* **Presence is cached.** A positive "the image is there" is trusted for `IMAGE_PRESENT_TTL`
  seconds, so a pod's bring-up does not re-ask the engine once per container. A create that fails
  calls `forget`, so a vanished image is noticed on the next try. Checks of one image at once share
  one engine call: hundreds of pods coming up together would otherwise each ask before the first
  answer is cached.
* **Pull errors in the stream.** A pull answers 200 and reports failures as progress items with an
  `error` field, which aiodocker does not always raise for; every item is checked.
* **Deadlines.** A pull runs under `ImagePullSettings.pull_timeout_seconds`, not the call timeout;
  hitting it is an `ImagePullFailed` (the pod shows it), not `EngineUnavailable`. Preparing the
  pause image may pull and, when that fails, build the local fallback, so it gets the pull and
  build timeouts plus a few calls.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from controller.config import ImagePullSettings
from controller.model.errors import (
    EngineUnavailable,
    ImageError,
    ImageNeverPull,
    ImagePullFailed,
)
from controller.model.pod import PullPolicy
from controller.runtime import localimages
from controller.runtime.docker.calls import NO_CONNECTION, DockerCalls, _docker_message
from controller.runtime.docker.json import _stream_error

__all__ = ["IMAGE_PRESENT_TTL", "DockerImages"]

log = logging.getLogger("podyard.runtime")

IMAGE_PRESENT_TTL = 30.0
"""Seconds a seen image is trusted to still be there (IfNotPresent and Never policies)."""


class DockerImages:
    """Images on one engine: present, pulled or built as the pull policy asks."""

    def __init__(self, calls: DockerCalls, image_pull: ImagePullSettings) -> None:
        self._calls = calls
        self._image_pull = image_pull
        self._seen: dict[str, float] = {}
        self._checking: dict[str, asyncio.Future[bool]] = {}
        """Per image, the presence check in flight (its callers share it)."""

    def forget(self, image: str) -> None:
        """Stop trusting that `image` is present (a create with it failed)."""
        self._seen.pop(image, None)

    async def prepare_pause_image(self, configured: str) -> str:
        calls = self._calls
        node = calls.node
        docker = calls.client()
        pull_timeout = self._image_pull.pull_timeout_seconds
        deadline = (
            pull_timeout
            + localimages.DEFAULT_BUILD_TIMEOUT
            + 4 * calls.settings.call_timeout_seconds
        )
        try:
            async with asyncio.timeout(deadline):
                return await localimages.ensure_pause_image(
                    docker, configured, log, pull_timeout=pull_timeout
                )
        except localimages.ImageBuildError as exc:
            raise ImageError(exc.message) from exc
        except TimeoutError as exc:
            raise EngineUnavailable(
                f"{node}: preparing the pause image took longer than {deadline:g} s"
            ) from exc
        except DockerError as exc:
            if exc.status == NO_CONNECTION:
                raise EngineUnavailable(f"{node}: {_docker_message(exc)}") from exc
            raise ImageError(
                f"pause image {configured} could not be prepared: {_docker_message(exc)}"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise EngineUnavailable(
                f"{node}: connection to the Docker engine failed: {exc!r}"
            ) from exc

    async def ensure(self, image: str, policy: PullPolicy) -> None:
        if policy is PullPolicy.NEVER:
            if not await self._present(image):
                raise ImageNeverPull(
                    f'Container image "{image}" is not present with pull policy of Never'
                )
            return
        if policy is PullPolicy.IF_NOT_PRESENT and await self._present(image):
            return
        await self._pull(image)

    async def _present(self, image: str) -> bool:
        """Is the image on the engine? A positive answer is trusted for IMAGE_PRESENT_TTL seconds.

        Bring-up of a pod asks this once per container; re-asking the engine each time cost
        about a tenth of the bring-up time. A create that then fails forgets the answer.
        """
        seen = self._seen.get(image)
        if seen is not None and time.monotonic() - seen < IMAGE_PRESENT_TTL:
            return True
        pending = self._checking.get(image)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(image))
            self._checking[image] = pending
            pending.add_done_callback(lambda done: self._checked(image, done))
        return await asyncio.shield(pending)  # a caller cancelled leaves the others their answer

    def _checked(self, image: str, done: asyncio.Future[bool]) -> None:
        if self._checking.get(image) is done:
            del self._checking[image]
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have left

    async def _ask(self, image: str) -> bool:
        try:
            await self._calls.call(f"inspect image {image}", lambda d: d.images.inspect(image))
        except DockerError as exc:
            if exc.status == 404:
                self._seen.pop(image, None)
                return False
            raise ImageError(f"inspect of image {image} failed: {_docker_message(exc)}") from exc
        self._seen[image] = time.monotonic()
        return True

    async def _pull(self, image: str) -> None:
        seconds = self._image_pull.pull_timeout_seconds

        async def pull(docker: aiodocker.Docker) -> None:
            # stream=True: progress items are checked one by one; an item with "error" is a failure
            # even when aiodocker does not raise DockerStreamError for it.
            async for item in docker.images.pull(image, stream=True):
                message = _stream_error(item)
                if message is not None:
                    raise ImagePullFailed(f"failed to pull image {image}: {message}")

        try:
            await self._calls.call(f"pull {image}", pull, deadline=seconds)
        except EngineUnavailable as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise ImagePullFailed(
                    f"failed to pull image {image}: no result within {seconds:g} s"
                ) from exc
            raise
        except DockerError as exc:
            raise ImagePullFailed(f"failed to pull image {image}: {_docker_message(exc)}") from exc
