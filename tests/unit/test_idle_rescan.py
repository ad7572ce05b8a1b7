"""An idle folder is listed and stat'ed by its periodic rescan, never parsed again.

Parsing every file is the costliest idle work a controller has (a third of a second per 200 pod
files), so the rescan reads again only files whose stat changed since a trusted read; every file
is read once per `reread_seconds`. Waiting polls the counts with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controller.config import WatchSettings
from controller.source import scan, watcher
from controller.source.scan import scan_folder
from controller.source.watcher import FolderSource

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: app
    image: {image}
"""

FILES = 5
DEADLINE = 5.0


def write_old(path: Path, text: str) -> None:
    """A file last written an hour ago: its reads are trusted by the cache."""
    path.write_text(text)
    past = time.time() - 3600
    os.utime(path, (past, past))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(FILES):
        write_old(tmp_path / f"p{i}.yaml", POD.format(name=f"p{i}", image="busybox:1"))
    return tmp_path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file `load_file` parsed, by name, in order."""
    seen: list[str] = []
    real = scan.load_file

    def counting(path: Path, relative: Path) -> Any:
        seen.append(relative.as_posix())
        return real(path, relative)

    monkeypatch.setattr(scan, "load_file", counting)
    return seen


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every scan the watcher ran, as its `full` flag."""
    seen: list[bool] = []
    real = watcher.scan_folder

    def counting(root: Path, cache: Any, *, full: bool) -> Any:
        seen.append(full)
        return real(root, cache, full=full)

    monkeypatch.setattr(watcher, "scan_folder", counting)
    return seen


def test_a_scan_reads_only_files_whose_stat_changed(folder: Path, reads: list[str]) -> None:
    _, cache = scan_folder(folder, {}, full=True)
    assert len(reads) == FILES
    reads.clear()
    _, cache = scan_folder(folder, cache, full=False)
    assert reads == []
    write_old(folder / "p1.yaml", POD.format(name="p1", image="busybox:2"))
    found, cache = scan_folder(folder, cache, full=False)
    assert reads == ["p1.yaml"]
    assert "busybox:2" in repr(found.files["p1.yaml"].objects)
    reads.clear()
    scan_folder(folder, cache, full=True)
    assert len(reads) == FILES


async def poll(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def run_source(folder: Path, settings: WatchSettings, body: Callable[[], Any]) -> None:
    source = FolderSource(folder, settings, lambda snapshot: None)
    task = asyncio.create_task(source.run())
    try:
        await body()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_periodic_rescans_of_an_idle_folder_parse_nothing(
    folder: Path, reads: list[str], scans: list[bool]
) -> None:
    settings = WatchSettings(rescan_seconds=0.05, reread_seconds=3600.0, poll_seconds=0.05)

    async def body() -> None:
        await poll(lambda: len(scans) >= 6, "six rescans")
        assert scans[0] is True  # the first scan reads everything
        assert not any(scans[1:])
        assert sorted(reads) == sorted(f"p{i}.yaml" for i in range(FILES))

    await run_source(folder, settings, body)


async def test_every_file_is_read_again_each_reread_period(
    folder: Path, reads: list[str], scans: list[bool]
) -> None:
    settings = WatchSettings(rescan_seconds=0.05, reread_seconds=0.3, poll_seconds=0.05)

    async def body() -> None:
        await poll(lambda: scans.count(True) >= 2, "a second full read")
        await poll(lambda: len(reads) >= 2 * FILES, "every file read twice")
        assert scans.count(False) >= 1  # stat-only rescans came between

    await run_source(folder, settings, body)
