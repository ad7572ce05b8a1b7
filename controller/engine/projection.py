"""The files of a configMap or secret volume on the engine's host, swapped atomically.

`write_projection(folder, files)` lays `files` (relative path -> bytes and mode) out as the
kubelet's AtomicWriter does, so a reader inside the container never sees half an update:

    folder/..2026_12_06_21_40_00.123456789/<path>    the files of this version
    folder/..data -> ..2026_12_06_21_40_00.123456789 swapped by one rename(2)
    folder/<first component> -> ..data/<first component>   what the user sees

A new version is written beside the old one, then the `..data` link is replaced by renaming a
fresh link over it (atomic), then the old version and links of paths no longer present go.
Writing the same files again changes nothing (no new version, no inotify noise).

`mount_tmpfs(folder)` puts a Secret's folder on tmpfs first, so its values never reach a disk;
`remove_projection(folder)` unmounts and removes one.

Traps:
- Paths were validated (relative, no `..`, normalized); they are checked again here, because a
  bad one would write outside the folder.
- Only Podyard writes below its folder; the engine binds it read-only into containers, so no
  container can plant a link in it.
- Blocking file-system calls: callers run these in a worker thread.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import time
from collections.abc import Mapping

__all__ = ["DATA_LINK", "mount_tmpfs", "read_projection", "remove_projection", "write_projection"]

DATA_LINK = "..data"
_TMP_LINK = "..data_tmp"
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)

Files = Mapping[str, tuple[bytes, int]]


def _check(path: str) -> list[str]:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe path in a projected volume: {path!r}")
    if parts[0].startswith(".."):
        raise ValueError(f"unsafe path in a projected volume: {path!r}")
    return parts


def read_projection(folder: str) -> dict[str, tuple[bytes, int]]:
    """The files the current version holds (what `write_projection` last wrote)."""
    current = os.path.join(folder, DATA_LINK)
    if not os.path.islink(current):
        return {}
    found: dict[str, tuple[bytes, int]] = {}
    root = os.path.realpath(current)
    for directory, _, names in os.walk(root):
        for name in names:
            full = os.path.join(directory, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, root)] = (handle.read(), os.stat(full).st_mode & 0o777)
    return found


def write_projection(folder: str, files: Files) -> bool:
    """Make `folder` show exactly `files`; True when it changed."""
    for path in files:
        _check(path)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    if os.path.islink(os.path.join(folder, DATA_LINK)) and read_projection(folder) == dict(files):
        return False
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
    version = os.path.join(folder, stamp)
    os.mkdir(version, 0o755)
    for path, (content, mode) in files.items():
        full = os.path.join(version, path)
        os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(full, mode)  # the umask must not narrow the mode asked for
    old = (
        os.readlink(os.path.join(folder, DATA_LINK))
        if os.path.islink(os.path.join(folder, DATA_LINK))
        else None
    )
    tmp = os.path.join(folder, _TMP_LINK)
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    os.rename(tmp, os.path.join(folder, DATA_LINK))  # the atomic step
    tops = {path.split("/")[0] for path in files}
    for top in tops:
        link = os.path.join(folder, top)
        if not os.path.islink(link):
            os.symlink(os.path.join(DATA_LINK, top), link)
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if name.startswith(".."):
            if name not in (DATA_LINK, stamp) and not os.path.islink(full):
                shutil.rmtree(full)  # an old version: only Podyard's files are in it
        elif name not in tops and os.path.islink(full):
            os.unlink(full)
    if old is not None and old != stamp and os.path.isdir(os.path.join(folder, old)):
        shutil.rmtree(os.path.join(folder, old))
    return True


def mount_tmpfs(folder: str) -> None:
    """Put `folder` on a tmpfs of its own (once); needs root."""
    os.makedirs(folder, mode=0o755, exist_ok=True)
    if os.path.ismount(folder):
        return
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if _libc.mount(b"tmpfs", folder.encode(), b"tmpfs", flags, b"mode=0755,size=4m") != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot mount a tmpfs on {folder}: {os.strerror(code)}")


def remove_projection(folder: str) -> None:
    """Unmount (if a tmpfs) and remove one volume's folder; a missing folder is fine."""
    if not os.path.lexists(folder):
        return
    for _ in range(4):
        if not os.path.ismount(folder):
            break
        if _libc.umount2(folder.encode(), _MNT_DETACH) != 0:
            code = ctypes.get_errno()
            if code != errno.EINVAL:
                raise OSError(code, f"cannot unmount {folder}: {os.strerror(code)}")
            break
    if os.path.ismount(folder):
        raise OSError(errno.EBUSY, f"{folder} is still a mount point")
    shutil.rmtree(folder)
