"""Pod volumes on one Docker engine: create, list, find on the host, remove.

`DockerRuntime`'s volume methods hand over to these functions. They are separate from the container
calls because a volume has its own ownership check (the pod uid label on the volume, not the
container identity labels) and its own Docker API, and because a mount with a subPath asks
`volume_mountpoint` where a volume lives on the host (see `dockersubpaths`).

Traps this module deals with:

* **Ownership.** A volume is Podyard's only with the pod uid label. `ensure_volume` raises
  `NotOurs` when a volume of that name exists for another pod (or for nobody), and `remove_volume`
  refuses one without the label; a listing drops volumes whose labels do not name a pod.
* **A name may be taken.** A volume of that name may already exist, so `ensure_volume` creates
  and then inspects, and judges the owner of the volume the engine holds afterwards.

Docker behaviours verified on dockerd 20.10 (cgroup v1), and covered by the integration tests:

* The local driver's tmpfs volume (`type=tmpfs, device=tmpfs, o=size=N`) works with and without a
  size (without one the kernel's default, half of RAM, applies); a top-level `size` option is refused
  ("quota size requested but no quota support"). Its content lives only while at least one running
  container mounts it: the volume is mounted on first use and unmounted when the last user stops.
  It is made with `mode=1777`, so containers running as any user can write to it. A disk emptyDir
  is a plain local volume, root-owned 0755 as Docker makes it: only root can write to it.
"""

from __future__ import annotations

from typing import Any

from aiodocker.exceptions import DockerError
from aiodocker.volumes import DockerVolume

from controller.model import labels
from controller.model.errors import CreateFailed, NotOurs, RuntimeFailure
from controller.model.observed import ObservedVolume
from controller.model.plan import EnsureVolume
from controller.runtime.docker.calls import DockerCalls, _docker_message, _untyped
from controller.runtime.docker.json import _mapping, _pod_ref, _str_labels

__all__ = ["ensure_volume", "list_volumes", "remove_volume", "volume_mountpoint"]


async def list_volumes(calls: DockerCalls) -> list[ObservedVolume]:
    try:
        data = await calls.call(
            "list volumes",
            lambda d: _untyped(d.volumes).list(filters={"label": [labels.POD_UID]}),
        )
    except DockerError as exc:
        raise RuntimeFailure(
            f"{calls.node}: listing volumes failed: {_docker_message(exc)}"
        ) from exc
    result: list[ObservedVolume] = []
    for volume in _mapping(data).get("Volumes") or ():
        volume_json = _mapping(volume)
        volume_labels = _str_labels(volume_json.get("Labels"))
        pod = _pod_ref(volume_labels)
        name = volume_json.get("Name")
        if pod is None or not name:
            continue
        result.append(
            ObservedVolume(
                name=str(name),
                node=calls.node,
                pod=pod,
                volume_name=volume_labels.get(labels.VOLUME_NAME, ""),
            )
        )
    return result


async def volume_mountpoint(calls: DockerCalls, name: str) -> str:
    """Where the volume lives on the engine's host; a failure here fails the container's create."""
    try:
        data = await calls.call(
            f"inspect volume {name}", lambda d: _untyped(DockerVolume)(d, name).show()
        )
    except DockerError as exc:
        raise CreateFailed(f"volume {name}: {_docker_message(exc)}") from exc
    mountpoint = _mapping(data).get("Mountpoint")
    if not mountpoint:
        raise CreateFailed(f"volume {name} has no mount point on the engine's host")
    return str(mountpoint)


async def ensure_volume(calls: DockerCalls, volume: EnsureVolume) -> None:
    body: dict[str, Any] = {
        "Name": volume.docker_name,
        "Driver": "local",
        "Labels": labels.volume_labels(volume.pod, volume.volume_name),
    }
    if volume.memory:
        # mode 1777 as Kubernetes' emptyDir (0777): a non-root container (runAsUser) can write
        options = {"type": "tmpfs", "device": "tmpfs", "o": "mode=1777"}
        if volume.tmpfs_size_bytes:
            options["o"] = f"mode=1777,size={volume.tmpfs_size_bytes}"
        body["DriverOpts"] = options
    name = volume.docker_name
    try:
        await calls.call(f"create volume {name}", lambda d: _untyped(d.volumes).create(body))
        data = await calls.call(
            f"inspect volume {name}", lambda d: _untyped(DockerVolume)(d, name).show()
        )
    except DockerError as exc:
        raise RuntimeFailure(f"volume {name}: {_docker_message(exc)}") from exc
    owner = _str_labels(_mapping(data).get("Labels")).get(labels.POD_UID)
    if owner != volume.pod.uid:
        raise NotOurs(f"volume {name} exists and does not belong to pod {volume.pod.uid}")


async def remove_volume(calls: DockerCalls, docker_name: str) -> None:
    try:
        data = await calls.call(
            f"inspect volume {docker_name}",
            lambda d: _untyped(DockerVolume)(d, docker_name).show(),
        )
    except DockerError as exc:
        if exc.status == 404:
            return
        raise RuntimeFailure(f"volume {docker_name}: {_docker_message(exc)}") from exc
    if not _str_labels(_mapping(data).get("Labels")).get(labels.POD_UID):
        raise NotOurs(f"refusing to remove volume {docker_name}: it lacks Podyard's labels")
    try:
        await calls.call(
            f"remove volume {docker_name}",
            lambda d: _untyped(DockerVolume)(d, docker_name).delete(),
        )
    except DockerError as exc:
        if exc.status == 404:
            return
        raise RuntimeFailure(
            f"removal of volume {docker_name} failed: {_docker_message(exc)}"
        ) from exc
