"""Pod-level resources on a Docker engine: the pod's containers nested in their sandbox's cgroup.

Docker sets limits only on a container's own cgroup, and has no "pod" cgroup. So the sandbox of a
pod with `spec.resources` carries the pod's limits (`Memory` = `MemorySwap`, a CFS quota, shares
from the pod's cpu request) and is created under `CgroupParent` `/podyard`; each of the pod's
containers is created with `CgroupParent` = the sandbox's own cgroup, `/podyard/<sandbox id>`. On
cgroup v1 the hierarchy then enforces the sandbox's limits on the sum of the pod: the memory
controller charges a child's pages to every ancestor (`memory.use_hierarchy` is 1 on any recent
kernel), and a CFS quota bounds the cpu time of the whole subtree.

Verified on dockerd 20.10, cgroup v1, cgroupfs driver (the integration tests prove it again):

* With the cgroupfs driver a container's cgroup is `<CgroupParent>/<id>` in every v1 hierarchy
  (`/docker/<id>` without one), so the sandbox's path is known from its id: no /info field names
  the daemon's default parent, which is why the sandbox's parent is set explicitly.
* Two containers of 48 MiB under a sandbox limited to 64 MiB: the kernel kills the larger process
  of the subtree. The engine sends `oom` for every container of the pod (the notice reaches all
  cgroups beneath the one over its limit), but only the killed one exits (137, `OOMKilled` true).
* Teardown goes apps first, then the sandbox (decide.pods), and runc removes each cgroup as its
  container stops, so nothing is left. A sandbox that dies while its containers run cannot remove
  its cgroup (it has children): the containers stay bounded by it (its limits remain) until the
  pod is rebuilt, and then the emptied `/podyard/<id>` directories stay behind (one per
  hierarchy). So when a sandbox of `/podyard` is removed, `release` removes its directories
  (`rmdir`, which takes only an empty cgroup), where Podyard sees the engine's cgroups: an engine
  on a unix socket of this host. An engine elsewhere keeps them until its host reboots.

Where it cannot work, the pod's containers are refused (`CreateContainerConfigError` naming
`spec.resources`), never run without the pod's limits; the sandbox itself is created as usual:

* **cgroup v2**: a cgroup that holds processes cannot enable controllers for its children (the
  "no internal processes" rule: writing `cgroup.subtree_control` fails with EBUSY), and the
  sandbox's pause process lives in the cgroup the containers would nest in; runc fails to start
  them. Kubernetes gives each pod an empty cgroup with the limits and puts every container,
  sandbox included, beneath it, which the Docker API cannot make.
* **systemd driver**: `CgroupParent` must be a slice (`x.slice`), and a container is a scope,
  which systemd cannot nest anything in; limits on a slice need systemd, not the Docker API.
* An engine whose /info does not say (`CgroupDriver`, `CgroupVersion`: older than 20.10), or a
  rootless engine (it cannot set limits on cgroup v1 at all).

The verdict comes from the engine's /info, read by a call of its own and kept for
`VERDICT_SECONDS` (an engine reconfigured and restarted is seen within a minute); an engine that
cannot be reached is a runtime failure, retried, never a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiodocker.exceptions import DockerError

from controller.model.errors import ConfigRefused, CreateFailed, RuntimeFailure
from controller.model.plan import ContainerConfig
from controller.runtime.docker.calls import DockerCalls, _docker_message
from controller.runtime.docker.json import _mapping

__all__ = ["POD_CGROUP_ROOT", "VERDICT_SECONDS", "PodCgroups", "pod_cgroup_refusal"]

POD_CGROUP_ROOT = "/podyard"
"""The cgroup parent of the sandboxes of pods with pod-level resources (cgroupfs driver)."""

VERDICT_SECONDS = 60.0
"""How long an engine's cgroup set-up, read from /info, is trusted before it is read again."""

CGROUP_MOUNTS = Path("/sys/fs/cgroup")
"""Where cgroup v1 mounts its hierarchies (`memory`, `cpu`, ...), each with its `/podyard`."""


