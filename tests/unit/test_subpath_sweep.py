"""Which subPath mounts a sweep keeps: live containers and creates that a listing may have missed."""

from __future__ import annotations

import time
from collections.abc import Iterable

from controller.config import RuntimeSettings
from controller.model.meta import NodeName
from controller.runtime.docker.calls import DockerCalls
from controller.runtime.docker.subpaths import DockerSubPaths
from controller.runtime.hostmounts import HostMounts


class RecordingMounts(HostMounts):
    """Records what each sweep was told to keep; mounts nothing."""

    def __init__(self) -> None:
        super().__init__("/nonexistent", "engine")
        self.kept: list[set[str]] = []

    def sweep(self, keep: Iterable[str]) -> list[str]:
        self.kept.append(set(keep))
        return []


def subpaths() -> tuple[DockerSubPaths, RecordingMounts]:
    recording = RecordingMounts()
    paths = DockerSubPaths(DockerCalls(NodeName("n1"), RuntimeSettings()), "/nonexistent")

    async def existing() -> HostMounts:
        return recording

    paths._existing_mounts = existing  # type: ignore[method-assign]
    return paths, recording


async def test_a_create_under_way_or_ended_after_the_listing_began_is_kept() -> None:
    paths, recording = subpaths()
    listed_at = time.monotonic()
    paths.begin("creating")
    paths.begin("created")
    paths.end("created")  # ended after the listing began: the listing may not show it
    await paths.sweep(["live"], listed_at)
    assert recording.kept[-1] == {"live", "creating", "created"}

    paths.end("creating")
    await paths.sweep([], time.monotonic())  # a listing begun after both ended is the truth
    assert recording.kept[-1] == set()


async def test_overlapping_creates_of_one_name_are_kept_until_the_last_ends() -> None:
    paths, recording = subpaths()
    paths.begin("twice")
    paths.begin("twice")
    paths.end("twice")
    await paths.sweep([], time.monotonic())
    assert recording.kept[-1] == {"twice"}
