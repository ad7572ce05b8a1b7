"""`DockerRuntime`: the `ContainerRuntime` port on one Docker engine, through aiodocker.

Docker's JSON becomes `controller.model` types in this module and its parts and nowhere else;
aiodocker's exceptions become `model.errors` types. One instance serves one engine (one node).
This module holds the port itself: listing and inspecting (with a cache of settled inspections) and
the container lifecycle. The rest lives beside it, each part with its own traps: `dockercalls` (the
connection and every call's deadline; `DockerRuntime` is one), `dockerbody` (the create request
body), `dockervolumes` (pod volumes), `dockerimages` (pull policies and the pause image),
`dockerprobes` (exec, HTTP and TCP probes), `dockerlease` (the engine lease), `dockerlogs` (a container's log), `dockerevents`
(the reconnecting event stream), `dockersubpaths` (safe subPath mounts), `dockercgroups` (a pod's
containers in its sandbox's cgroup, for pod-level resources) and `dockerjson` (Docker's JSON to
model types).

Traps this module deals with:

* **Unlabelled containers.** Only containers whose labels pass `labels.identity_from_labels` exist
  for Podyard: `list_containers` and `inspect_container` drop the others, and `stop_container` and
  `remove_container` re-read the labels first and raise `NotOurs` rather than touch one. The label
  filter of a listing (`label=io.podyard.pod.uid`) is only a pre-filter: a container with that label
  but with other required labels missing or malformed is dropped too.
* **subPath mounts live and die with their container.** A create prepares them (and releases
  them when the engine refused it: only then is it sure the container does not exist); a removal
  releases them; every listing sweeps those of containers the engine no longer has.
* **The inspection cache.** A listing re-inspects only containers whose listing entry changed: a
  running one is keyed by its state alone, an exited one by its `Status` text too, and only once it
  finished `CACHE_MIN_AGE_SECONDS` ago. Every start, stop, remove and event drops the entry. Any
  inspect that finds a container running fills it (the executor reads each container it starts, so
  the next listing need not read it again), unless the entry was dropped while the inspect was in
  flight: that answer may predate the change.

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
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import attrs
from aiodocker.containers import DockerContainer
from aiodocker.exceptions import DockerError

from controller.config import ImagePullSettings, RuntimeSettings, TlsSettings
from controller.model import labels
from controller.model.errors import (
    ConfigRefused,
    CreateFailed,
    NameConflict,
    NotOurs,
    RuntimeFailure,
    StartFailed,
)
from controller.model.execs import ExecRequest, ExecSession
from controller.model.lease import LeaseHolder, LeaseRecord
from controller.model.logs import LogOptions
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import (
    NodeCapacity,
    ObservedContainer,
    ObservedVolume,
    RunState,
    RuntimeEvent,
)
from controller.model.plan import PROJECTED, ContainerConfig, EnsureVolume
from controller.model.pod import PullPolicy
from controller.model.probes import ProbeAction, ProbeResult
from controller.runtime.docker import claims as dockerclaims
from controller.runtime.docker import lease as dockerlease
from controller.runtime.docker import logs as dockerlogs
from controller.runtime.docker import probes as dockerprobes
from controller.runtime.docker import volumes as dockervolumes
from controller.runtime.docker.body import container_body
from controller.runtime.docker.calls import DockerCalls, _docker_message
from controller.runtime.docker.cgroups import PodCgroups
from controller.runtime.docker.events import RELIST, relay_events
from controller.runtime.docker.exec import open_attach, open_exec
from controller.runtime.docker.images import DockerImages
from controller.runtime.docker.json import (
    _mapping,
    _str_labels,
    capacity_of,
    observe,
    parse_docker_time,
    parse_docker_time_ns,
)
from controller.runtime.docker.security import add_defaults, check_non_root
from controller.runtime.docker.subpaths import DockerSubPaths

__all__ = ["RELIST", "DockerRuntime", "parse_docker_time", "parse_docker_time_ns"]

INSPECT_CONCURRENCY = 8
"""Inspects in flight during one listing: enough to be quick, few enough not to swamp the engine."""

RUNNING_KEY = ("running", "")
"""The cache key of a running container: its listing's state alone (see `list_containers`)."""