def pod_cgroup_refusal(
    node: str, driver: str | None, version: str | None, rootless: bool = False
) -> str | None:
    """Why `node` cannot bound a pod's containers by the pod's limits, or None when it can."""
    if driver == "cgroupfs" and version == "1" and not rootless:
        return None
    if driver is None or version is None:
        has = "an engine that does not report its cgroup driver and version"
    else:
        has = f"cgroup v{version} with the {driver} driver" + (" (rootless)" if rootless else "")
    return (
        f"spec.resources: pod-level resources need cgroup v1 with Docker's cgroupfs driver, "
        f"and node {node} has {has}; the pod's containers are not created rather than run "
        f"without the pod's limits"
    )


def _info_refusal(node: str, info: Mapping[str, Any]) -> str | None:
    driver, version = info.get("CgroupDriver"), info.get("CgroupVersion")
    options = info.get("SecurityOptions") or []
    rootless = any("rootless" in str(option) for option in options)
    return pod_cgroup_refusal(
        node,
        str(driver) if driver else None,
        str(version) if version else None,
        rootless,
    )


class PodCgroups:
    """Places the containers of pods with pod-level resources in their pod's cgroup on one engine."""

    def __init__(self, calls: DockerCalls) -> None:
        self._calls = calls
        self._verdict: tuple[float, str | None] | None = None

    async def refusal(self) -> str | None:
        """Why this engine cannot give a pod's containers a shared, limited cgroup (None: it can)."""
        now = time.monotonic()
        if self._verdict is not None and now - self._verdict[0] < VERDICT_SECONDS:
            return self._verdict[1]
        node = self._calls.node
        try:
            info = await self._calls.call("info (cgroups)", lambda d: d.system.info())
        except DockerError as exc:
            raise RuntimeFailure(f"{node}: info failed: {_docker_message(exc)}") from exc
        verdict = _info_refusal(node, _mapping(info))
        self._verdict = (now, verdict)
        return verdict

    async def place(self, config: ContainerConfig, host: dict[str, Any]) -> None:
        """Set `CgroupParent` in a create body's HostConfig for a pod with pod-level resources.

        The sandbox goes under `POD_CGROUP_ROOT` (where the engine can, else where it would
        anyway); a container of the pod under its sandbox's cgroup, or raises ConfigRefused with
        the reason the engine cannot.
        """
        if not config.pod_cgroup:
            return
        refusal = await self.refusal()
        if config.join_sandbox is None:
            if refusal is None:
                host["CgroupParent"] = POD_CGROUP_ROOT
            return
        if refusal is not None:
            raise ConfigRefused(refusal)
        sandbox = await self._calls.inspect_raw(config.join_sandbox)
        if sandbox is None:
            raise CreateFailed(f"No such container: {config.join_sandbox}")
        parent = str(_mapping(sandbox.get("HostConfig")).get("CgroupParent") or "")
        if parent != POD_CGROUP_ROOT:
            raise ConfigRefused(
                f"spec.resources: the pod's sandbox {config.join_sandbox} was created without "
                f"the pod's cgroup; the pod's containers are not created rather than run "
                f"without the pod's limits"
            )
        host["CgroupParent"] = f"{POD_CGROUP_ROOT}/{sandbox['Id']}"

    async def release(self, sandbox: Mapping[str, Any]) -> None:
        """After the removal of `sandbox` (its inspect JSON): remove the cgroup directories it
        left under `/podyard` (see the module docstring), where this host has them."""
        parent = _mapping(sandbox.get("HostConfig")).get("CgroupParent")
        sandbox_id = str(sandbox.get("Id") or "")
        if parent != POD_CGROUP_ROOT or not sandbox_id:
            return
        if type(self._calls.client().connector) is not aiohttp.UnixConnector:
            return  # an engine on another host: its cgroups are not ours to see
        await asyncio.to_thread(_remove_empty_cgroups, f"*{POD_CGROUP_ROOT}/{sandbox_id}")


def _remove_empty_cgroups(pattern: str) -> None:
    """rmdir each cgroup matching `pattern`; one that still has processes or children stays."""
    for directory in CGROUP_MOUNTS.glob(pattern):
        with contextlib.suppress(OSError):
            directory.rmdir()
