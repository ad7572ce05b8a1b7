"""A pod's and a container's securityContext, turned into the `ContainerSecurity` of a plan.

Role: `container_security(spec, container)` merges the pod's securityContext into a container's as
the kubelet does (the container's own value wins; runAsUser, runAsGroup, runAsNonRoot,
seccompProfile and appArmorProfile are inherited) and adds the pod's groups; `sandbox_security`
gives the sandbox the pod-wide settings: sysctls and the host namespaces.

Traps:
- Capabilities are passed as Kubernetes names them (`NET_ADMIN`, `ALL`): Docker accepts them with
  or without the `CAP_` prefix, and `ALL` in drop, as the kubelet sends them to its runtime.
- runAsGroup without runAsUser: Docker's `User` cannot name a group without a user, so the group
  is added to the container's groups instead (files it creates keep the image user's group).
- fsGroup is honoured as far as Docker can: it is added to every container's groups (GroupAdd).
  Volumes are not chowned to it (Docker has no such step; the README says so).
- hostNetwork, hostPID and hostIPC pass admission only under the "privileged" level; then the
  sandbox owns the host's namespaces and the containers join it (PID and IPC directly, as Docker
  cannot join a container that itself uses the host's).
- A Localhost seccomp profile names a file on the node that Docker would need as JSON content:
  refused at load (`not supported`), so it never reaches here.
"""

from __future__ import annotations

from typing import TypeVar

from controller.model.plan import ContainerSecurity
from controller.model.pod import (
    AppArmorProfile,
    AppArmorProfileType,
    Container,
    PodSpec,
    SeccompProfileType,
)

_T = TypeVar("_T")


def sandbox_security(spec: PodSpec) -> ContainerSecurity:
    """The sandbox's part: pod sysctls and host namespaces; it runs as the pause image says."""
    sysctls = spec.security_context.sysctls if spec.security_context else ()
    return ContainerSecurity(
        sysctls={s.name: s.value for s in sysctls},
        host_network=spec.host_network,
        host_pid=spec.host_pid,
        host_ipc=spec.host_ipc,
    )


def container_security(spec: PodSpec, container: Container) -> ContainerSecurity:
    """An app container's security settings, the pod's securityContext merged in."""
    pod = spec.security_context
    own = container.security_context
    user = _first(own.run_as_user if own else None, pod.run_as_user if pod else None)
    group = _first(own.run_as_group if own else None, pod.run_as_group if pod else None)
    non_root = _first(own.run_as_non_root if own else None, pod.run_as_non_root if pod else None)
    seccomp = _first(own.seccomp_profile if own else None, pod.seccomp_profile if pod else None)
    app_armor = _first(
        own.app_armor_profile if own else None, pod.app_armor_profile if pod else None
    )
    groups: list[int] = [group] if group is not None and user is None else []
    if pod is not None:
        groups += [g for g in (pod.fs_group,) if g is not None and g not in groups]
        groups += [g for g in pod.supplemental_groups if g not in groups]
    caps = own.capabilities if own else None
    return ContainerSecurity(
        privileged=bool(own and own.privileged),
        cap_add=caps.add if caps else (),
        cap_drop=caps.drop if caps else (),
        user=_user(user, group),
        group_add=tuple(str(g) for g in groups),
        read_only_root=bool(own and own.read_only_root_filesystem),
        no_new_privileges=own is not None and own.allow_privilege_escalation is False,
        seccomp_unconfined=seccomp is not None and seccomp.type is SeccompProfileType.UNCONFINED,
        app_armor=_app_armor(app_armor),
        unmasked_proc=own is not None and own.proc_mount == "Unmasked",
        run_as_non_root=bool(non_root),
        host_pid=spec.host_pid,
        host_ipc=spec.host_ipc,
    )


def _first(own: _T | None, pod: _T | None) -> _T | None:
    return own if own is not None else pod


def _user(user: int | None, group: int | None) -> str | None:
    """Docker's `User`, `uid` or `uid:gid`. A group without a user cannot be said to Docker
    (it needs the user first): that group is added to the container's groups instead."""
    if user is None:
        return None
    return str(user) if group is None else f"{user}:{group}"


def _app_armor(profile: AppArmorProfile | None) -> str | None:
    if profile is None or profile.type is AppArmorProfileType.RUNTIME_DEFAULT:
        return None
    if profile.type is AppArmorProfileType.UNCONFINED:
        return "unconfined"
    return profile.localhost_profile