CACHE_MIN_AGE_SECONDS = 60.0
"""Exited containers are cached once finished this long ago: the listing's `Status` text ("Exited
(0) 5 minutes ago") then differs from any the container shows after a later restart and exit."""


def _summary_field(summary: DockerContainer, key: str) -> object:
    """A field of a container listing entry (aiodocker wraps it; it has no `get`)."""
    try:
        return summary[key]
    except KeyError:
        return None


class DockerRuntime(DockerCalls):
    """One Docker engine as a `ContainerRuntime` (see the module docstrings for the traps)."""

    def __init__(
        self,
        node: NodeName,
        settings: RuntimeSettings,
        docker_host: str | None = None,
        image_pull: ImagePullSettings | None = None,
        tls: TlsSettings | None = None,
    ) -> None:
        super().__init__(node, settings, docker_host, tls)
        self._cache: dict[str, tuple[tuple[str, str], ObservedContainer]] = {}
        self._inspecting: dict[str, int] = {}
        """Containers being inspected now -> inspects in flight."""
        self._dropped: set[str] = set()
        """Containers dropped (an event, a start, stop or removal) while being inspected: the
        answer may predate the change, so it is not cached."""
        self._images = DockerImages(self, image_pull or ImagePullSettings())
        self._subpaths = DockerSubPaths(self, settings.subpath_dir)
        self._pod_cgroups = PodCgroups(self)
        self._default_log_driver: str | None = None

    # -- plumbing --------------------------------------------------------------------------------

    def _forget(self, container_id: str) -> None:
        self._cache.pop(container_id, None)
        if container_id in self._inspecting:
            self._dropped.add(container_id)

    def _remember(self, key: tuple[str, str], observed: ObservedContainer) -> None:
        self._cache[observed.id] = (key, observed)

    # -- the port --------------------------------------------------------------------------------

    async def capacity(self) -> NodeCapacity:
        """The host's CPU cores and memory, from the engine's `/info` (`NCPU`, `MemTotal`), and
        who the engine is (one call for both)."""
        try:
            info = await self.call("info", lambda d: d.system.info())
        except DockerError as exc:
            raise RuntimeFailure(f"{self._node}: info failed: {_docker_message(exc)}") from exc
        return capacity_of(_mapping(info))

    async def prepare_pause_image(self, configured: str) -> str:
        return await self._images.prepare_pause_image(configured)

    async def list_containers(self) -> list[ObservedContainer]:
        listed_at = time.monotonic()
        try:
            summaries = await self.call(
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
            cid = summary.id
            state = str(_summary_field(summary, "State") or "")
            # A running container's inspect data does not change while it runs (restarts are
            # ours, and every event drops the entry), so only its state keys the cache; the
            # Status text ("Up 5 seconds") changes every second.
            status = "" if state == "running" else str(_summary_field(summary, "Status") or "")
            key = (state, status)
            cached = self._cache.get(cid)
            if cached is not None and cached[0] == key:
                # labels never change: a cached container had ours (the idle relist's saving)
                seen.add(cid)
                result.append(cached[1])
                continue
            summary_labels = _str_labels(_summary_field(summary, "Labels"))
            if labels.identity_from_labels(summary_labels) is None:
                continue
            seen.add(cid)
            todo.append((cid, key))
        for stale in set(self._cache) - seen:
            del self._cache[stale]

        limit = asyncio.Semaphore(INSPECT_CONCURRENCY)

        async def inspect(cid: str, key: tuple[str, str]) -> ObservedContainer | None:
            async with limit:
                observed = await self.inspect_container(ContainerId(cid))  # caches a running one
            if (
                observed is not None
                and observed.state is RunState.EXITED
                and key[0] in ("exited", "dead")
                and observed.finished_at is not None
                and observed.finished_at < time.time() - CACHE_MIN_AGE_SECONDS
            ):
                self._remember(key, observed)
            elif observed is None or observed.state is not RunState.RUNNING:
                self._forget(cid)
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
        await self._subpaths.sweep((c.docker_name for c in result), listed_at)
        return result

    async def inspect_container(self, container_id: ContainerId) -> ObservedContainer | None:
        """Read one container; a running one is kept for the next listing, which then need not
        inspect it again (the executor reads every container it starts: without this, each
        container of a bring-up was inspected twice)."""
        observed, dropped = await self._inspect_tracked(container_id)
        if observed is not None and not dropped and observed.state is RunState.RUNNING:
            self._remember(RUNNING_KEY, observed)
        return observed

    async def _inspect_tracked(
        self, container_id: ContainerId
    ) -> tuple[ObservedContainer | None, bool]:
        """Inspect, and say whether the container was dropped from the cache meanwhile (an
        event or a start, stop or removal while the answer was in flight: it may be stale)."""
        concurrent = self._inspecting.get(container_id, 0)
        self._inspecting[container_id] = concurrent + 1
        try:
            data = await self.inspect_raw(container_id)
        finally:
            dropped = container_id in self._dropped
            left = self._inspecting[container_id] - 1
            if left:
                self._inspecting[container_id] = left
            else:
                del self._inspecting[container_id]
                self._dropped.discard(container_id)
        observed = None if data is None else observe(data, self._node)
        return observed, dropped or concurrent > 0

    async def list_volumes(self) -> list[ObservedVolume]:
        return await dockervolumes.list_volumes(self)

    async def list_claim_volumes(self) -> dict[str, str]:
        return await dockerclaims.list_claim_volumes(self)

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        await self._images.ensure(image, policy)

    async def create_container(self, config: ContainerConfig) -> ContainerId:
        name = config.docker_name
        self._subpaths.begin(name)
        try:
            return await self._create(config)
        finally:
            self._subpaths.end(name)

    async def _create(self, config: ContainerConfig) -> ContainerId:
        name = config.docker_name
        try:
            if config.security.run_as_non_root:
                await self._check_non_root(config)
            body = await self._container_body(config)
            add_defaults(body["HostConfig"], self._settings, await self._log_driver())
        except RuntimeFailure:
            await self._subpaths.release(config.identity.pod.uid, name)
            raise
        try:
            created = await self.call(
                f"create container {name}", lambda d: d.containers.create(body, name=name)
            )
        except DockerError as exc:
            message = _docker_message(exc)
            if exc.status == 409:  # the container of that name keeps the mounts just made
                raise NameConflict(f"container name {name!r} is already in use: {message}") from exc
            await self._subpaths.release(config.identity.pod.uid, name)
            self._images.forget(config.image)
            if exc.status == 400:
                raise ConfigRefused(message) from exc
            if exc.status >= 500:  # the engine failed, not the pod: retried soon, with a limit
                raise RuntimeFailure(f"{self._node}: creating {name} failed: {message}") from exc
            raise CreateFailed(message) from exc
        return ContainerId(created.id)

    async def _container_body(self, config: ContainerConfig) -> dict[str, Any]:
        """The body of `POST /containers/create` for `config` (subPaths mounted for it, placed in
        its pod's cgroup when the pod has pod-level resources)."""
        await dockerclaims.ensure_claim_volumes(self, config)
        body = await container_body(await self._projected_binds(config), self._subpaths.source)
        await self._pod_cgroups.place(config, body["HostConfig"])
        return body

    async def _log_driver(self) -> str | None:
        """The engine's default log driver (asked once): rotation options only fit some."""
        if self._default_log_driver is None:
            try:
                info = await self.call("info", lambda d: d.system.info())
            except DockerError as exc:
                raise RuntimeFailure(f"{self._node}: info failed: {_docker_message(exc)}") from exc
            self._default_log_driver = str(_mapping(info).get("LoggingDriver") or "")
        return self._default_log_driver or None

    async def _check_non_root(self, config: ContainerConfig) -> None:
        """runAsNonRoot: refuse (CreateContainerConfigError) when the image would run as root."""
        try:
            image = await self.call(
                f"inspect image {config.image}", lambda d: d.images.inspect(config.image)
            )
        except DockerError as exc:
            raise RuntimeFailure(
                f"{self._node}: inspect of image {config.image} failed: {_docker_message(exc)}"
            ) from exc
        image_config = _mapping(_mapping(image).get("Config"))
        refused = check_non_root(config, str(image_config.get("User") or ""))
        if refused is not None:
            raise ConfigRefused(refused)

    async def _projected_binds(self, config: ContainerConfig) -> ContainerConfig:
        """configMap and secret volumes as read-only binds of their folders on this host (the
        engine must share Podyard's host and mount namespace; refused otherwise)."""
        projected = [m for m in config.mounts if m.kind == PROJECTED]
        if not projected:
            return config
        refusal = await self._subpaths.local_refusal("a configMap or secret volume")
        if refusal is not None:
            raise ConfigRefused(refusal)
        if any(m.sub_path for m in projected):
            raise ConfigRefused("subPath of a configMap or secret volume is not supported")
        base = self._settings.config_volume_dir
        mounts = tuple(
            attrs.evolve(m, kind="bind", source=os.path.join(base, m.source), read_only=True)
            if m.kind == PROJECTED
            else m
            for m in config.mounts
        )
        return attrs.evolve(config, mounts=mounts)

    async def start_container(self, container_id: ContainerId) -> None:
        self._forget(container_id)
        try:
            await self.call(
                f"start container {container_id}",
                lambda d: d.containers.container(container_id).start(),
            )
        except DockerError as exc:
            raise StartFailed(_docker_message(exc)) from exc

    async def _ours(self, container_id: ContainerId, verb: str) -> dict[str, Any] | None:
        """Inspect JSON of a container Podyard may act on; None if gone; NotOurs if unlabelled."""
        data = await self.inspect_raw(container_id)
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
            await self.call(
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
        data = await self._ours(container_id, "remove")
        if data is None:
            return
        try:
            await self.call(
                f"remove container {container_id}",
                lambda d: d.containers.container(container_id).delete(force=True, v=False),
            )
        except DockerError as exc:
            if exc.status == 409 and "already in progress" in _docker_message(exc):
                return  # the sweep of a later listing releases its subPaths
            if exc.status != 404:
                raise RuntimeFailure(
                    f"removal of container {container_id} failed: {_docker_message(exc)}"
                ) from exc
        await self._pod_cgroups.release(data)
        identity = labels.identity_from_labels(
            _str_labels(_mapping(data.get("Config")).get("Labels"))
        )
        if identity is not None:
            await self._subpaths.release(identity.pod.uid, str(data.get("Name") or "").lstrip("/"))

    async def ensure_volume(self, volume: EnsureVolume) -> None:
        await dockervolumes.ensure_volume(self, volume)

    async def remove_volume(self, docker_name: str) -> None:
        await dockervolumes.remove_volume(self, docker_name)

    async def run_probe(
        self,
        container_id: ContainerId,
        pod_ip: str,
        action: ProbeAction,
        timeout: float,  # noqa: ASYNC109 - the port's name; the probe enforces it
    ) -> ProbeResult:
        return await dockerprobes.run_probe(self, container_id, pod_ip, action, timeout)

    async def exec_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        return await open_exec(self, container_id, request)

    async def attach_session(self, container_id: ContainerId, request: ExecRequest) -> ExecSession:
        return await open_attach(self, container_id, request)

    async def create_lease(self, holder: LeaseHolder, duration_seconds: float) -> LeaseRecord:
        return await dockerlease.create_lease(self, holder, duration_seconds)

    async def read_lease(self) -> LeaseRecord | None:
        return await dockerlease.read_lease(self)

    async def renew_lease(self, container_id: ContainerId) -> bool:
        return await dockerlease.renew_lease(self, container_id)

    async def remove_lease(self, container_id: ContainerId) -> None:
        await dockerlease.remove_lease(self, container_id)

    # -- events ----------------------------------------------------------------------------------

    def container_logs(
        self, container_id: ContainerId, options: LogOptions
    ) -> AsyncIterator[bytes]:
        """The container's merged output; see `dockerlogs`."""
        return dockerlogs.container_logs(self, container_id, options)

    def events(self) -> AsyncGenerator[RuntimeEvent, None]:
        """Endless stream of container events of Podyard's containers; see `dockerevents`.

        Ends only when the runtime is closed.
        """
        return relay_events(self, self._forget)
