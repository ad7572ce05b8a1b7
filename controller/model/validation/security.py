"""The value rules of a pod's and its containers' securityContext, as Kubernetes words them.

Role: `security_errors(path, spec)` checks ids (0..2147483647), procMount, sysctl names (format,
duplicates), and the localhostProfile a Localhost AppArmor profile needs (and only it may have).
Whether a value is *allowed* (privileged, capabilities, Unconfined) is Pod Security admission's
question (`decide.podsecurity`), asked later with the namespace's level; this module only says
whether a value is well formed.

Traps:
- A sysctl Docker does not know, or one of a namespace the pod does not own, is refused by the
  engine only when the sandbox is created (FailedCreatePodSandBox); the format check here catches
  typos next to the manifest line, not every sysctl Docker will refuse.
"""

from __future__ import annotations

import re

from controller.model.pod import AppArmorProfile, AppArmorProfileType, PodSpec
from controller.model.validation.meta import FieldError, invalid, required, show_value

MAX_ID = 2_147_483_647
_ID_RANGE = f"must be between 0 and {MAX_ID}, inclusive"
_SYSCTL = re.compile(r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")
_PROC_MOUNTS = ("Default", "Unmasked")


def security_errors(path: str, spec: PodSpec) -> list[FieldError]:
    """Every malformed securityContext value of the pod and its containers."""
    errors: list[FieldError] = []
    pod = spec.security_context
    if pod is not None:
        here = f"{path}.securityContext"
        for name, value in (
            ("runAsUser", pod.run_as_user),
            ("runAsGroup", pod.run_as_group),
            ("fsGroup", pod.fs_group),
        ):
            errors += _id(f"{here}.{name}", value)
        for i, group in enumerate(pod.supplemental_groups):
            errors += _id(f"{here}.supplementalGroups[{i}]", group)
        seen: set[str] = set()
        for i, sysctl in enumerate(pod.sysctls):
            where = f"{here}.sysctls[{i}].name"
            if not _SYSCTL.match(sysctl.name):
                errors.append(
                    invalid(
                        where,
                        sysctl.name,
                        "must have at most 253 characters and match regex " + _SYSCTL.pattern,
                    )
                )
            elif sysctl.name in seen:
                errors.append(FieldError(where, f"Duplicate value: {show_value(sysctl.name)}"))
            seen.add(sysctl.name)
        errors += _app_armor(f"{here}.appArmorProfile", pod.app_armor_profile)
    for i, container in enumerate(spec.containers):
        own = container.security_context
        if own is None:
            continue
        here = f"{path}.containers[{i}].securityContext"
        errors += _id(f"{here}.runAsUser", own.run_as_user)
        errors += _id(f"{here}.runAsGroup", own.run_as_group)
        if own.proc_mount is not None and own.proc_mount not in _PROC_MOUNTS:
            supported = ", ".join(f'"{m}"' for m in _PROC_MOUNTS)
            errors.append(
                FieldError(
                    f"{here}.procMount",
                    f"Unsupported value: {show_value(own.proc_mount)}: supported values: "
                    f"{supported}",
                )
            )
        if own.privileged and own.allow_privilege_escalation is False:
            errors.append(
                invalid(
                    f"{here}",
                    own.allow_privilege_escalation,
                    "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                )
            )
        errors += _app_armor(f"{here}.appArmorProfile", own.app_armor_profile)
    return errors


def _id(path: str, value: int | None) -> list[FieldError]:
    if value is None or 0 <= value <= MAX_ID:
        return []
    return [invalid(path, value, _ID_RANGE)]


def _app_armor(path: str, profile: AppArmorProfile | None) -> list[FieldError]:
    if profile is None:
        return []
    localhost = profile.type is AppArmorProfileType.LOCALHOST
    if localhost and not profile.localhost_profile:
        return [required(f"{path}.localhostProfile", "must be set when AppArmor type is Localhost")]
    if not localhost and profile.localhost_profile is not None:
        return [
            FieldError(
                f"{path}.localhostProfile",
                "Invalid value: can only be set when AppArmor type is Localhost",
            )
        ]
    return []
