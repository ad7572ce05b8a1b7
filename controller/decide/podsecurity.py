"""Pod Security admission: Kubernetes' Pod Security Standards as pure checks of a PodSpec.

Role: `violations(spec, policy)` returns every check a pod spec fails at a level, each as
Kubernetes' `(reason, detail)` pair, and `forbidden_message` joins them as the API server does
(`violates PodSecurity "baseline:latest": privileged (container "x" must not set
securityContext.privileged=true)`), so a user can search for the words. Levels: "privileged" (no
check), "baseline" (the default), "restricted" (baseline plus the restricted checks).

Where Podyard differs from Kubernetes, on purpose (the README says so):
- hostPort is allowed under baseline: an unset hostIP binds loopback only (see decide.containers).
- hostPath is allowed under baseline (never under restricted) when its path lies under a prefix the
  operator allows (`PodSecurityPolicy.allowed_host_paths`); none by default. "privileged" allows
  any path.

Traps:
- A prefix matches whole path components: `/srv/data` allows `/srv/data/x`, never `/srv/database`;
  paths are normalised first, so `/srv/data/../../etc` is judged as `/etc`.
- Messages follow the upstream checks' wording (pluralised `container "a"` / `containers "a", "b"`,
  values quoted with Go's %q), in upstream's check order; tests pin them.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Iterable

import attrs

from controller.decide.podsecurity_restricted import restricted_checks
from controller.decide.podsecurity_words import Violation, containers, quote
from controller.model.pod import (
    AppArmorProfileType,
    PodSpec,
    SeccompProfileType,
)

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
"""The Namespace label that sets a namespace's level, as in Kubernetes."""


class Level(enum.StrEnum):
    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"


@attrs.frozen
class PodSecurityPolicy:
    """What a namespace enforces: its level, and the hostPath prefixes the operator allows."""

    level: Level = Level.BASELINE
    allowed_host_paths: tuple[str, ...] = ()


# Kubernetes' capabilities_allowed_1_0: what a container may add under baseline.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Kubernetes' sysctlsAllowedV1Dot32: namespaced, and safe to let any pod set.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
_GOOD_PROFILES = frozenset({"RuntimeDefault", "Localhost"})


def parse_level(text: str) -> Level | None:
    """A level named as Kubernetes names it (`baseline`), or None for anything else."""
    try:
        return Level(text)
    except ValueError:
        return None


def forbidden_message(level: Level, found: Iterable[Violation]) -> str:
    """Kubernetes' words for a refusal: `violates PodSecurity "baseline:latest": a (b), c (d)`."""
    return f'violates PodSecurity "{level.value}:latest": ' + ", ".join(str(v) for v in found)


def host_path_allowed(path: str, prefixes: Iterable[str]) -> bool:
    """Whether `path` lies at or below one of `prefixes`, by whole components, once normalised."""
    normal = posixpath.normpath("/" + path.lstrip("/"))
    for prefix in prefixes:
        base = posixpath.normpath("/" + prefix.lstrip("/"))
        if base == "/" or normal == base or normal.startswith(base + "/"):
            return True
    return False


def violations(spec: PodSpec, policy: PodSecurityPolicy) -> list[Violation]:
    """Every check `spec` fails under `policy`, in Kubernetes' order; empty when admitted."""
    if policy.level is Level.PRIVILEGED:
        return []
    checks = [
        _privileged(spec),
        _host_namespaces(spec),
        _host_path_volumes(spec, policy.allowed_host_paths),
        _capabilities_baseline(spec),
        _seccomp_baseline(spec),
        _sysctls(spec),
        _proc_mount(spec),
        _app_armor(spec),
    ]
    if policy.level is Level.RESTRICTED:
        checks += restricted_checks(spec)
    return [found for found in checks if found is not None]


def _privileged(spec: PodSpec) -> Violation | None:
    bad = [
        c.name
        for c in spec.all_containers()
        if c.security_context and c.security_context.privileged
    ]
    if not bad:
        return None
    return Violation(
        "privileged", f"{containers(bad)} must not set securityContext.privileged=true"
    )


