"""`DockerRuntime`: the `ContainerRuntime` port on one Docker engine, through aiodocker.

Docker's JSON becomes `controller.model` types here and nowhere else; aiodocker's exceptions become
`model.errors` types. One instance serves one engine (one node).

Traps this module deals with:

* **Unlabelled containers.** Only containers whose labels pass `labels.identity_from_labels` exist
  for Podyard: `list_containers` and `inspect_container` drop the others, and `stop_container` and
  `remove_container` re-read the labels first and raise `NotOurs` rather than touch one. The label
  filter of a listing (`label=io.podyard.pod.uid`) is only a pre-filter: a container with that label
  but with other required labels missing or malformed is dropped too.
* **Deadlines.** Every non-streaming call runs under `asyncio.timeout(call_timeout_seconds)`;
  `stop` gets the grace period on top (the engine answers only once the container is down), a pull
  gets `ImagePullSettings.pull_timeout_seconds`. A deadline hit or a failed connection (aiodocker
  reports it as `DockerError` status 900) is `EngineUnavailable`. aiodocker's own per-request float
  timeouts are not used (it warns about them); the HTTP session only bounds connection set-up.
* **The event stream.** aiodocker's subscription publishes `None` when the stream breaks and never
  reconnects, so `events()` runs its own loop: it waits for the engine (warning once per outage),
  subscribes with `since` set to the engine's clock (first connect) or one nanosecond after the last
  event seen, yields a synthetic `relist` event, then relays container events. Events are hints: the
  receiver re-inspects, and the relist is the truth. aiodocker rewrites `time` into a naive local
  datetime, so only `timeNano` is used; `Action`, `Actor.ID` and `Actor.Attributes` are read (newer
  engines dropped `status`/`id`/`from`); `exec_*` events are skipped. One consumer per runtime: the
  aiodocker client holds a single event subscription task.
* **DOCKER_HOST.** With no explicit address, aiodocker prefers a Docker *context* (DOCKER_CONTEXT or
  `currentContext` in ~/.docker/config.json) over DOCKER_HOST, unlike the docker CLI; this runtime
  reads DOCKER_HOST itself first so that it wins, as users expect.
* **Command and args.** Kubernetes `command` is Docker's `Entrypoint`, `args` is `Cmd`. An empty
  tuple counts as "not given", as in Kubernetes. When the entrypoint is overridden and no args are
  given, `Cmd: []` is sent; the engine would drop the image's CMD anyway (its config merge only
  inherits CMD when no entrypoint is given), so a `command` without `args` never gets the image's CMD
  appended, as in Kubernetes.
* **subPath.** Docker 20.10 has no volume subpath mounts, so a volume mount with `sub_path` becomes
  a bind of `<volume Mountpoint>/<sub_path>`; the engine creates the missing directory. For a tmpfs
  volume this reaches the tmpfs only while some container keeps the volume mounted, which the pod's
  sandbox does (it mounts every emptyDir of the pod).

Docker behaviours verified on dockerd 20.10 (cgroup v1), and covered by the integration tests:

* A container whose executable does not exist is created fine; `start` fails with HTTP 400 and the
  message `failed to create shim task: OCI runtime create failed: runc create failed: unable to
  start container process: exec: "nope": executable file not found in $PATH: unknown`. Inspect then
  shows `State.Status` "created", `ExitCode` 127, `Error` = that message, `StartedAt` and
  `FinishedAt` "0001-01-01T00:00:00Z", `OOMKilled` false. That is mapped to `RunState.CREATED`,
  `exit_code` 127, `error` set (so `failed_to_start`), no start or finish time. A later successful
  start clears `Error`.
* A container over its memory limit (Memory = MemorySwap) is killed by the kernel: `ExitCode` 137
  and `OOMKilled` true, with an `oom` event before `die`; a SIGKILL from `docker kill` gives 137
  with `OOMKilled` false. On cgroup v1 about one OOM kill in twenty of a container's PID 1 goes
  unnoticed by the engine (containerd's OOM notice races with the exit): `OOMKilled` stays false and
  no `oom` event comes, so only exit code 137 remains. Nothing here can recover it.
* For a process that dies at once, `StartedAt` (set after the start call returns) can be a little
  later than `FinishedAt` (the exit's own time): a run time computed from them may be negative.
* `NetworkMode`/`IpcMode`/`PidMode` `container:<name>` is resolved to the sandbox's *id* at create
  time. A container is bound to one sandbox instance: once the sandbox is replaced (same name, new
  id) the old containers cannot start again and must be recreated, as in Kubernetes.
* The local driver's tmpfs volume (`type=tmpfs, device=tmpfs, o=size=N`) works with and without a
  size (without one the kernel's default, half of RAM, applies); a top-level `size` option is refused
  ("quota size requested but no quota support"). Its content lives only while at least one running
  container mounts it: the volume is mounted on first use and unmounted when the last user stops.
* Containers joining `container:<sandbox>` for network share the sandbox's hostname too; setting a
  Hostname on them is refused by the engine, so none is sent.
* Events arrive well under a second after the fact (the `die` of a container is typically seen tens
  of milliseconds after it exits).
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiodocker
import aiohttp
from aiodocker.containers import DockerContainer
from aiodocker.exceptions import DockerError
from aiodocker.volumes import DockerVolume

from controller.config import ImagePullSettings, RuntimeSettings
from controller.model import labels
from controller.model.errors import (
    ConfigRefused,
    CreateFailed,
    EngineUnavailable,
    ImageError,
    ImageNeverPull,
    ImagePullFailed,
    NameConflict,
    NotOurs,
    RuntimeFailure,
    StartFailed,
)
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import (
    NodeCapacity,
    ObservedContainer,
    ObservedVolume,
    RunState,
    RuntimeEvent,
)
from controller.model.plan import ContainerConfig, EnsureVolume, MountSpec
from controller.model.pod import PullPolicy
from controller.runtime import images
from controller.runtime.dockerjson import (
    _PROTOCOLS,
    _bind,
    _clean_sub_path,
    _mapping,
    _pod_ref,
    _since,
    _str_labels,
    _stream_error,
    observe,
    parse_docker_time,
    parse_docker_time_ns,
)

__all__ = ["RELIST", "DockerRuntime", "parse_docker_time", "parse_docker_time_ns"]

log = logging.getLogger("podyard.runtime")

T = TypeVar("T")

RELIST = "relist"
"""Action of the synthetic event yielded after every (re)connect of the event stream."""

NO_CONNECTION = 900
"""aiodocker's status for "cannot connect to the engine"."""

