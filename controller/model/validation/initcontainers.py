"""The rules only init containers (and the `restartPolicy` that makes one a sidecar) add.

Kubernetes' wording and paths: `restartPolicy` is refused on an app container (`Forbidden: may not
be set for non-init containers`), only `Always` is accepted on an init container, and an init
container that is not a sidecar may have no liveness, readiness or startup probe (it runs to
completion; nothing reads its readiness). The rules every container shares (image, ports, mounts,
resources, probe shapes) and the uniqueness of names across init and app containers are
`validation.pod`'s, which calls this for each container.
"""

from __future__ import annotations

from controller.model.pod import Container, RestartPolicy
from controller.model.validation.meta import FieldError, show_value

_PROBE_KEYS = (
    ("livenessProbe", "liveness_probe"),
    ("readinessProbe", "readiness_probe"),
    ("startupProbe", "startup_probe"),
    ("lifecycle", "lifecycle"),
)
"""Fields only a sidecar among init containers may set (Kubernetes forbids them on the others:
they never run beside the app, so probes and hooks have nothing to guard)."""


def init_container_errors(path: str, container: Container) -> list[FieldError]:
    """Problems of an init container found at `path` (`spec.initContainers[0]`)."""
    errors: list[FieldError] = []
    policy = container.restart_policy
    if policy is not None and policy is not RestartPolicy.ALWAYS:
        errors.append(
            FieldError(
                f"{path}.restartPolicy",
                f'Unsupported value: {show_value(policy.value)}: supported values: "Always"',
            )
        )
    if container.is_sidecar:
        return errors
    for key, attribute in _PROBE_KEYS:
        if getattr(container, attribute) is not None:
            errors.append(
                FieldError(
                    f"{path}.{key}",
                    "Forbidden: may not be set for init containers without restartPolicy=Always",
                )
            )
    return errors


def app_container_errors(path: str, container: Container) -> list[FieldError]:
    """Problems of an app container found at `path` (`spec.containers[0]`) this module owns."""
    if container.restart_policy is None:
        return []
    return [
        FieldError(f"{path}.restartPolicy", "Forbidden: may not be set for non-init containers")
    ]
