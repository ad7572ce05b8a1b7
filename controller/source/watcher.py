"""The live manifests folder: watch it, rescan it, publish what it asks for after the safety rules.

Role: `FolderSource.run()` keeps `snapshot()` equal to the folder and calls `on_change` with each
new `DesiredSnapshot` (reading is in `scan`, the rules in `safety`). File events are hints, never
truth: the watchdog thread only sets a flag on the event loop; the loop waits until events stop
for `debounce_seconds` (at most `max_delay_seconds` after the first), then rescans the whole folder
in a worker thread, and rescans it anyway every `rescan_seconds` and when a hold ends. A rescan
reads only files whose stat changed since a trusted read (see `scan`); every `reread_seconds` it
reads every file, so an idle folder costs a listing and a stat per file, not a parse per file.

Traps:
- Watch the folder, not files: editors save by writing a temporary file and renaming it over the
  old one, which would leave a watch on a file pointing at the deleted inode.
- The observer runs in its own thread: it hands events over with `call_soon_threadsafe` (a closed
  loop is ignored), and only for names that can matter (manifest suffixes, folders, moves); opens
  and closes without writing, which our own reads cause, are not even subscribed to.
- If the folder does not exist, it is looked for every `poll_seconds`; if it is deleted or replaced
  (another inode, or a link to the folder pointed elsewhere), the observer is stopped and a new
  one started on the new folder, followed by a full rescan. The observer watches the resolved
  path: watchdog does not follow a link given as the watched path. When inotify is missing or out of watches or instances, the polling observer
  takes over (a warning is logged once).
- A scan that found a file still being written asks for another rescan after the debounce.
- The first scan is always published, even if empty, so callers can tell "read" from "not yet";
  later ones only when objects, errors, file statuses or holds changed.
- `on_change` runs on the event loop and must not block; an exception from it is logged.
- `set_baseline` (the pods found running, handed in by each engine once it listed every node) is
  folded in by the next scan, which is published even when equal to the last one: an engine that
  took over (a new lease term) waits for that snapshot to act.
- `.podyard-confirm-deletion` in the folder confirms every held deletion: that scan runs with a
  hold of 0 s, and the file is removed (if it cannot be, it confirms each scan while it stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from controller.config import PodSecuritySettings, WatchSettings
from controller.model.manifests import RunningObject
from controller.source.admission import admit_scan
from controller.source.loader import SUFFIXES
from controller.source.safety import WatchState, advance, with_baseline
from controller.source.scan import CachedRead, scan_folder
from controller.source.snapshot import CONFIRM_MARKER, DesiredSnapshot

__all__ = ["DesiredSnapshot", "FolderSource"]

log = logging.getLogger(__name__)

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
"""The events worth a rescan; opens and closes without writing (our own reads) are not."""


class _Handler(FileSystemEventHandler):
    """Runs in the observer's thread: keeps the events that can matter and wakes the loop."""

    def __init__(self, root: str, wake: Callable[[bool], None]) -> None:
        super().__init__()
        self._root = root
        self._wake = wake

    def dispatch(self, event: FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if isinstance(event, FileSystemMovedEvent):
            paths.append(os.fsdecode(event.dest_path))  # its destination is a create or update
        moved = isinstance(event, FileSystemMovedEvent)
        if event.is_directory or moved or any(_matters(p) for p in paths):
            self._wake(isinstance(event, DirDeletedEvent) and paths[0] == self._root)


def _matters(path: str) -> bool:
    return path.endswith(SUFFIXES) or os.path.basename(path) == CONFIRM_MARKER


class FolderSource:
    """The manifests folder as a stream of `DesiredSnapshot`s (see the module docstring).

    `clock` times the holds (and stamps them in `Hold.until`); debounce, polling and rescans use
    the event loop's clock. A clock that does not follow real time needs `request_rescan()` to
    make an ended hold take effect before the next rescan.
    """

    def __init__(
        self,
        root: Path,
        settings: WatchSettings,
        on_change: Callable[[DesiredSnapshot], None],
        clock: Callable[[], float] = time.monotonic,
        pod_security: PodSecuritySettings | None = None,
    ) -> None:
        self._root = root
        self._pod_security = pod_security or PodSecuritySettings()
        self._settings = settings
        self._on_change = on_change
        self._clock = clock
        self._state = WatchState()
        self._snapshot = DesiredSnapshot()
        self._published = False
        self._cache: dict[str, CachedRead] = {}
        self._wake_at: float | None = None
        self._dirty = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: BaseObserver | None = None
        self._watching: tuple[int, int] | None = None
        self._root_lost = False
        self._polling_reported = False
        self._baseline: tuple[RunningObject, ...] | None = None
        self._confirm_stuck = False

    def snapshot(self) -> DesiredSnapshot:
        """The last published snapshot (empty before the first scan)."""
        return self._snapshot

    def request_rescan(self) -> None:
        """Rescan after the debounce, as if a file event had come; call from the loop's thread."""
        self._dirty.set()

    def set_baseline(self, running: Iterable[RunningObject]) -> None:
        """The pods found running at start, per declaring object: the next scan holds what the
        folder no longer declares, as if it had been emptied live. Call from the loop's thread."""
        self._baseline = tuple(running)
        self._dirty.set()

    def _confirmed(self) -> bool:
        """True if the confirmation marker is in the folder; it is consumed (removed)."""
        marker = self._root / CONFIRM_MARKER
        if not marker.is_file():
            self._confirm_stuck = False
            return False
        try:
            marker.unlink()
        except OSError as exc:
            if not self._confirm_stuck:
                log.error(
                    "cannot remove %s (%s): it confirms every deletion while it stays", marker, exc
                )
                self._confirm_stuck = True
        log.warning("%s found: held deletions are confirmed and applied now", marker)
        return True

    async def run(self) -> None:
        """Watch and rescan until cancelled; the observer is stopped on the way out."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        next_full = next_reread = loop.time()
        try:
            while True:
                if self._ensure_observer():  # it may have missed changes while none ran
                    next_full = loop.time()
                due = next_full
                if self._wake_at is not None:  # a hold ends: its time, on the loop's clock
                    due = min(due, loop.time() + self._wake_at - self._clock())
                # wake every poll_seconds at least, to notice a folder replaced or (re)created
                timeout = min(due - loop.time(), self._settings.poll_seconds)
                if timeout > 0:
                    if await self._wait(timeout):
                        await self._debounce()
                    elif loop.time() < due:
                        continue  # only the folder check was due
                full = loop.time() >= next_full
                reread = loop.time() >= next_reread  # else the stats say what changed
                await self._rescan(full=reread)
                if full:
                    next_full = loop.time() + self._settings.rescan_seconds
                if reread:
                    next_reread = loop.time() + self._settings.reread_seconds
        finally:
            self._stop_observer()

    async def _wait(self, seconds: float) -> bool:
        """True if a change was signalled within `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                await self._dirty.wait()
        except TimeoutError:
            return False
        return True

    async def _debounce(self) -> None:
        """Return once events stopped for debounce_seconds, or max_delay_seconds passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.max_delay_seconds
        while True:
            self._dirty.clear()
            left = deadline - loop.time()
            if left <= 0 or not await self._wait(min(self._settings.debounce_seconds, left)):
                return

    async def _rescan(self, *, full: bool) -> None:
        self._dirty.clear()  # events from now on are about changes this scan may miss
        scan, self._cache = await asyncio.to_thread(scan_folder, self._root, self._cache, full=full)
        scan = admit_scan(scan, self._pod_security)
        baselined = self._baseline is not None
        if self._baseline is not None:
            self._state = with_baseline(self._state, self._baseline, self._clock())
            self._baseline = None
        settings = self._settings
        if self._confirmed():
            settings = attrs.evolve(settings, hold_seconds=0.0)
        outcome = advance(self._state, scan, self._clock(), settings)
        self._state, self._wake_at = outcome.state, outcome.wake_at
        if not all(file.settled for file in scan.files.values()):
            self._dirty.set()  # a file was being written: read it again after the debounce
        if self._published and outcome.snapshot == self._snapshot and not baselined:
            return  # unchanged; but a new baseline is always answered (a new engine waits on it)
        self._snapshot, self._published = outcome.snapshot, True
        try:
            self._on_change(outcome.snapshot)
        except Exception:
            log.exception("on_change failed for the snapshot of %s", self._root)

    def _from_thread(self, root_lost: bool) -> None:
        """Called in the observer's thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                self._loop.call_soon_threadsafe(self._signal, root_lost)

    def _signal(self, root_lost: bool) -> None:
        self._root_lost = self._root_lost or root_lost
        self._dirty.set()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = self._root.stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None

    def _ensure_observer(self) -> bool:
        """Match the observer to the folder; True if one was (re)started."""
        identity = self._identity()
        observer = self._observer
        if observer is not None and (
            self._root_lost or identity != self._watching or not observer.is_alive()
        ):
            self._stop_observer()
        self._root_lost = False
        if self._observer is not None or identity is None:
            return False
        self._observer = self._start_observer()
        self._watching = identity if self._observer is not None else None
        return self._observer is not None

    def _start_observer(self) -> BaseObserver | None:
        path = os.path.realpath(self._root)  # watchdog would watch a link itself, not its folder
        handler = _Handler(path, self._from_thread)
        observer: BaseObserver | None = None
        try:
            observer = Observer()
            observer.schedule(handler, path, recursive=True, event_filter=_EVENTS)
            observer.start()
            self._polling_reported = False
            return observer
        except OSError as exc:  # inotify missing, or out of watches or instances
            _stop(observer)
            if not self._polling_reported:
                log.warning("cannot watch %s with inotify (%s); polling it instead", path, exc)
                self._polling_reported = True
        observer = PollingObserver(timeout=self._settings.poll_seconds)
        try:
            observer.schedule(handler, path, recursive=True, event_filter=_EVENTS)
            observer.start()
        except OSError as exc:  # the folder went away meanwhile: try again on the next wake
            log.warning("cannot watch %s: %s", path, exc)
            _stop(observer)
            return None
        return observer

    def _stop_observer(self) -> None:
        observer, self._observer, self._watching = self._observer, None, None
        _stop(observer)


def _stop(observer: BaseObserver | None) -> None:
    if observer is None:
        return
    with contextlib.suppress(Exception):  # stopping must not fail a shutdown
        observer.stop()
        if observer.is_alive():
            observer.join(timeout=2)
