"""The checks "restricted" adds to "baseline", in Kubernetes' words and order.

Role: `restricted_checks(spec)` returns one optional `Violation` per restricted check of a pod spec:
restricted volume types, allowPrivilegeEscalation, runAsNonRoot, runAsUser=0, seccompProfile and
capabilities (drop ALL, add only NET_BIND_SERVICE). `podsecurity.violations` runs them after the
baseline checks for the "restricted" level.

Traps:
- A container inherits the pod's runAsNonRoot, runAsUser and seccompProfile: a container that sets
  nothing passes when the pod sets a good value, and is named in a "pod or container" detail when
  neither does (upstream's wording).
- Under restricted a hostPath is refused whatever prefix the operator allows (upstream's
  "restricted volume types"): the allowed prefixes relax baseline only.
"""

from __future__ import annotations

from controller.decide.podsecurity_words import Violation, containers, quote
from controller.model.pod import PodSpec

_GOOD_SECCOMP = ("RuntimeDefault", "Localhost")


def restricted_checks(spec: PodSpec) -> list[Violation | None]:
    """The restricted checks of `spec`, None for each that passes."""
    return [
        _restricted_volumes(spec),
        _allow_privilege_escalation(spec),
        _run_as_non_root(spec),
        _run_as_user(spec),
        _seccomp_restricted(spec),
        _capabilities_restricted(spec),
    ]


def _restricted_volumes(spec: PodSpec) -> Violation | None:
    bad = [v.name for v in spec.volumes if v.host_path is not None]
    if not bad:
        return None
    noun = "volume" if len(bad) == 1 else "volumes"
    return Violation(
        "restricted volume types", f'{noun} {quote(bad)} uses restricted volume type "hostPath"'
    )


def _allow_privilege_escalation(spec: PodSpec) -> Violation | None:
    bad = [
        c.name
        for c in spec.all_containers()
        if c.security_context is None or c.security_context.allow_privilege_escalation is not False
    ]
    if not bad:
        return None
    return Violation(
        "allowPrivilegeEscalation != false",
        f"{containers(bad)} must set securityContext.allowPrivilegeEscalation=false",
    )


def _run_as_non_root(spec: PodSpec) -> Violation | None:
    pod = spec.security_context.run_as_non_root if spec.security_context else None
    explicit_false: list[str] = []
    implicit: list[str] = []
    for c in spec.all_containers():
        own = c.security_context.run_as_non_root if c.security_context else None
        if own is False:
            explicit_false.append(c.name)
        elif own is None and pod is not True:
            implicit.append(c.name)
    details: list[str] = []
    if pod is False:
        details.append("pod must not set securityContext.runAsNonRoot=false")
    if explicit_false:
        details.append(
            f"{containers(explicit_false)} must not set securityContext.runAsNonRoot=false"
        )
    if implicit and pod is None:
        details.append(f"pod or {containers(implicit)} must set securityContext.runAsNonRoot=true")
    if not details:
        return None
    return Violation("runAsNonRoot != true", "; ".join(details))


def _run_as_user(spec: PodSpec) -> Violation | None:
    setters: list[str] = []
    if spec.security_context is not None and spec.security_context.run_as_user == 0:
        setters.append("pod")
    bad = [
        c.name
        for c in spec.all_containers()
        if c.security_context and c.security_context.run_as_user == 0
    ]
    if bad:
        setters.append(containers(bad))
    if not setters:
        return None
    return Violation("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")


def _seccomp_restricted(spec: PodSpec) -> Violation | None:
    pod = spec.security_context.seccomp_profile if spec.security_context else None
    pod_type = pod.type.value if pod else None
    explicit_bad: list[str] = []
    implicit: list[str] = []
    values: set[str] = set()
    for c in spec.all_containers():
        own = c.security_context.seccomp_profile if c.security_context else None
        if own is not None and own.type.value not in _GOOD_SECCOMP:
            explicit_bad.append(c.name)
            values.add(own.type.value)
        elif own is None and pod_type is None:
            implicit.append(c.name)
    details: list[str] = []
    if pod_type is not None and pod_type not in _GOOD_SECCOMP:
        details.append(
            f"pod must not set securityContext.seccompProfile.type to {quote([pod_type])}"
        )
    if explicit_bad:
        details.append(
            f"{containers(explicit_bad)} must not set securityContext.seccompProfile.type to "
            f"{quote(sorted(values))}"
        )
    if implicit:
        details.append(
            f"pod or {containers(implicit)} must set securityContext.seccompProfile.type to "
            '"RuntimeDefault" or "Localhost"'
        )
    if not details:
        return None
    return Violation("seccompProfile", "; ".join(details))


def _capabilities_restricted(spec: PodSpec) -> Violation | None:
    no_drop: list[str] = []
    bad_add: list[str] = []
    added: set[str] = set()
    for c in spec.all_containers():
        caps = c.security_context.capabilities if c.security_context else None
        if caps is None or "ALL" not in caps.drop:
            no_drop.append(c.name)
        extra = [cap for cap in (caps.add if caps else ()) if cap != "NET_BIND_SERVICE"]
        if extra:
            bad_add.append(c.name)
            added.update(extra)
    details: list[str] = []
    if no_drop:
        details.append(f'{containers(no_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if bad_add:
        details.append(
            f"{containers(bad_add)} must not include {quote(sorted(added))} in "
            "securityContext.capabilities.add"
        )
    if not details:
        return None
    return Violation("unrestricted capabilities", "; ".join(details))
