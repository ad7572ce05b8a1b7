"""A container's lifecycle hooks (postStart, preStop), checked as Kubernetes' validateLifecycle.

`lifecycle_errors` returns the problems of one container's hooks with Kubernetes' paths
(`spec.containers[0].lifecycle.preStop.sleep.seconds`) and wording: exactly one handler, a
non-empty `exec.command`, the httpGet rules of probes (shared with `validation.probes`, so a named
port must be one of the container's own, Podyard's rule there too), and a sleep that is not
negative and not longer than the pod's `terminationGracePeriodSeconds` (Kubernetes 1.32's
PodLifecycleSleepActionAllowZero: 0 is allowed).

Trap: only the first handler found is checked further, as for probes; the others are reported as
forbidden, not examined. `tcpSocket` never reaches here: serde refuses it as not supported.
"""

from __future__ import annotations

from controller.model.lifecycle import LifecycleHandler
from controller.model.pod import Container
from controller.model.probes import ExecAction, HTTPGetAction
from controller.model.validation.meta import FieldError, invalid, required
from controller.model.validation.probes import http_get_errors


def lifecycle_errors(path: str, container: Container, grace_seconds: int) -> list[FieldError]:
    """Every problem of the hooks of `container` at `path` (`spec.containers[0]`)."""
    lifecycle = container.lifecycle
    if lifecycle is None:
        return []
    port_names = frozenset(p.name for p in container.ports if p.name)
    errors: list[FieldError] = []
    for key, handler in (("postStart", lifecycle.post_start), ("preStop", lifecycle.pre_stop)):
        if handler is not None:
            hpath = f"{path}.lifecycle.{key}"
            errors += _handler(hpath, handler, port_names, grace_seconds)
    return errors


def _handler(
    path: str, handler: LifecycleHandler, port_names: frozenset[str], grace_seconds: int
) -> list[FieldError]:
    candidates = (("exec", handler.exec), ("httpGet", handler.http_get), ("sleep", handler.sleep))
    present = [(key, action) for key, action in candidates if action is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    errors = [
        FieldError(f"{path}.{key}", "Forbidden: may not specify more than 1 handler type")
        for key, _ in present[1:]
    ]
    action = present[0][1]
    if isinstance(action, ExecAction):
        if not action.command:
            errors.append(required(f"{path}.exec.command"))
    elif isinstance(action, HTTPGetAction):
        errors += http_get_errors(f"{path}.httpGet", action, port_names)
    elif action is not None and not 0 <= action.seconds <= grace_seconds:
        errors.append(
            invalid(
                f"{path}.sleep.seconds",
                action.seconds,
                "must be non-negative and less than terminationGracePeriodSeconds "
                f"({grace_seconds})",
            )
        )
    return errors
