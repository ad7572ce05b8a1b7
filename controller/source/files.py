"""Find the manifest files of a folder and read one of them without trusting what the path is.

`manifest_files(root)` lists `*.yaml`, `*.yml` and `*.json` below `root` (sorted, so results and
conflict winners are stable); `read_text(path, folder)` returns a file's text or refuses it. Kept
apart from the YAML reading because the folder may hold anything, and every guard against what a
path can be lives here, in one place, before a single byte is parsed.

Traps (one bad file must not hurt the others):
- Files over 1 MiB are refused from their size without being read; non-UTF-8 files are refused.
- Hidden files and folders and editor leftovers (`.#x`, `x~`, `*.swp`, `*.bak`, ...) are skipped.
- Only regular files are opened. A FIFO would block the reader forever, a device could be endless:
  anything else (FIFO, socket, device, folder) is reported as `ignored: ...` from `os.lstat`/
  `os.stat` and never opened; the open itself is non-blocking and re-checked with `fstat`, in case
  the file was swapped between the check and the open.
- Symbolic links to files are followed only when their target resolves inside the folder; a link
  leading out (`secrets.yaml -> /etc/shadow`), a dangling link and a link loop are `ignored: ...`.
  Links to folders are not followed at all (`os.walk(followlinks=False)`), so a loop such as
  `loop -> .` cannot make the walk endless; they are reported as `ignored: ...` too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from controller.source.results import FOLDER_LINK, IGNORED, DocumentError, ManifestError

MAX_FILE_BYTES = 1 << 20
SUFFIXES = (".yaml", ".yml", ".json")
_LEFTOVER_SUFFIXES = (".swp", ".swo", ".swx", ".bak", ".orig", ".tmp", ".rej")


class FileIgnored(Exception):
    """The path is not a regular file inside the folder: reported, never opened."""


def manifest_files(root: Path) -> list[Path]:
    """Manifest files below `root`, sorted by path; hidden entries and leftovers skipped.

    Named like manifests, not checked: a FIFO or a link out of the folder is listed, and
    `load_file` reports it as ignored without opening it. Folder links are neither listed nor
    followed (`load_directory` reports them).
    """
    return walk_folder(root)[0]


def walk_folder(root: Path) -> tuple[list[Path], list[ManifestError]]:
    """`manifest_files`, plus what the walk itself skipped: folder links, unreadable folders."""
    found: list[Path] = []
    skipped: list[ManifestError] = []

    def unreadable(exc: OSError) -> None:
        where = Path(os.path.relpath(exc.filename, root)) if exc.filename else Path(".")
        skipped.append(ManifestError(where, 0, "", f"cannot read: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        kept: list[str] = []
        for name in dirs:
            if name.startswith("."):
                continue
            if os.path.islink(os.path.join(folder, name)):
                skipped.append(
                    ManifestError(
                        Path(folder, name).relative_to(root),
                        0,
                        "",
                        IGNORED + FOLDER_LINK,
                    )
                )
                continue
            kept.append(name)
        dirs[:] = kept
        for name in files:
            if name.endswith(SUFFIXES) and not _is_leftover(name):
                found.append(Path(folder, name))
    found.sort(key=lambda p: p.relative_to(root).parts)
    skipped.sort(key=lambda e: e.file.parts)
    return found, skipped


def _is_leftover(name: str) -> bool:
    return (
        name.startswith((".", "#"))
        or name.endswith(("~", "#"))
        or name.lower().endswith(_LEFTOVER_SUFFIXES)
    )


def folder_of(path: Path, relative: Path) -> Path:
    """The folder `path` was found in, given `relative` (`path` relative to that folder)."""
    steps = len(relative.parts)
    if steps and path.parts[-steps:] == relative.parts:
        return path.parents[steps - 1]
    return path.parent


def read_text(path: Path, folder: Path) -> str:
    """The file's text; FileIgnored if it is not a regular file inside `folder`, else
    DocumentError if it cannot be read, is too large or is not UTF-8."""
    try:
        target, size = _regular_file(path, folder)
        if size > MAX_FILE_BYTES:
            raise DocumentError(
                1, f"file is {size} bytes, larger than the {MAX_FILE_BYTES} bytes allowed; refused"
            )
        data = _read_regular(target)
    except OSError as exc:
        raise DocumentError(0, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(1, f"file is larger than the {MAX_FILE_BYTES} bytes allowed; refused")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DocumentError(
            line,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); manifests must be UTF-8",
        ) from None


def _regular_file(path: Path, folder: Path) -> tuple[Path, int]:
    """The resolved path of `path` and its size, or FileIgnored; opens nothing.

    `os.lstat` first, so a link is known as a link; then the target must resolve inside `folder`
    (also guards a path reached through a folder link) and be a regular file.
    """
    link = stat.S_ISLNK(os.lstat(path).st_mode)
    target = Path(os.path.realpath(path))
    if not target.is_relative_to(os.path.realpath(folder)):
        raise FileIgnored("a symbolic link that leads outside the folder")
    try:
        info = os.stat(target)
    except OSError as exc:
        if link and exc.errno == errno.ELOOP:
            raise FileIgnored("a symbolic link loop") from None
        if link and exc.errno == errno.ENOENT:
            raise FileIgnored("a symbolic link to a missing file") from None
        raise
    if not stat.S_ISREG(info.st_mode):
        raise FileIgnored(f"{_file_type(info.st_mode)}, not a regular file")
    return target, info.st_size


def _read_regular(target: Path) -> bytes:
    """Read at most MAX_FILE_BYTES + 1 bytes; non-blocking open, checked again with fstat.

    The checks in `_regular_file` happen before the open; should the file have been swapped for a
    FIFO in between, O_NONBLOCK keeps the open from hanging and fstat refuses it.
    """
    fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb", closefd=True) as stream:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileIgnored(f"{_file_type(mode)}, not a regular file")
        return stream.read(MAX_FILE_BYTES + 1)


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"
