"""Container lifecycle hooks (postStart, preStop), as Kubernetes' v1 Lifecycle.

A hook has exactly one handler: `exec` (a command run inside the container; exit 0 is success),
`http_get` (a GET from the controller's host to the pod's IP; a status from 200 to 399 is
success), or `sleep` (the controller waits, the container is left alone). The exec and httpGet
handlers are the probes' own types (`model.probes`). `tcpSocket` is deprecated in Kubernetes and
not supported here.

The preStop handler travels on the container itself (a label, `PRE_STOP_LABEL` in
`model.labels`), as the kubelet keeps it in the container's annotations: a pod whose manifest is
gone (deleted file, replaced template) still runs its preStop from what the engine holds, and so
does a controller that restarted in between. `handler_to_label` / `handler_from_label` are that
round trip; reading is tolerant (a malformed label is no hook, never an error).

Trap: a named httpGet port is resolved to its number before the handler goes into a label or a
container config (`with_port_resolved`): the label must stand on its own, without the spec.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs

from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    HTTPHeader,
    PortRef,
    ProbeAction,
    URIScheme,
)


class HookKind(enum.StrEnum):
    """Which hook; the value is the word in Kubernetes' events (FailedPostStartHook, ...)."""

    POST_START = "PostStart"
    PRE_STOP = "PreStop"


@attrs.frozen
class SleepAction:
    seconds: int


@attrs.frozen
class LifecycleHandler:
    """Exactly one handler is set (validated)."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    sleep: SleepAction | None = None

    @property
    def action(self) -> ProbeAction | SleepAction | None:
        return self.exec or self.http_get or self.sleep

    def with_port_resolved(self, named: Mapping[str, int]) -> LifecycleHandler:
        """The same handler with a named httpGet port replaced by its number (unknown: as is)."""
        if self.http_get is None or isinstance(self.http_get.port.value, int):
            return self
        number = self.http_get.port.resolve(dict(named))
        if number is None:
            return self
        return attrs.evolve(self, http_get=attrs.evolve(self.http_get, port=PortRef(number)))


@attrs.frozen
class Lifecycle:
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None


def handler_to_label(handler: LifecycleHandler) -> str:
    """A compact JSON text of `handler` (ports already numbers) for a container label."""
    body: dict[str, Any] = {}
    if handler.exec is not None:
        body["exec"] = list(handler.exec.command)
    elif handler.http_get is not None:
        get = handler.http_get
        body["httpGet"] = {
            "path": get.path,
            "port": get.port.value,
            "host": get.host,
            "scheme": get.scheme.value,
            "headers": [[h.name, h.value] for h in get.http_headers],
        }
    elif handler.sleep is not None:
        body["sleep"] = handler.sleep.seconds
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def handler_from_label(text: str | None) -> LifecycleHandler | None:
    """The handler a label carries; None for no label or one that does not parse."""
    if not text:
        return None
    try:
        body = json.loads(text)
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("exec"), list):
            return LifecycleHandler(exec=ExecAction(tuple(str(a) for a in body["exec"])))
        if isinstance(body.get("sleep"), int):
            return LifecycleHandler(sleep=SleepAction(body["sleep"]))
        get = body.get("httpGet")
        if isinstance(get, dict) and isinstance(get.get("port"), int | str):
            headers = tuple(HTTPHeader(str(n), str(v)) for n, v in get.get("headers") or ())
            host = get.get("host")
            return LifecycleHandler(
                http_get=HTTPGetAction(
                    port=PortRef(get["port"]),
                    path=str(get.get("path") or "/"),
                    host=str(host) if host else None,
                    scheme=URIScheme(get.get("scheme") or "HTTP"),
                    http_headers=headers,
                )
            )
    except (ValueError, TypeError):
        return None
    return None
