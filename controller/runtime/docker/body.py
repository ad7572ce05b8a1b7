"""The body of Docker's `POST /containers/create` for a `ContainerConfig`.

Separate from `DockerRuntime` because it is Kubernetes-to-Docker translation, not engine I/O: the
only host question it asks (what to bind for a mount with a subPath) comes in as the
`SubPathSource` callback, so the whole body is unit-tested without an engine.

Traps this module deals with:

* **Command and args.** Kubernetes `command` is Docker's `Entrypoint`, `args` is `Cmd`. An empty
  tuple counts as "not given", as in Kubernetes. When the entrypoint is overridden and no args are
  given, `Cmd: []` is sent; the engine would drop the image's CMD anyway (its config merge only
  inherits CMD when no entrypoint is given), so a `command` without `args` never gets the image's CMD
  appended, as in Kubernetes.
* **subPath.** Docker 20.10 has no volume subpath mounts, and a bind of `<volume>/<sub_path>` as a
  path would follow symlinks a container planted there, out of the volume (CVE-2017-1002101). So
  a mount with a subPath (of an emptyDir or a hostPath) becomes a bind of the path the callback
  returns: a mount Podyard made of the subPath opened safely beneath the volume (see
  `dockersubpaths`). A tmpfs volume is reachable only while some container keeps it mounted, which
  the pod's sandbox does (it mounts every emptyDir of the pod).
* **Restart policy.** Every container gets Docker restart policy `no`: restarts are the
  controller's, so backoff and OnFailure/Never follow Kubernetes exactly.

Docker behaviours verified on dockerd 20.10 (cgroup v1), and covered by the integration tests:

* `NetworkMode`/`IpcMode`/`PidMode` `container:<name>` is resolved to the sandbox's *id* at create
  time. A container is bound to one sandbox instance: once the sandbox is replaced (same name, new
  id) the old containers cannot start again and must be recreated, as in Kubernetes.
* Containers joining `container:<sandbox>` for network share the sandbox's hostname too; setting a
  Hostname on them is refused by the engine, so none is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from controller.model import labels
from controller.model.errors import ConfigRefused
from controller.model.plan import ContainerConfig, MountSpec
from controller.runtime.docker.json import _PROTOCOLS, _bind
from controller.runtime.docker.security import add_security

__all__ = ["CPU_PERIOD_MICROS", "MIN_CPU_QUOTA_MICROS", "SubPathSource", "container_body"]

CPU_PERIOD_MICROS = 100_000
MIN_CPU_QUOTA_MICROS = 1_000
"""The kernel's (and Docker's) smallest CFS quota; the kubelet clamps to it as well."""

SubPathSource = Callable[[ContainerConfig, int, MountSpec], Awaitable[str | None]]
"""The host path to bind for mount number `index` of a container, which has a subPath; None when
the subPath names the whole volume. Raises ConfigRefused for a subPath that may not be mounted."""


async def container_body(config: ContainerConfig, sub_path_source: SubPathSource) -> dict[str, Any]:
    """The body of `POST /containers/create` for `config`."""
    host: dict[str, Any] = {"RestartPolicy": {"Name": "no"}}
    body: dict[str, Any] = {
        "Image": config.image,
        "Labels": {**config.extra_labels, **labels.identity_labels(config.identity)},
        "Env": [f"{key}={value}" for key, value in config.env],
        "StopTimeout": config.stop_grace_seconds,
        "HostConfig": host,
    }
    _add_command(config, body)
    _add_namespaces(config, body, host)
    _add_ports(config, body, host)
    await _add_mounts(config, host, sub_path_source)
    _add_resources(config, host)
    add_security(config, body, host)
    return body


def _add_command(config: ContainerConfig, body: dict[str, Any]) -> None:
    if config.entrypoint:
        body["Entrypoint"] = list(config.entrypoint)
        body["Cmd"] = list(config.command or ())
    elif config.command:
        body["Cmd"] = list(config.command)
    if config.working_dir:
        body["WorkingDir"] = config.working_dir


def _add_namespaces(config: ContainerConfig, body: dict[str, Any], host: dict[str, Any]) -> None:
    """A sandbox owns the pod's namespaces; every other container joins the sandbox's."""
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


def _add_ports(config: ContainerConfig, body: dict[str, Any], host: dict[str, Any]) -> None:
    if not config.ports:
        return
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


async def _add_mounts(
    config: ContainerConfig, host: dict[str, Any], sub_path_source: SubPathSource
) -> None:
    mounts: list[dict[str, Any]] = []
    binds: list[str] = []
    for index, mount in enumerate(config.mounts):
        if mount.kind not in ("bind", "volume"):
            raise ConfigRefused(f"unsupported mount kind {mount.kind!r} for {mount.target}")
        source = await sub_path_source(config, index, mount) if mount.sub_path else None
        if source is not None:
            binds.append(_bind(source, mount.target, mount.read_only))
        elif mount.kind == "bind":
            binds.append(_bind(mount.source.rstrip("/") or "/", mount.target, mount.read_only))
        else:
            mounts.append(
                {
                    "Type": "volume",
                    "Source": mount.source,
                    "Target": mount.target,
                    "ReadOnly": mount.read_only,
                }
            )
    if mounts:
        host["Mounts"] = mounts
    if binds:
        host["Binds"] = binds


def _add_resources(config: ContainerConfig, host: dict[str, Any]) -> None:
    """Limits as cgroup settings: memory without swap, CPU as a CFS quota, requests as shares."""
    if config.memory_limit_bytes is not None:
        host["Memory"] = config.memory_limit_bytes
        host["MemorySwap"] = config.memory_limit_bytes
    if config.cpu_limit_millis is not None:
        host["CpuPeriod"] = CPU_PERIOD_MICROS
        host["CpuQuota"] = max(MIN_CPU_QUOTA_MICROS, config.cpu_limit_millis * 100)
    if config.cpu_request_millis is not None:
        host["CpuShares"] = max(2, config.cpu_request_millis * 1024 // 1000)
