"""What the folder source publishes and reads: snapshots, holds, file statuses, file scans.

Plain frozen data shared by `scan` (which fills `FolderScan`), `safety` (which turns scans into
`DesiredSnapshot`s) and `watcher` (which publishes them); no behaviour beyond rendering a notice.

Trap: `DesiredSnapshot` compares without `notices`, whose countdown changes every second; `holds`
carries the same information without it, so an unchanged hold never causes a new publication.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from pathlib import Path

import attrs

from controller.config import WatchSettings
from controller.model.meta import ObjectKey
from controller.source.loader import LoadedObject, ManifestError

CONFIRM_MARKER = ".podyard-confirm-deletion"
"""A file of this name in the manifests folder confirms every held deletion: the next scan
applies them at once and removes the file."""

Entry = tuple[LoadedObject, int]
"""An object and the line of its `metadata.name` (where a conflict error points)."""


class FileState(enum.StrEnum):
    OK = "ok"
    INVALID = "invalid"
    HELD = "held"


class HoldReason(enum.StrEnum):
    EMPTY_FILE = "empty file"
    FILE_MISSING = "missing file"
    """At start only: pods made from the file run, and the file is not there."""
    FOLDER_GONE = "folder gone"
    MASS_DELETION = "mass deletion"


@attrs.frozen
class FileScan:
    """One manifest file as one scan read it."""

    objects: tuple[Entry, ...] = ()
    errors: tuple[ManifestError, ...] = ()
    declared: frozenset[ObjectKey] | None = None
    """Keys its documents declare, broken ones included; None if some key could not be read."""
    settled: bool = True
    """False if the file changed while it was read: this read is not trusted."""


@attrs.frozen
class FolderScan:
    files: Mapping[str, FileScan]
    """By path relative to the folder, `/`-separated."""
    folders: frozenset[str]
    """Folders the walk could read, relative (`.` is the root); empty if the root is missing."""
    errors: tuple[ManifestError, ...] = ()
    """Folder-level problems: missing root, unreadable subfolders, ignored entries."""


@attrs.frozen
class Hold:
    """A change held back, identified without its countdown (so snapshots compare stably)."""

    reason: HoldReason
    until: float
    """When it will be applied, on the caller's clock (seconds)."""
    keys: tuple[ObjectKey, ...]
    file: str = ""
    """The file held (EMPTY_FILE, FOLDER_GONE)."""
    pods: int = 0
    """MASS_DELETION: the pods the held removals would remove, out of `total`."""
    total: int = 0

    def summary(self) -> str:
        """What is held and why, without the countdown (for events, which aggregate repeats)."""
        if self.reason is HoldReason.MASS_DELETION:
            why = f"removing {self.pods} of {self.total} pod(s) at once"
        elif self.reason is HoldReason.FOLDER_GONE:
            why = f"the folder of manifest {self.file} is gone or unreadable"
        else:
            why = f"manifest {self.file} is {'empty' if self.reason is HoldReason.EMPTY_FILE else 'missing'}"
        return f"Deletion held back: {why}; create {CONFIRM_MARKER} in the folder to apply it now"

    def notice(self, now: float, settings: WatchSettings) -> str:
        left = f"for {max(math.ceil(self.until - now), 0)} s more"
        count = f"{len(self.keys)} object(s)"
        confirm = f"; create {CONFIRM_MARKER} in the folder to apply it now"
        if self.reason is HoldReason.EMPTY_FILE:
            return f"{self.file} is empty: keeping its {count} {left}{confirm}"
        if self.reason is HoldReason.FILE_MISSING:
            return f"{self.file} is missing while its pods run: keeping its {count} {left}{confirm}"
        if self.reason is HoldReason.FOLDER_GONE:
            folder = Path(self.file).parent.as_posix()
            where = "the manifests folder" if folder == "." else f"folder {folder}"
            return (
                f"{where} is gone or unreadable: keeping the {count} of {self.file} {left}{confirm}"
            )
        names = ", ".join(map(str, self.keys[:5])) + (" ..." if len(self.keys) > 5 else "")
        share = f"{settings.max_deletion_fraction:.0%}"
        return (
            f"removing {self.pods} of {self.total} pod(s) at once is more than {share}: "
            f"keeping {names} {left} (restore the files to cancel){confirm}"
        )


@attrs.frozen
class FileStatus:
    state: FileState
    message: str = ""
    """The first error (INVALID) or why it is held (HELD); no countdown, see `notices`."""
    objects: int = 0
    """Objects of this file in the published set."""


@attrs.frozen
class DesiredSnapshot:
    """What the folder asks for, after the safety rules: published whenever it changes."""

    objects: tuple[LoadedObject, ...] = ()
    """The effective desired objects, by key; each knows its file and line."""
    errors: tuple[ManifestError, ...] = ()
    """Current problems: folder-level first, then by file and line."""
    notices: tuple[str, ...] = attrs.field(default=(), eq=False)
    """Held-back changes for people, with the countdown at publication time."""
    files: Mapping[str, FileStatus] = attrs.field(factory=dict)
    holds: tuple[Hold, ...] = ()
    """The held-back changes for programs (the notices without their countdown)."""
    baselined: bool = False
    """The pods found running at start were compared with the folder (start-time holds are in
    `holds`): the engine may act on this snapshot. False until the engine listed every node."""