def _host_namespaces(spec: PodSpec) -> Violation | None:
    set_ = [
        name
        for name, on in (
            ("hostNetwork", spec.host_network),
            ("hostPID", spec.host_pid),
            ("hostIPC", spec.host_ipc),
        )
        if on
    ]
    if not set_:
        return None
    return Violation("host namespaces", ", ".join(f"{name}=true" for name in set_))


def _host_path_volumes(spec: PodSpec, allowed: tuple[str, ...]) -> Violation | None:
    bad = [
        v.name
        for v in spec.volumes
        if v.host_path is not None and not host_path_allowed(v.host_path.path, allowed)
    ]
    if not bad:
        return None
    noun = "volume" if len(bad) == 1 else "volumes"
    return Violation("hostPath volumes", f"{noun} {quote(bad)}")


def _capabilities_baseline(spec: PodSpec) -> Violation | None:
    bad: list[str] = []
    added: set[str] = set()
    for c in spec.all_containers():
        caps = c.security_context.capabilities if c.security_context else None
        extra = [cap for cap in (caps.add if caps else ()) if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c.name)
            added.update(extra)
    if not bad:
        return None
    return Violation(
        "non-default capabilities",
        f"{containers(bad)} must not include {quote(sorted(added))} in "
        "securityContext.capabilities.add",
    )


def _profile_setters(
    spec: PodSpec, field: str, pod_type: str | None, ok: frozenset[str]
) -> tuple[list[str], set[str]]:
    """Who sets a bad profile type in `field` (`pod`, `container "x"`), and which types."""
    setters: list[str] = []
    values: set[str] = set()
    if pod_type is not None and pod_type not in ok:
        setters.append("pod")
        values.add(pod_type)
    bad: list[str] = []
    for c in spec.all_containers():
        profile = getattr(c.security_context, field, None) if c.security_context else None
        if profile is not None and profile.type.value not in ok:
            bad.append(c.name)
            values.add(profile.type.value)
    if bad:
        setters.append(containers(bad))
    return setters, values


def _seccomp_baseline(spec: PodSpec) -> Violation | None:
    pod = spec.security_context.seccomp_profile if spec.security_context else None
    ok = frozenset({*_GOOD_PROFILES, SeccompProfileType.RUNTIME_DEFAULT.value})
    setters, values = _profile_setters(spec, "seccomp_profile", pod.type.value if pod else None, ok)
    if not setters:
        return None
    return Violation(
        "seccompProfile",
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{quote(sorted(values))}",
    )


def _sysctls(spec: PodSpec) -> Violation | None:
    sysctls = spec.security_context.sysctls if spec.security_context else ()
    bad = [s.name for s in sysctls if s.name not in SAFE_SYSCTLS]
    if not bad:
        return None
    return Violation("forbidden sysctls", ", ".join(bad))


def _proc_mount(spec: PodSpec) -> Violation | None:
    bad: list[str] = []
    types: set[str] = set()
    for c in spec.all_containers():
        mount = c.security_context.proc_mount if c.security_context else None
        if mount not in (None, "Default"):
            bad.append(c.name)
            types.add(str(mount))
    if not bad:
        return None
    return Violation(
        "procMount",
        f"{containers(bad)} must not set securityContext.procMount to {quote(sorted(types))}",
    )


def _app_armor(spec: PodSpec) -> Violation | None:
    pod = spec.security_context.app_armor_profile if spec.security_context else None
    ok = frozenset({AppArmorProfileType.RUNTIME_DEFAULT.value, "Localhost"})
    setters, values = _profile_setters(
        spec, "app_armor_profile", pod.type.value if pod else None, ok
    )
    if not setters:
        return None
    noun = "forbidden AppArmor profile" if len(values) == 1 else "forbidden AppArmor profiles"
    return Violation(
        noun,
        f"{' and '.join(setters)} must not set AppArmor profile type to {quote(sorted(values))}",
    )
