"""Container probes (liveness, readiness, startup), as Kubernetes' v1 Probe.

A probe has exactly one handler: `exec` (a command run inside the container; exit 0 is success),
`http_get` (a GET from the controller's host to the pod's IP; a status from 200 to 399 is success)
or `tcp_socket` (a TCP connection to the pod's IP opens). `grpc` is not supported. Timing fields and
defaults are Kubernetes': first run after `initial_delay_seconds`, then every `period_seconds`, each
run failing after `timeout_seconds`; `failure_threshold` consecutive failures flip the result to
failure, `success_threshold` consecutive successes flip it back (liveness and startup: always 1).
"""

from __future__ import annotations

import enum

import attrs


class ProbeKind(enum.StrEnum):
    """Which probe; the value is the word the kubelet uses in events and metrics."""

    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"


class URIScheme(enum.StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"


@attrs.frozen
class PortRef:
    """Kubernetes' IntOrString port of a probe: a number, or the name of a container port."""

    value: int | str

    def resolve(self, named: dict[str, int]) -> int | None:
        """The port number; None when a name matches no container port."""
        if isinstance(self.value, int):
            return self.value
        return named.get(self.value)


@attrs.frozen
class ExecAction:
    command: tuple[str, ...] = ()


@attrs.frozen
class HTTPHeader:
    name: str
    value: str


@attrs.frozen
class HTTPGetAction:
    port: PortRef
    path: str = "/"
    host: str | None = None
    """Defaults to the pod's IP."""
    scheme: URIScheme = URIScheme.HTTP
    http_headers: tuple[HTTPHeader, ...] = ()


@attrs.frozen
class TCPSocketAction:
    port: PortRef
    host: str | None = None
    """Defaults to the pod's IP."""


ProbeAction = ExecAction | HTTPGetAction | TCPSocketAction


@attrs.frozen
class Probe:
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 1
    period_seconds: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period_seconds: int | None = None
    """Liveness and startup only: the grace period of a kill for failing this probe."""

    @property
    def action(self) -> ProbeAction | None:
        """The one handler (validation guarantees exactly one)."""
        return self.exec or self.http_get or self.tcp_socket


@attrs.frozen
class ProbeResult:
    """One run of a probe: success or not, and the kubelet-style message of a failure."""

    success: bool
    message: str = ""


@attrs.frozen
class ContainerProbeState:
    """What the probes say of one running container, for its status.

    `ready` is the readiness probe's result (True without one); `started` the startup probe's (True
    without one). `changed_at` is when either last changed, the Ready condition's transition time.
    """

    ready: bool = True
    started: bool = True
    changed_at: float | None = None
