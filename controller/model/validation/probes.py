"""A container's probes (liveness, readiness, startup), checked as Kubernetes' ValidatePod checks them.

`probe_errors` returns the problems of one container's three probes with Kubernetes' paths
(`spec.containers[0].livenessProbe.httpGet.port`) and wording: exactly one handler, no negative
timing, `successThreshold` 1 for liveness and startup, `terminationGracePeriodSeconds` greater than
0 and never on a readiness probe, a non-empty `exec.command`, a port number or IANA port name, and
Go-style HTTP header names. Kept apart from `pod` because only the probe types change it.

Traps:
- Timing fields of 0 never reach here: serde turns them into Kubernetes' defaults first, exactly
  as the API server defaults before it validates. So only negative values are refused, and a
  liveness probe's `successThreshold: 0` is accepted (it means 1).
- Two rules are Podyard's, not Kubernetes': a named port must be one of the container's own
  `ports[].name` (the kubelet would only fail the probe at run time; Podyard resolves names at run
  time too, so an unknown name is refused here, next to the manifest line), and an httpGet `path`
  must start with "/" (Kubernetes defaults an empty path to "/" and accepts `healthz`).
- Only the first handler found is checked further, as Kubernetes does: the others are reported as
  forbidden, not examined.
"""

from __future__ import annotations

import json

from controller.model.pod import Container
from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    PortRef,
    Probe,
    ProbeAction,
    ProbeKind,
)
from controller.model.validation.meta import (
    FieldError,
    http_header_name_problems,
    invalid,
    negative,
    port_name_problems,
    required,
    show_value,
)


def probe_errors(path: str, container: Container) -> list[FieldError]:
    """Every problem of the probes of `container`, found at `path` (`spec.containers[0]`)."""
    port_names = frozenset(p.name for p in container.ports if p.name)
    probes = (
        (ProbeKind.LIVENESS, "livenessProbe", container.liveness_probe),
        (ProbeKind.READINESS, "readinessProbe", container.readiness_probe),
        (ProbeKind.STARTUP, "startupProbe", container.startup_probe),
    )
    errors: list[FieldError] = []
    for kind, key, probe in probes:
        if probe is not None:
            errors += _probe(f"{path}.{key}", kind, probe, port_names)
    return errors


def _probe(
    path: str, kind: ProbeKind, probe: Probe, port_names: frozenset[str]
) -> list[FieldError]:
    errors = _handler(path, probe, port_names)
    for key, value in (
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        if value < 0:
            errors.append(negative(f"{path}.{key}", value))
    grace = probe.termination_grace_period_seconds
    if grace is not None and grace <= 0:
        errors.append(
            invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    if grace is not None and kind is ProbeKind.READINESS:
        errors.append(
            invalid(
                f"{path}.terminationGracePeriodSeconds",
                grace,
                "must not be set for readinessProbes",
            )
        )
    if kind is not ProbeKind.READINESS and probe.success_threshold != 1:
        errors.append(invalid(f"{path}.successThreshold", probe.success_threshold, "must be 1"))
    return errors


def _handler(path: str, probe: Probe, port_names: frozenset[str]) -> list[FieldError]:
    """Exactly one handler; only the first one set is checked further, as Kubernetes does."""
    candidates: tuple[tuple[str, ProbeAction | None], ...] = (
        ("exec", probe.exec),
        ("httpGet", probe.http_get),
        ("tcpSocket", probe.tcp_socket),
    )
    handlers = [(key, action) for key, action in candidates if action is not None]
    if not handlers:
        return [required(path, "must specify a handler type")]
    errors = [
        FieldError(f"{path}.{key}", "Forbidden: may not specify more than 1 handler type")
        for key, _ in handlers[1:]
    ]
    action = handlers[0][1]
    if isinstance(action, ExecAction):
        if not action.command:
            errors.append(required(f"{path}.exec.command"))
    elif isinstance(action, HTTPGetAction):
        errors += http_get_errors(f"{path}.httpGet", action, port_names)
    else:
        errors += port_errors(f"{path}.tcpSocket.port", action.port, port_names)
    return errors


def http_get_errors(
    path: str, action: HTTPGetAction, port_names: frozenset[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not action.path.startswith("/"):
        errors.append(
            invalid(f"{path}.path", action.path, "must be an absolute path (start with '/')")
        )
    errors += port_errors(f"{path}.port", action.port, port_names)
    for i, header in enumerate(action.http_headers):
        name_path = f"{path}.httpHeaders[{i}].name"
        errors += [
            invalid(name_path, header.name, p) for p in http_header_name_problems(header.name)
        ]
    return errors


def port_errors(path: str, port: PortRef, port_names: frozenset[str]) -> list[FieldError]:
    """Kubernetes' ValidatePortNumOrName, then Podyard's own rule: a name must be the container's."""
    value = port.value
    if isinstance(value, int):
        if 1 <= value <= 65535:
            return []
        return [invalid(path, value, "must be between 1 and 65535, inclusive")]
    problems = port_name_problems(value)
    if problems:
        return [invalid(path, value, p) for p in problems]
    if value in port_names:
        return []
    known = ", ".join(json.dumps(name) for name in sorted(port_names))
    where = f"its named ports are {known}" if known else "it names none of its ports"
    return [
        FieldError(
            path,
            f"Not found: {show_value(value)}: must be a port number or the name of one of this "
            f"container's ports ({where})",
        )
    ]
