"""Read the manifests folder once: every file's objects and errors, and which folders are there.

Role: `scan_folder(root, cache, full=...)` is the blocking half of the watcher (run in a worker
thread): it lists files with `manifest_files`, reads each with `load_file`, and returns a
`FolderScan` for the safety rules. Files whose stat is unchanged since a trusted read are not read
again, unless `full`.

Traps:
- A read is trusted for caching only if the file's mtime was at least 2 s older than the read: a
  write within the same clock tick and of the same size would otherwise go unseen until `full`.
- A file that changed while it was read (stat before and after differ) is read again, up to three
  times; if it still moves, the scan is marked unsettled and the rules leave the file as it was.
- Files are listed before folders are walked, so a folder deleted in between looks gone (held by
  the rules), never like a folder still there whose files were deleted.
- For a file with errors, the keys its documents declare are read again leniently
  (`declared_keys`) so the rules can tell a broken document from a deleted one; that second read
  opens regular files only (`O_NOFOLLOW | O_NONBLOCK`), never a FIFO or a link.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path

import attrs
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.model.meta import ObjectKey
from controller.source.loader import (
    IGNORED,
    MAX_FILE_BYTES,
    ManifestError,
    load_file,
    manifest_files,
)
from controller.source.snapshot import FileScan, FolderScan

RACY_NS = 2_000_000_000
"""A read less than this long (ns) after the file's mtime is not trusted by the cache."""
_STR = "tag:yaml.org,2002:str"
_FOLDER_LINK = "a symbolic link to a folder (folder links are not followed)"
Fingerprint = tuple[int, int, int, int]


@attrs.frozen
class CachedRead:
    fingerprint: Fingerprint
    scan: FileScan
    trusted: bool
    """False when the read was racy: read again next time even if the stat is the same."""


def _fingerprint(path: Path) -> Fingerprint | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino


def _scalar(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == _STR and node.value:
        return str(node.value)
    return None


def _field(node: Node, name: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == name:
                return value  # type: ignore[no-any-return]
    return None


def _key_of(node: Node) -> ObjectKey | None:
    kind = _scalar(_field(node, "kind"))
    meta = _field(node, "metadata")
    name = _scalar(_field(meta, "name")) if meta is not None else None
    namespace = _field(meta, "namespace") if meta is not None else None
    ns = "default" if namespace is None else _scalar(namespace)
    return ObjectKey(kind, ns, name) if kind and ns and name else None


def declared_keys(text: str) -> frozenset[ObjectKey] | None:
    """Keys the file's documents declare, read leniently; None if any one cannot be read."""
    keys: set[ObjectKey] = set()
    try:
        for node in yaml.compose_all(text.replace("\t", " "), Loader=yaml.SafeLoader):
            items = [node]
            if _scalar(_field(node, "kind")) == "List":
                listed = _field(node, "items")
                if not isinstance(listed, SequenceNode):
                    return None
                items = list(listed.value)
            for item in items:
                key = _key_of(item)
                if key is None:
                    return None
                keys.add(key)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    return frozenset(keys)


def _regular_text(path: Path) -> str | None:
    """The file's text if it is a regular file (not a link, FIFO, device) of at most 1 MiB."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        st = os.fstat(stream.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        try:
            return stream.read(MAX_FILE_BYTES + 1).decode("utf-8").removeprefix("\ufeff")
        except (OSError, UnicodeDecodeError):
            return None


def _read(path: Path, relative: Path) -> tuple[FileScan, Fingerprint | None]:
    """One file, read until two stats around the read agree (three tries)."""
    scan = FileScan()
    for _ in range(3):
        before = _fingerprint(path)
        objects, errors = load_file(path, relative)
        declared = None
        if errors and not any(error.ignored for error in errors):
            text = _regular_text(path)
            declared = declared_keys(text) if text is not None else None
        scan = FileScan(tuple(objects), tuple(errors), declared)
        if before is not None and before == _fingerprint(path):
            return scan, before
    return attrs.evolve(scan, settled=False), None


def _folders(root: Path) -> tuple[frozenset[str], tuple[ManifestError, ...]]:
    """Folders readable below `root` (walked as `manifest_files` walks), and the walk's problems."""
    if not root.is_dir():
        missing = ManifestError(
            Path("."), 0, "", "the manifests folder does not exist (or is no folder)"
        )
        return frozenset(), (missing,)
    found: set[str] = set()
    problems: list[ManifestError] = []

    def unreadable(exc: OSError) -> None:
        where = Path(os.path.relpath(exc.filename, root)) if exc.filename else Path(".")
        problems.append(ManifestError(where, 0, "", f"cannot read: {exc.strerror or exc}"))

    for folder, dirs, _ in os.walk(root, onerror=unreadable, followlinks=False):
        found.add(Path(folder).relative_to(root).as_posix())
        kept = []
        for name in dirs:
            if name.startswith("."):
                continue
            if os.path.islink(os.path.join(folder, name)):
                where = Path(folder, name).relative_to(root)
                problems.append(ManifestError(where, 0, "", f"{IGNORED}{_FOLDER_LINK}"))
                continue
            kept.append(name)
        dirs[:] = kept
    return frozenset(found), tuple(sorted(problems, key=lambda e: e.file.parts))


def scan_folder(
    root: Path, cache: Mapping[str, CachedRead], *, full: bool
) -> tuple[FolderScan, dict[str, CachedRead]]:
    """Read the folder (blocking): every file's scan, and the cache for the next call.

    With `full`, every file is read again; otherwise a file whose stat matches a trusted cached
    read is not. Files are listed before folders are walked: a folder deleted in between then
    looks gone (held), never like a folder still there whose files were deleted.
    """
    paths = manifest_files(root) if root.is_dir() else []
    folders, errors = _folders(root)
    files: dict[str, FileScan] = {}
    new_cache: dict[str, CachedRead] = {}
    for path in paths:
        relative = path.relative_to(root)
        name = relative.as_posix()
        cached = cache.get(name)
        if not full and cached and cached.trusted and cached.fingerprint == _fingerprint(path):
            files[name], new_cache[name] = cached.scan, cached
            continue
        read_at = time.time_ns()
        files[name], fingerprint = _read(path, relative)
        if fingerprint is not None:
            trusted = fingerprint[0] < read_at - RACY_NS
            new_cache[name] = CachedRead(fingerprint, files[name], trusted)
    return FolderScan(files, folders, errors), new_cache
