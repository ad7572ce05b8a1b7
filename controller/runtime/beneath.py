"""Open a volume's subPath without ever leaving the volume: the resolver behind safe subPath mounts.

A subPath names a path inside a volume that containers can write to. Joining it to the volume's
host path and handing that string to the engine lets a container choose what the next container
gets: `ln -s / /vol/x` in one container, `subPath: x` in the next, and the host's root filesystem is
mounted (the hole Kubernetes closed as CVE-2017-1002101). Checking the path first and mounting it
afterwards is no better: the link can be swapped in between the check and the mount.

So the path is resolved by hand, one component at a time, each opened relative to the directory
opened before it (`openat` with `O_PATH | O_NOFOLLOW`), and the caller mounts the file descriptor it
gets back (`/proc/self/fd/N`), never the path. The rules:

* The text is refused up front when it is absolute or has a `..` component (as Kubernetes'
  validation does); empty and `.` components are ignored.
* A symlink is never followed by the kernel. Its target is read and resolved the same way, beneath
  the volume: a relative target from the link's directory, where `..` may climb back up but never
  above the volume's root; an absolute target only when it names a path inside the volume's own
  host path (the kubelet's rule), resolved from the root. Anything else is an escape. At most
  `MAX_SYMLINKS` links are followed (the kernel's own limit), so a loop ends as an error.
* Missing components are made as directories (mode 0755 before the umask), each with `mkdirat` on
  the directory opened just before, as the engine did for a missing bind source.
* A component in the middle that is not a directory is refused; the last one may be anything that
  is not a symlink (a directory, a file, a socket) and is opened as itself.

`..` in a link target is handled by going back to the directory opened earlier (a stack of open
descriptors), never by asking the kernel for `..`: a directory moved while the walk runs cannot take
the walk outside, because every step starts from a descriptor known to lie inside.

Linux only (`O_PATH`). `openat2(RESOLVE_BENEATH)` would do the same in the kernel; Python has no
wrapper for it, and this walk (the kubelet's own approach) works on every kernel Docker supports.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat

__all__ = ["MAX_SYMLINKS", "Escape", "OpenedPath", "open_beneath", "split_sub_path"]

MAX_SYMLINKS = 40
"""Links followed in one resolution before giving up (Linux's own limit)."""

_DIR_MODE = 0o755
_O_PATH = getattr(os, "O_PATH", 0)
"""Linux's; elsewhere 0 keeps the module importable, and opening a link then fails (ELOOP)."""
_OPEN_FLAGS = _O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class Escape(Exception):
    """The subPath cannot be opened inside its volume; the message says why, naming the path."""


class OpenedPath:
    """What a subPath resolved to: an `O_PATH` descriptor (owned: `close` it) and its kind."""

    def __init__(self, fd: int, is_dir: bool) -> None:
        self.fd = fd
        self.is_dir = is_dir

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> OpenedPath:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def split_sub_path(sub_path: str) -> list[str]:
    """The components of a subPath; Escape for an absolute path or any `..` component."""
    if posixpath.isabs(sub_path):
        raise Escape(f'path "{sub_path}" must be a relative path inside the volume')
    parts = [part for part in sub_path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Escape(f'path "{sub_path}" must not contain ".."')
    return parts


def open_beneath(root: str, sub_path: str) -> OpenedPath:
    """Open `sub_path` beneath the directory `root`, making missing directories on the way.

    `root` itself is trusted (the engine's volume path or the manifest's hostPath) and may be
    reached through symlinks; nothing below it is. Raises Escape, or OSError for a failure that is
    not the path's fault (permissions, a full disk).
    """
    parts = split_sub_path(sub_path)
    root_fd = os.open(root, _O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    stack = [root_fd]
    try:
        root_real = os.readlink(f"/proc/self/fd/{root_fd}")
        is_dir = _walk(stack, parts, root_real, sub_path)
        fd = stack.pop()
        if fd == root_fd:  # the subPath names the volume itself
            fd = os.dup(root_fd)
        return OpenedPath(fd, is_dir)
    finally:
        for fd in stack:
            os.close(fd)


def _walk(stack: list[int], parts: list[str], root_real: str, sub_path: str) -> bool:
    """Resolve `parts` from the top of `stack`, pushing what is opened; True if it ends on a dir."""
    pending = list(reversed(parts))  # a stack of components still to resolve, next one last
    links = 0
    is_dir = True
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":  # only ever from a link's target
            if len(stack) == 1:
                raise Escape(f'path "{sub_path}" escapes the volume (symlink)')
            os.close(stack.pop())
            is_dir = True
            continue
        if not is_dir:
            raise Escape(f'path "{sub_path}" goes through a file that is not a directory')
        fd = _open_or_make(stack[-1], name)
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            try:
                target = os.readlink("", dir_fd=fd)  # the link opened, not its name again
            finally:
                os.close(fd)
            links += 1
            if links > MAX_SYMLINKS:
                raise Escape(f'path "{sub_path}" has too many levels of symlinks')
            if posixpath.isabs(target):
                inside = _inside(root_real, target)
                if inside is None:
                    raise Escape(f'path "{sub_path}" escapes the volume (symlink)')
                while len(stack) > 1:  # start again from the root
                    os.close(stack.pop())
                target = inside
            pending.extend(reversed(target.split("/")))
            is_dir = True
            continue
        stack.append(fd)
        is_dir = stat.S_ISDIR(mode)
    return is_dir


def _open_or_make(parent: int, name: str) -> int:
    """Open `name` in `parent` without following it; a missing one is made as a directory."""
    try:
        return os.open(name, _OPEN_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        pass
    with contextlib.suppress(FileExistsError):  # made meanwhile: open whatever it is now
        os.mkdir(name, _DIR_MODE, dir_fd=parent)
    return os.open(name, _OPEN_FLAGS, dir_fd=parent)


def _inside(root_real: str, target: str) -> str | None:
    """`target` relative to the root when it lies beneath it (textually), else None."""
    normal = posixpath.normpath(target)
    if normal == root_real:
        return "."
    prefix = root_real.rstrip("/") + "/"
    return normal[len(prefix) :] if normal.startswith(prefix) else None
