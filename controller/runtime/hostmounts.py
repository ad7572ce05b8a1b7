"""Podyard's own bind mounts on the host: one per container mount with a subPath.

The engine cannot be given a subPath as a path inside the volume (a container may have swapped a
component for a symlink by the time the engine mounts it; see `beneath`). Instead the subPath is
opened safely, and the descriptor opened is bind-mounted (`mount(2)` of `/proc/self/fd/N`, which
binds exactly the object opened) onto a directory Podyard owns:

    <base>/<engine id>/<pod uid>/<container's Docker name>/<mount index>

and that path, which holds no symlink and no component a container can write, is what the engine
binds into the container. The engine id (a digest of the engine's ID and data root) keeps the
mounts of two engines on one host apart, so the sweep of one never takes the other's; the Docker name includes the attempt, so a restarted
container gets a fresh resolution (the volume may have changed) while the dead one keeps its own.

Traps this module deals with:

* **Never delete recursively.** Every target is a mount point over a user's volume: a recursive
  delete would go through it and erase the volume's data. Targets are unmounted (`MNT_DETACH`,
  repeated until the kernel says it is not a mount point) and then removed with `rmdir`/`unlink`,
  which fail rather than remove a directory that still has content.
* **Stale mounts.** Preparing a target that is already a mount point (a create retried after a
  crash) unmounts it first, so mounts never stack up.
* **Mount propagation.** The mount is made in this process's mount namespace; the engine sees it
  only when it runs in the same one (checked by the caller before anything is mounted).
* **Threads.** These calls block on the file system, so the caller runs them in a worker thread;
  a lock keeps a sweep from removing a directory a preparation is about to mount on.

Needs root (CAP_SYS_ADMIN) and Linux.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import threading
from collections.abc import Iterable

from controller.runtime.beneath import OpenedPath

__all__ = ["HostMounts", "safe_name"]

_MS_BIND = 4096
_MNT_DETACH = 2
_UMOUNT_NOFOLLOW = 8
_MAX_UNMOUNTS = 16
"""Unmounts tried on one target before giving up: a mount stacked more often is not ours."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

_libc = ctypes.CDLL(None, use_errno=True)

log = logging.getLogger(__name__)


def safe_name(text: str) -> bool:
    """True for a name that is one plain path component (no `/`, not `.` or `..`)."""
    return _SAFE_NAME.fullmatch(text) is not None


def _check(result: int, what: str, path: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}", path)


def _bind_fd(fd: int, target: str) -> None:
    source = f"/proc/self/fd/{fd}".encode()
    _check(_libc.mount(source, target.encode(), None, _MS_BIND, None), "bind mount", target)


def _unmount_all(target: str) -> None:
    """Unmount `target` until it is no mount point; a missing target is fine."""
    for _ in range(_MAX_UNMOUNTS):
        if _libc.umount2(target.encode(), _MNT_DETACH | _UMOUNT_NOFOLLOW) != 0:
            code = ctypes.get_errno()
            if code in (errno.EINVAL, errno.ENOENT):
                return
            raise OSError(code, f"unmount: {os.strerror(code)}", target)
    raise OSError(errno.EBUSY, "still mounted after repeated unmounts", target)


class HostMounts:
    """The subPath bind mounts of one engine, under `<base>/<engine id>`."""

    def __init__(self, base_dir: str, engine_id: str) -> None:
        if not safe_name(engine_id):
            raise ValueError(f"engine id {engine_id!r} is not a plain name")
        self.root = os.path.join(base_dir, engine_id)
        self._lock = threading.Lock()

    def container_dir(self, pod_uid: str, docker_name: str) -> str:
        if not (safe_name(pod_uid) and safe_name(docker_name)):
            raise ValueError(f"pod uid {pod_uid!r} or name {docker_name!r} is not a plain name")
        return os.path.join(self.root, pod_uid, docker_name)

    def mount(self, pod_uid: str, docker_name: str, index: int, opened: OpenedPath) -> str:
        """Bind `opened` onto the container's target for mount `index`; the target's path."""
        directory = self.container_dir(pod_uid, docker_name)
        target = os.path.join(directory, str(index))
        with self._lock:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            _unmount_all(target)
            if os.path.lexists(target) and os.path.isdir(target) != opened.is_dir:
                _remove_target(target)
            if not os.path.lexists(target):
                if opened.is_dir:
                    os.mkdir(target, 0o700)
                else:
                    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            _bind_fd(opened.fd, target)
        return target

    def release(self, pod_uid: str, docker_name: str) -> None:
        """Unmount and remove every target of one container (and its pod's folder once empty)."""
        with self._lock:
            self._release(pod_uid, docker_name)

    def sweep(self, keep: Iterable[str]) -> list[str]:
        """Release every container's targets except those of `keep` (Docker names); the released."""
        kept = set(keep)
        released: list[str] = []
        with self._lock:
            for pod_uid in _listdir(self.root):
                for docker_name in _listdir(os.path.join(self.root, pod_uid)):
                    if docker_name in kept or not (safe_name(pod_uid) and safe_name(docker_name)):
                        continue
                    try:
                        self._release(pod_uid, docker_name)
                    except OSError as failed:  # one stuck mount must not keep the others
                        log.warning("subPath mounts of %s not released: %s", docker_name, failed)
                    else:
                        released.append(docker_name)
            _rmdir_if_empty(self.root)
        return released

    def _release(self, pod_uid: str, docker_name: str) -> None:
        directory = self.container_dir(pod_uid, docker_name)
        for index in _listdir(directory):
            target = os.path.join(directory, index)
            _unmount_all(target)
            _remove_target(target)
        _rmdir_if_empty(directory)
        _rmdir_if_empty(os.path.dirname(directory))


def _remove_target(target: str) -> None:
    """Remove an unmounted target: an empty directory or file (never anything recursively)."""
    if os.path.isdir(target) and not os.path.islink(target):
        os.rmdir(target)
    else:
        os.unlink(target)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _rmdir_if_empty(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            raise
