"""subPath mounts for one Docker engine: where each comes from, whether it may be made, when it goes.

Docker 20.10 (API 1.41) has no volume subpath mounts. A mount with a subPath is therefore opened
beneath its volume by `beneath` and bind-mounted by `hostmounts` onto a directory Podyard owns; the
create body binds that directory (see those modules for why a path string is never enough: the
CVE-2017-1002101 trap). This module decides the rest:

* **Where the root is.** An emptyDir's root is the Docker volume's `Mountpoint` on the host; a
  hostPath's is its path, made when missing (the engine made a missing bind source before).
* **Whether it may be made at all.** The mount is made in this process's mount namespace, and the
  engine must see it: the engine has to be reached through a unix socket whose peer (the engine,
  found by `SO_PEERCRED`) runs in the same mount namespace, and Podyard has to run as root. An engine
  on `tcp://` or `ssh://`, in a container or rootless gets no subPath at all: the container is
  refused with CreateContainerConfigError and a message saying why, never mounted unsafely.
* **Refusals name the subPath**: `failed to prepare subPath for volumeMount "data" of container
  "reader": path "x" escapes the volume (symlink)`. Nothing is mounted then.
* **When a mount goes.** With its container: on `remove_container`, on a create the engine
  refused, and on a sweep after each listing, which releases the mounts of every container the
  engine no longer has (removed by hand, or left by a controller that died). A create can be under
  way while a listing runs, so the sweep keeps the names being created and those created since
  the listing began; after an unanswered create (it may or may not exist) the mounts stay until a
  later listing says.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import struct
import time
from collections.abc import Iterable

import aiohttp
from aiodocker.exceptions import DockerError

from controller.model.errors import ConfigRefused, CreateFailed, EngineUnavailable, RuntimeFailure
from controller.model.plan import ContainerConfig, MountSpec
from controller.runtime.beneath import Escape, open_beneath, split_sub_path
from controller.runtime.docker.calls import DockerCalls, _docker_message
from controller.runtime.docker.json import _mapping
from controller.runtime.docker.volumes import volume_mountpoint
from controller.runtime.hostmounts import HostMounts

__all__ = ["DockerSubPaths"]

log = logging.getLogger(__name__)

_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_SOCKET_TIMEOUT_SECONDS = 5.0


class DockerSubPaths:
    """The subPath mounts of the containers of one engine, under `base_dir`."""

    def __init__(self, calls: DockerCalls, base_dir: str) -> None:
        self._calls = calls
        self._base = base_dir
        self._mounts: HostMounts | None = None
        self._busy: dict[str, int] = {}
        self._made: dict[str, float] = {}

    # -- one container's create ------------------------------------------------------------------

    def begin(self, docker_name: str) -> None:
        """A create of `docker_name` starts: the sweep must not take its mounts."""
        self._busy[docker_name] = self._busy.get(docker_name, 0) + 1

    def end(self, docker_name: str) -> None:
        """The create ended (whatever the outcome): a listing begun before now may miss it."""
        count = self._busy.pop(docker_name, 1) - 1
        if count > 0:
            self._busy[docker_name] = count
        self._made[docker_name] = time.monotonic()

    async def source(self, config: ContainerConfig, index: int, mount: MountSpec) -> str | None:
        """The host path the engine binds for `mount`; None when the subPath is the whole volume.

        ConfigRefused for a subPath that leaves its volume or cannot be mounted safely here.
        """
        container = config.identity.container_name
        what = (
            f'failed to prepare subPath for volumeMount "{mount.volume_name or mount.target}" '
            f'of container "{container}"'
        )
        try:
            if not split_sub_path(mount.sub_path):
                return None
        except Escape as refused:
            raise ConfigRefused(f"{what}: {refused}") from None
        refusal = await self._refusal()
        if refusal is not None:
            raise ConfigRefused(f"{what}: {refusal}")
        mounts = await self._host_mounts()
        if mount.kind == "bind":
            root = mount.source
        else:
            root = await volume_mountpoint(self._calls, mount.source)
        uid, name = config.identity.pod.uid, config.docker_name

        def prepare() -> str:
            if mount.kind == "bind":
                os.makedirs(root, exist_ok=True)
            with open_beneath(root, mount.sub_path) as opened:
                return mounts.mount(uid, name, index, opened)

        try:
            return await asyncio.to_thread(prepare)
        except Escape as refused:
            raise ConfigRefused(f"{what}: {refused}") from None
        except (OSError, ValueError) as failed:
            raise CreateFailed(f"{what}: {failed}") from failed

    async def local_refusal(self, what: str) -> str | None:
        """Why files Podyard writes on its host (configMap and secret volumes) cannot be bound
        into this engine's containers, or None when the engine shares Podyard's host and mounts."""
        return await self._refusal(what)

    # -- removal ---------------------------------------------------------------------------------

    async def release(self, pod_uid: str, docker_name: str) -> None:
        """Unmount a container's subPaths (it is gone, or was never created).

        Never raises: what the container's removal or refusal reports matters more, and a mount
        left here is released by the sweep of a later listing.
        """
        self._made.pop(docker_name, None)
        try:
            mounts = await self._existing_mounts()
            if mounts is not None:
                await asyncio.to_thread(mounts.release, pod_uid, docker_name)
        except (OSError, ValueError, RuntimeFailure) as failed:
            log.warning(
                "%s: subPath mounts of %s not released: %s", self._calls.node, docker_name, failed
            )

    async def sweep(self, live: Iterable[str], listed_at: float) -> None:
        """Release the mounts of containers absent from a listing begun at `listed_at`.

        Never raises: a listing must not fail because a leftover could not be cleaned.
        """
        keep = set(live) | set(self._busy)
        keep |= {name for name, made in self._made.items() if made >= listed_at}
        try:
            mounts = await self._existing_mounts()
            if mounts is None:
                return
            released = await asyncio.to_thread(mounts.sweep, keep)
        except (OSError, ValueError, RuntimeFailure) as failed:
            log.warning("%s: subPath mounts not swept: %s", self._calls.node, failed)
            return
        for name in [name for name, made in self._made.items() if made < listed_at]:
            del self._made[name]
        for name in released:
            log.info(
                "%s: released the subPath mounts of removed container %s", self._calls.node, name
            )

    # -- the engine ------------------------------------------------------------------------------

    async def _existing_mounts(self) -> HostMounts | None:
        """This engine's mounts when any folder of them exists (no engine call otherwise)."""
        if self._mounts is None and not await asyncio.to_thread(os.path.isdir, self._base):
            return None
        mounts = await self._host_mounts()
        return mounts if await asyncio.to_thread(os.path.isdir, mounts.root) else None

    async def _host_mounts(self) -> HostMounts:
        if self._mounts is None:
            try:
                info = await self._calls.call("info", lambda d: d.system.info())
            except DockerError as exc:
                raise RuntimeFailure(
                    f"{self._calls.node}: info failed: {_docker_message(exc)}"
                ) from exc
            data = _mapping(info)
            engine_id, data_root = str(data.get("ID") or ""), str(data.get("DockerRootDir") or "")
            if not (engine_id and data_root):
                raise CreateFailed(f"{self._calls.node}: the engine reports no ID or root dir")
            self._mounts = HostMounts(self._base, _engine_key(engine_id, data_root))
        return self._mounts

    async def _refusal(self, what: str = "subPath") -> str | None:
        """Why `what` (subPath mounts, or files Podyard writes for the engine to bind) cannot be
        made safely for this engine, or None."""
        client = self._calls.client()
        # aiodocker's ssh:// connector is a UnixConnector too (a local tunnel): only the class
        # itself means a socket of the engine on this host.
        if type(client.connector) is not aiohttp.UnixConnector:
            address = getattr(client, "_connection_info", client.docker_host)
            return (
                f"{what} needs the Docker engine on Podyard's own host, reached through its unix "
                f"socket; this engine is at {address}"
            )
        if os.geteuid() != 0:
            return f"{what} needs Podyard to run as root: it mounts on the engine's host itself"
        return await asyncio.to_thread(_engine_namespace_refusal, client.connector.path, what)


def _engine_key(engine_id: str, data_root: str) -> str:
    """One engine's folder name: its ID alone is not unique on a host (dockerd 20.10 derives it
    from a key file two daemons may share), its ID with its data root is."""
    return hashlib.sha256(f"{engine_id}\0{data_root}".encode()).hexdigest()[:16]


def _engine_namespace_refusal(socket_path: str, what: str = "subPath") -> str | None:
    """None when the process answering on `socket_path` shares this process's mount namespace."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_SOCKET_TIMEOUT_SECONDS)
            conn.connect(socket_path)
            raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    except OSError as exc:
        raise EngineUnavailable(f"cannot reach the engine at {socket_path}: {exc}") from exc
    pid = _PEERCRED.unpack(raw)[0]
    elsewhere = (
        f"{what} needs the Docker engine in Podyard's own mount namespace (not in a container, "
        "not rootless), where it sees the mounts Podyard makes"
    )
    if pid <= 0:  # the engine's process is not visible from here: another PID namespace
        return elsewhere
    try:
        theirs = os.stat(f"/proc/{pid}/ns/mnt")
        ours = os.stat("/proc/self/ns/mnt")
    except OSError:
        return elsewhere
    if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
        return elsewhere
    return None