INSPECT_CONCURRENCY = 8
"""Inspects in flight during one listing: enough to be quick, few enough not to swamp the engine."""

CACHE_MIN_AGE_SECONDS = 60.0
"""Exited containers are cached once finished this long ago: the listing's `Status` text ("Exited
(0) 5 minutes ago") then differs from any the container shows after a later restart and exit."""

IMAGE_PRESENT_TTL = 30.0
"""Seconds a seen image is trusted to still be there (IfNotPresent and Never policies)."""

CPU_PERIOD_MICROS = 100_000
MIN_CPU_QUOTA_MICROS = 1_000
"""The kernel's (and Docker's) smallest CFS quota; the kubelet clamps to it as well."""


def _docker_message(exc: DockerError) -> str:
    return str(exc.message or exc).strip()


def _untyped(api: object) -> Any:
    """aiodocker's volume and event APIs carry no annotations, which strict mypy refuses to call."""
    return api


def _summary_field(summary: DockerContainer, key: str) -> object:
    """A field of a container listing entry (aiodocker wraps it; it has no `get`)."""
    try:
        return summary[key]
    except KeyError:
        return None


class DockerRuntime:
    """One Docker engine as a `ContainerRuntime` (see the module docstring for the traps)."""

    def __init__(
        self,
        node: NodeName,
        settings: RuntimeSettings,
        docker_host: str | None = None,
        image_pull: ImagePullSettings | None = None,
    ) -> None:
        self._node = node
        self._settings = settings
        self._docker_host = docker_host
        self._image_pull = image_pull or ImagePullSettings()
        self._docker: aiodocker.Docker | None = None
        self._closed = False
        self._cache: dict[str, tuple[tuple[str, str], ObservedContainer]] = {}
        self._images_seen: dict[str, float] = {}

    @property
    def node(self) -> NodeName:
        return self._node

    # -- plumbing --------------------------------------------------------------------------------

    def _client(self) -> aiodocker.Docker:
        """The aiodocker client, made on first use (it needs a running event loop)."""
        if self._closed:
            raise EngineUnavailable(f"{self._node}: the runtime is closed")
        if self._docker is None:
            url = self._docker_host or os.environ.get("DOCKER_HOST") or None
            try:
                self._docker = aiodocker.Docker(
                    url=url,
                    timeout=aiohttp.ClientTimeout(sock_connect=self._settings.call_timeout_seconds),
                )
            except (ValueError, DockerError) as exc:
                raise EngineUnavailable(
                    f"{self._node}: no usable Docker engine address: {exc}"
                ) from exc
        return self._docker

    async def _call(
        self,
        what: str,
        call: Callable[[aiodocker.Docker], Awaitable[T]],
        *,
        deadline: float | None = None,
    ) -> T:
        """Run one engine call under a deadline; connection trouble becomes EngineUnavailable.

        Other `DockerError`s (the engine answered 4xx/5xx) pass through for the caller to map.
        """
        seconds = self._settings.call_timeout_seconds if deadline is None else deadline
        docker = self._client()
        try:
            async with asyncio.timeout(seconds):
                return await call(docker)
        except TimeoutError as exc:
            raise EngineUnavailable(
                f"{self._node}: {what}: the Docker engine did not answer within {seconds:g} s"
            ) from exc
        except DockerError as exc:
            if exc.status == NO_CONNECTION:
                raise EngineUnavailable(f"{self._node}: {what}: {_docker_message(exc)}") from exc
            raise
        except (aiohttp.ClientError, OSError) as exc:
            raise EngineUnavailable(
                f"{self._node}: {what}: connection to the Docker engine failed: {exc!r}"
            ) from exc

    async def _inspect_raw(self, container_id: str) -> dict[str, Any] | None:
        """Docker's inspect JSON, or None when there is no such container."""
        try:
            data = await self._call(
                f"inspect container {container_id}",
                lambda d: d.containers.container(container_id).show(),
            )
        except DockerError as exc:
            if exc.status == 404:
                return None
            raise RuntimeFailure(
                f"inspect of container {container_id} failed: {_docker_message(exc)}"
            ) from exc
        return dict(data)

    def _forget(self, container_id: str) -> None:
        self._cache.pop(container_id, None)

    # -- the port --------------------------------------------------------------------------------

    async def ping(self) -> None:
        try:
            await self._call("ping", lambda d: d.version())
        except DockerError as exc:
            raise RuntimeFailure(f"{self._node}: ping failed: {_docker_message(exc)}") from exc

    async def capacity(self) -> NodeCapacity:
        """The host's CPU cores and memory, from the engine's `/info` (`NCPU`, `MemTotal`)."""
        try:
            info = await self._call("info", lambda d: d.system.info())
        except DockerError as exc:
            raise RuntimeFailure(f"{self._node}: info failed: {_docker_message(exc)}") from exc
        data = _mapping(info)
        return NodeCapacity(int(data.get("NCPU") or 0), int(data.get("MemTotal") or 0))

    async def prepare_pause_image(self, configured: str) -> str:
        docker = self._client()
        pull_timeout = self._image_pull.pull_timeout_seconds
        deadline = (
            pull_timeout + images.DEFAULT_BUILD_TIMEOUT + 4 * self._settings.call_timeout_seconds
        )
        try:
            async with asyncio.timeout(deadline):
                return await images.ensure_pause_image(
                    docker, configured, log, pull_timeout=pull_timeout
                )
        except images.ImageBuildError as exc:
            raise ImageError(exc.message) from exc
        except TimeoutError as exc:
            raise EngineUnavailable(
                f"{self._node}: preparing the pause image took longer than {deadline:g} s"
            ) from exc
        except DockerError as exc:
            if exc.status == NO_CONNECTION:
                raise EngineUnavailable(f"{self._node}: {_docker_message(exc)}") from exc
            raise ImageError(
                f"pause image {configured} could not be prepared: {_docker_message(exc)}"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise EngineUnavailable(
                f"{self._node}: connection to the Docker engine failed: {exc!r}"
            ) from exc

    async def list_containers(self) -> list[ObservedContainer]:
        try:
            summaries = await self._call(
                "list containers",
                lambda d: d.containers.list(all=True, filters={"label": [labels.POD_UID]}),
            )
        except DockerError as exc:
            raise RuntimeFailure(
                f"{self._node}: listing containers failed: {_docker_message(exc)}"
            ) from exc

        result: list[ObservedContainer] = []
        todo: list[tuple[str, tuple[str, str]]] = []
        seen: set[str] = set()
        for summary in summaries:
            summary_labels = _str_labels(_summary_field(summary, "Labels"))
            if labels.identity_from_labels(summary_labels) is None:
                continue
            cid = summary.id
            seen.add(cid)
            state = str(_summary_field(summary, "State") or "")
            # A running container's inspect data does not change while it runs (restarts are
            # ours, and every event drops the entry), so only its state keys the cache; the
            # Status text ("Up 5 seconds") changes every second.
            status = "" if state == "running" else str(_summary_field(summary, "Status") or "")
            key = (state, status)
            cached = self._cache.get(cid)
            if cached is not None and cached[0] == key:
                result.append(cached[1])
            else:
                todo.append((cid, key))
        for stale in set(self._cache) - seen:
            del self._cache[stale]

        limit = asyncio.Semaphore(INSPECT_CONCURRENCY)

        async def inspect(cid: str, key: tuple[str, str]) -> ObservedContainer | None:
            async with limit:
                observed = await self.inspect_container(ContainerId(cid))
            self._forget(cid)
            if observed is not None and (
                (observed.state is RunState.RUNNING and key[0] == "running")
                or (
                    observed.state is RunState.EXITED
                    and key[0] in ("exited", "dead")
                    and observed.finished_at is not None
                    and observed.finished_at < time.time() - CACHE_MIN_AGE_SECONDS
                )
            ):
                self._cache[cid] = (key, observed)
            return observed

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(inspect(cid, key)) for cid, key in todo]
        except BaseExceptionGroup as failed:  # callers expect a RuntimeFailure, not a group
            first = next((e for e in failed.exceptions if isinstance(e, RuntimeFailure)), None)
            if first is None:
                raise
            raise first from None
        result.extend(o for task in tasks if (o := task.result()) is not None)
        return result

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        data = await self._inspect_raw(container_id)
        return None if data is None else observe(data, self._node)

    async def list_volumes(self) -> list[ObservedVolume]:
        try:
            data = await self._call(
                "list volumes",
                lambda d: _untyped(d.volumes).list(filters={"label": [labels.POD_UID]}),
            )
        except DockerError as exc:
            raise RuntimeFailure(
                f"{self._node}: listing volumes failed: {_docker_message(exc)}"
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
                    node=self._node,
                    pod=pod,
                    volume_name=volume_labels.get(labels.VOLUME_NAME, ""),
                )
            )
        return result

    async def _image_present(self, image: str) -> bool:
        """Is the image on the engine? A positive answer is trusted for IMAGE_PRESENT_TTL seconds.

        Bring-up of a pod asks this once per container; re-asking the engine each time cost
        about a tenth of the bring-up time. A create that then fails forgets the answer.
        """
        seen = self._images_seen.get(image)
        if seen is not None and time.monotonic() - seen < IMAGE_PRESENT_TTL:
            return True
        try:
            await self._call(f"inspect image {image}", lambda d: d.images.inspect(image))
        except DockerError as exc:
            if exc.status == 404:
                self._images_seen.pop(image, None)
                return False
            raise ImageError(f"inspect of image {image} failed: {_docker_message(exc)}") from exc
        self._images_seen[image] = time.monotonic()
        return True

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        if policy is PullPolicy.NEVER:
            if not await self._image_present(image):
                raise ImageNeverPull(
                    f'Container image "{image}" is not present with pull policy of Never'
                )
            return
        if policy is PullPolicy.IF_NOT_PRESENT and await self._image_present(image):
            return
        await self._pull(image)

    async def _pull(self, image: str) -> None:
        seconds = self._image_pull.pull_timeout_seconds

        async def pull(docker: aiodocker.Docker) -> None:
            # stream=True: progress items are checked one by one; an item with "error" is a failure
            # even when aiodocker does not raise DockerStreamError for it.
            async for item in docker.images.pull(image, stream=True):
                message = _stream_error(item)
                if message is not None:
                    raise ImagePullFailed(f"failed to pull image {image}: {message}")

        try:
            await self._call(f"pull {image}", pull, deadline=seconds)
        except EngineUnavailable as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise ImagePullFailed(
                    f"failed to pull image {image}: no result within {seconds:g} s"
                ) from exc
            raise
        except DockerError as exc:
            raise ImagePullFailed(f"failed to pull image {image}: {_docker_message(exc)}") from exc

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        body = await self._container_body(config)
        name = config.docker_name
        try:
            created = await self._call(
                f"create container {name}", lambda d: d.containers.create(body, name=name)
            )
        except DockerError as exc:
            message = _docker_message(exc)
            if exc.status == 409:
                raise NameConflict(f"container name {name!r} is already in use: {message}") from exc
            self._images_seen.pop(config.image, None)
            if exc.status == 400:
                raise ConfigRefused(message) from exc
            raise CreateFailed(message) from exc
        return ContainerId(created.id)

    async def _container_body(self, config: ContainerConfig) -> dict[str, Any]:
        """The body of `POST /containers/create` for `config`."""
        host: dict[str, Any] = {"RestartPolicy": {"Name": "no"}}
        body: dict[str, Any] = {
            "Image": config.image,
            "Labels": {**config.extra_labels, **labels.identity_labels(config.identity)},
            "Env": [f"{key}={value}" for key, value in config.env],
            "StopTimeout": config.stop_grace_seconds,
            "HostConfig": host,
        }
        if config.entrypoint:
            body["Entrypoint"] = list(config.entrypoint)
            body["Cmd"] = list(config.command or ())
        elif config.command:
            body["Cmd"] = list(config.command)
        if config.working_dir:
            body["WorkingDir"] = config.working_dir

        if config.join_sandbox is None:
            if config.hostname:
                body["Hostname"] = config.hostname
            host["IpcMode"] = "shareable"
        else:
            joined = f"container:{config.join_sandbox}"
            host["NetworkMode"] = joined
            host["IpcMode"] = joined
            if config.share_pid:
                host["PidMode"] = joined

        if config.ports:
            exposed: dict[str, dict[str, str]] = {}
            bindings: dict[str, list[dict[str, str]]] = {}
            for port in config.ports:
                key = f"{port.container_port}/{_PROTOCOLS.get(port.protocol.value, 'tcp')}"
                exposed[key] = {}
                bindings.setdefault(key, []).append(
                    {"HostIp": port.host_ip, "HostPort": str(port.host_port)}
                )
            body["ExposedPorts"] = exposed
            host["PortBindings"] = bindings

        mounts: list[dict[str, Any]] = []
        binds: list[str] = []
        for mount in config.mounts:
            await self._add_mount(mount, mounts, binds)
        if mounts:
            host["Mounts"] = mounts
        if binds:
            host["Binds"] = binds

        if config.memory_limit_bytes is not None:
            host["Memory"] = config.memory_limit_bytes
            host["MemorySwap"] = config.memory_limit_bytes
        if config.cpu_limit_millis is not None:
            host["CpuPeriod"] = CPU_PERIOD_MICROS
            host["CpuQuota"] = max(MIN_CPU_QUOTA_MICROS, config.cpu_limit_millis * 100)
        if config.cpu_request_millis is not None:
            host["CpuShares"] = max(2, config.cpu_request_millis * 1024 // 1000)
        return body

    async def _add_mount(
        self, mount: MountSpec, mounts: list[dict[str, Any]], binds: list[str]
    ) -> None:
        sub_path = _clean_sub_path(mount.sub_path) if mount.sub_path else ""
        if mount.kind == "bind":
            source = mount.source.rstrip("/") or "/"
            if sub_path:
                source = posixpath.join(source, sub_path)
            binds.append(_bind(source, mount.target, mount.read_only))
        elif mount.kind == "volume" and not sub_path:
            mounts.append(
                {
                    "Type": "volume",
                    "Source": mount.source,
                    "Target": mount.target,
                    "ReadOnly": mount.read_only,
                }
            )
        elif mount.kind == "volume":
            mountpoint = await self._volume_mountpoint(mount.source)
            binds.append(_bind(posixpath.join(mountpoint, sub_path), mount.target, mount.read_only))
        else:
            raise ConfigRefused(f"unsupported mount kind {mount.kind!r} for {mount.target}")

    async def _volume_mountpoint(self, name: str) -> str:
        try:
            data = await self._call(
                f"inspect volume {name}", lambda d: _untyped(DockerVolume)(d, name).show()
            )
        except DockerError as exc:
            raise CreateFailed(f"volume {name}: {_docker_message(exc)}") from exc
        mountpoint = _mapping(data).get("Mountpoint")
        if not mountpoint:
            raise CreateFailed(f"volume {name} has no mount point on the engine's host")
        return str(mountpoint)

    async def start_container(self, container_id: ContainerId) -> None:
        self._forget(container_id)
        try:
            await self._call(
                f"start container {container_id}",
                lambda d: d.containers.container(container_id).start(),
            )
        except DockerError as exc:
            raise StartFailed(_docker_message(exc)) from exc

    async def _ours(self, container_id: ContainerId, verb: str) -> dict[str, Any] | None:
        """Inspect JSON of a container Podyard may act on; None if gone; NotOurs if unlabelled."""
        data = await self._inspect_raw(container_id)
        if data is None:
            return None
        config = _mapping(data.get("Config"))
        if labels.identity_from_labels(_str_labels(config.get("Labels"))) is None:
            name = str(data.get("Name") or container_id).lstrip("/")
            raise NotOurs(f"refusing to {verb} container {name}: it lacks Podyard's labels")
        return data

    async def stop_container(self, container_id: ContainerId, grace_seconds: int) -> None:
        self._forget(container_id)
        data = await self._ours(container_id, "stop")
        if data is None or not _mapping(data.get("State")).get("Running"):
            return
        grace = max(0, int(grace_seconds))
        try:
            await self._call(
                f"stop container {container_id}",
                lambda d: d.containers.container(container_id).stop(t=grace),
                deadline=grace + self._settings.call_timeout_seconds,
            )
        except DockerError as exc:
            if exc.status in (304, 404):
                return
            raise RuntimeFailure(
                f"stop of container {container_id} failed: {_docker_message(exc)}"
            ) from exc

    async def remove_container(self, container_id: ContainerId) -> None:
        self._forget(container_id)
        if await self._ours(container_id, "remove") is None:
            return
        try:
            await self._call(
                f"remove container {container_id}",
                lambda d: d.containers.container(container_id).delete(force=True, v=False),
            )
        except DockerError as exc:
            if exc.status == 404:
                return
            if exc.status == 409 and "already in progress" in _docker_message(exc):
                return
            raise RuntimeFailure(
                f"removal of container {container_id} failed: {_docker_message(exc)}"
            ) from exc

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        body: dict[str, Any] = {
            "Name": volume.docker_name,
            "Driver": "local",
            "Labels": labels.volume_labels(volume.pod, volume.volume_name),
        }
        if volume.memory:
            options = {"type": "tmpfs", "device": "tmpfs"}
            if volume.tmpfs_size_bytes:
                options["o"] = f"size={volume.tmpfs_size_bytes}"
            body["DriverOpts"] = options
        name = volume.docker_name
        try:
            await self._call(f"create volume {name}", lambda d: _untyped(d.volumes).create(body))
            data = await self._call(
                f"inspect volume {name}", lambda d: _untyped(DockerVolume)(d, name).show()
            )
        except DockerError as exc:
            raise RuntimeFailure(f"volume {name}: {_docker_message(exc)}") from exc
        owner = _str_labels(_mapping(data).get("Labels")).get(labels.POD_UID)
        if owner != volume.pod.uid:
            raise NotOurs(f"volume {name} exists and does not belong to pod {volume.pod.uid}")

    async def remove_volume(self, docker_name: str) -> None:
        try:
            data = await self._call(
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
            await self._call(
                f"remove volume {docker_name}",
                lambda d: _untyped(DockerVolume)(d, docker_name).delete(),
            )
        except DockerError as exc:
            if exc.status == 404:
                return
            raise RuntimeFailure(
                f"removal of volume {docker_name} failed: {_docker_message(exc)}"
            ) from exc

    # -- events ----------------------------------------------------------------------------------

    async def _engine_time_ns(self) -> int:
        """The engine's clock now (its `SystemTime`), falling back to ours if it gives none."""
        try:
            info = await self._call("info", lambda d: d.system.info())
        except DockerError as exc:
            raise RuntimeFailure(f"{self._node}: info failed: {_docker_message(exc)}") from exc
        nanos = parse_docker_time_ns(_mapping(info).get("SystemTime"))
        return nanos if nanos is not None else time.time_ns()

    def _event(self, raw: Mapping[str, Any]) -> RuntimeEvent | None:
        if str(raw.get("Type") or "container") != "container":
            return None
        action = str(raw.get("Action") or "")
        if not action or action.startswith("exec_"):
            return None
        actor = _mapping(raw.get("Actor"))
        container_id = str(actor.get("ID") or "")
        if not container_id:
            return None
        time_ns = raw.get("timeNano")
        return RuntimeEvent(
            node=self._node,
            container_id=ContainerId(container_id),
            action=action,
            pod=_pod_ref(_str_labels(actor.get("Attributes"))),
            time_ns=time_ns if isinstance(time_ns, int) else 0,
        )

    async def events(self) -> AsyncGenerator[RuntimeEvent, None]:
        """Endless stream of container events of Podyard's containers; see the module docstring.

        Ends only when the runtime is closed.
        """
        cap = max(0.05, self._settings.events_reconnect_max_seconds)
        delay = min(0.1, cap)
        since: int | None = None
        outage = False
        while not self._is_closed():
            try:
                if since is None:
                    since = await self._engine_time_ns()
                else:
                    await self.ping()
                resume_from = since
            except RuntimeFailure as failure:
                if self._is_closed():
                    return
                if not outage:
                    log.warning(
                        "node %s: event stream waits for the Docker engine: %s", self._node, failure
                    )
                    outage = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, cap)
                continue
            if self._is_closed():
                return
            if outage:
                log.info("node %s: Docker engine reachable again; event stream resumes", self._node)
                outage = False

            docker = self._client()
            subscriber = _untyped(docker.events).subscribe(
                filters={"type": ["container"], "label": [labels.POD_UID]},
                since=_since(resume_from),
            )
            connected = time.monotonic()
            try:
                yield RuntimeEvent(self._node, ContainerId(""), RELIST)
                while True:
                    raw = await subscriber.get()
                    if raw is None:
                        break
                    raw_map = _mapping(raw)
                    time_ns = raw_map.get("timeNano")
                    if isinstance(time_ns, int):
                        resume_from = max(resume_from, time_ns + 1)
                        since = resume_from
                    event = self._event(raw_map)
                    if event is not None:
                        self._forget(event.container_id)
                        yield event
            finally:
                del subscriber
                await self._stop_events(docker)
            if self._is_closed():
                return
            log.info("node %s: Docker event stream ended; reconnecting", self._node)
            if time.monotonic() - connected > cap:
                delay = min(0.1, cap)
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap)

    @staticmethod
    async def _stop_events(docker: aiodocker.Docker) -> None:
        """Stop aiodocker's event task so that the next subscribe starts a fresh one."""
        try:
            await _untyped(docker.events).stop()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the task ended with the connection error that broke it
            log.debug("event task ended with %r", exc)

    def _is_closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True
        docker, self._docker = self._docker, None
        if docker is not None:
            await docker.close()
