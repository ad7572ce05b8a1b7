"""The engine lease on one Docker engine: a stopped container whose name is the lock.

`DockerRuntime`'s lease methods hand over to these functions; `engine/lease.py` decides when to
call them. Why a container: Docker has no lock, lease or compare-and-swap object, but its container
names are unique per engine and `POST /containers/create?name=` is atomic (a second create gets
409 Conflict). So:

* **Acquire** is creating the container `LEASE_NAME`, its labels (immutable) naming the holder
  and the duration. Whoever gets the 409 does not hold the lease.
* **Renew** is `start` of that container *by id*. Its process (`catatonit -V`: print the version,
  exit 0) ends within milliseconds, and the engine stamps `State.StartedAt` with its own clock.
  Docker cannot change labels, and a rename or recreate would change what observers compare; a
  start changes only the stamp, and the id stays. Nobody reads the stamp as a time: observers
  remember when *they* saw it change (see `engine/lease.py`).
* **Release / takeover** is removing the container *by id*: a remover that lost a race removes
  nothing (404), never the winner's new container.

Traps this module deals with:

* **Never pull.** The body is the locally built `localhost/podyard-pause:1` (Debian's static
  catatonit FROM scratch), built here when absent, whatever `--pause-image` says: the registry
  pause image has no `-V` and may not be present.
* **Nothing else sees it.** It carries `io.podyard.lease` and none of the pod labels, so listings,
  the event stream and every pod operation (which require the pod labels) ignore it, and it is
  never counted as a pod. Its log driver is `none` (a start every two seconds would grow a log),
  its network `none`, its restart policy `no`.
* **`docker container prune` removes it** (it is a stopped container): the holder's next renewal
  finds it gone, so it stops acting, and acts again once it (or a standby) has made a new one.
  Pods are not touched; the engine just starts a new term.
* **A start of a container still running** (a renew within the milliseconds of the last one)
  answers 304: the stamp is left as it was, which is harmless; the next renew moves it.
"""

from __future__ import annotations

from typing import Any

from aiodocker.exceptions import DockerError

from controller.model.errors import NameConflict, NotOurs, RuntimeFailure
from controller.model.lease import (
    LEASE,
    LEASE_NAME,
    LeaseHolder,
    LeaseRecord,
    holder_from_labels,
    lease_labels,
)
from controller.model.meta import ContainerId
from controller.runtime import localimages
from controller.runtime.docker.calls import DockerCalls, _docker_message
from controller.runtime.docker.json import _mapping, _str_labels, parse_docker_time

__all__ = ["LEASE_IMAGE", "create_lease", "read_lease", "remove_lease", "renew_lease"]

LEASE_IMAGE = localimages.PAUSE_FALLBACK_IMAGE
LEASE_ENTRYPOINT = ["/catatonit", "-V"]
"""catatonit prints its version and exits 0 at once: a start that only stamps the container."""


def lease_body(holder: LeaseHolder, duration_seconds: float) -> dict[str, Any]:
    return {
        "Image": LEASE_IMAGE,
        "Entrypoint": LEASE_ENTRYPOINT,
        "Cmd": [],
        "Labels": lease_labels(holder, duration_seconds),
        "NetworkDisabled": True,
        "HostConfig": {
            "NetworkMode": "none",
            "RestartPolicy": {"Name": "no"},
            "LogConfig": {"Type": "none", "Config": {}},
            "AutoRemove": False,
        },
    }


async def _ensure_lease_image(calls: DockerCalls) -> None:
    docker = calls.client()
    try:
        if await localimages.image_exists(docker, LEASE_IMAGE):
            return
        await localimages.build_pause_image(docker)
    except localimages.ImageBuildError as exc:
        raise RuntimeFailure(f"{calls.node}: the lease image: {exc.message}") from exc
    except DockerError as exc:
        raise RuntimeFailure(
            f"{calls.node}: the lease image {LEASE_IMAGE}: {_docker_message(exc)}"
        ) from exc


async def create_lease(
    calls: DockerCalls, holder: LeaseHolder, duration_seconds: float
) -> LeaseRecord:
    body = lease_body(holder, duration_seconds)
    for attempt in range(2):
        try:
            created = await calls.call(
                "create lease", lambda d: d.containers.create(body, name=LEASE_NAME)
            )
            break
        except DockerError as exc:
            message = _docker_message(exc)
            if exc.status == 409:
                raise NameConflict(f"{calls.node}: the lease is taken: {message}") from exc
            if exc.status == 404 and attempt == 0:  # no such image: build it, once
                await _ensure_lease_image(calls)
                continue
            raise RuntimeFailure(f"{calls.node}: creating the lease failed: {message}") from exc
    container_id = ContainerId(created.id)
    await renew_lease(calls, container_id)
    record = await read_lease(calls)
    if record is None or record.container_id != container_id:
        raise NameConflict(f"{calls.node}: the lease was replaced as it was made")
    return record


async def read_lease(calls: DockerCalls) -> LeaseRecord | None:
    data = await calls.inspect_raw(LEASE_NAME)
    if data is None:
        return None
    config = _mapping(data.get("Config"))
    state = _mapping(data.get("State"))
    holder, duration = holder_from_labels(_str_labels(config.get("Labels")))
    started = str(state.get("StartedAt") or "")
    return LeaseRecord(
        container_id=ContainerId(str(data.get("Id") or "")),
        holder=holder,
        duration_seconds=duration,
        renewed=started,
        renewed_at=parse_docker_time(started),
        created_at=parse_docker_time(data.get("Created")),
    )


async def renew_lease(calls: DockerCalls, container_id: ContainerId) -> bool:
    try:
        await calls.call("renew lease", lambda d: d.containers.container(container_id).start())
    except DockerError as exc:
        if exc.status == 404:
            return False
        if exc.status == 304:
            return True
        raise RuntimeFailure(
            f"{calls.node}: renewing the lease failed: {_docker_message(exc)}"
        ) from exc
    return True


async def remove_lease(calls: DockerCalls, container_id: ContainerId) -> None:
    data = await calls.inspect_raw(container_id)
    if data is None:
        return
    if _str_labels(_mapping(data.get("Config")).get("Labels")).get(LEASE) != "1":
        raise NotOurs(f"refusing to remove container {container_id}: it is not a lease")
    try:
        await calls.call(
            "remove lease",
            lambda d: d.containers.container(container_id).delete(force=True, v=False),
        )
    except DockerError as exc:
        if exc.status == 404 or (exc.status == 409 and "in progress" in _docker_message(exc)):
            return
        raise RuntimeFailure(
            f"{calls.node}: removing the lease failed: {_docker_message(exc)}"
        ) from exc
