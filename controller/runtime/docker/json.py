"""Docker's JSON <-> Podyard's model: the pure half of the Docker adapter.

Everything here is a function of its arguments (no engine calls), so the mapping is unit-tested
without an engine: Docker's RFC 3339 nanosecond times (and its "never", `0001-01-01T00:00:00Z`),
its container states folded into `RunState`, `/info` into a node's capacity and engine info, labels read back into an identity (a container without
Podyard's labels maps to None and is never seen above the runtime) and event attributes to a
PodRef.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from typing import Any

from controller.model import labels
from controller.model.lifecycle import handler_from_label
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid
from controller.model.observed import (
    ContainerRole,
    EngineInfo,
    NodeCapacity,
    ObservedContainer,
    RunState,
)

_STATES = {
    "created": RunState.CREATED,
    "running": RunState.RUNNING,
    "paused": RunState.RUNNING,
    "restarting": RunState.RUNNING,
    "removing": RunState.EXITED,
    "exited": RunState.EXITED,
    "dead": RunState.EXITED,
}

_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)

_NS = 1_000_000_000


def parse_docker_time_ns(text: object) -> int | None:
    """RFC 3339 with up to nanoseconds (Docker's format) to epoch nanoseconds.

    None for Docker's "never" (`0001-01-01T00:00:00Z`), an empty value or text that does not parse.
    """
    if not isinstance(text, str):
        return None
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    year = int(match[1])
    if year <= 1:
        return None
    try:
        seconds = calendar.timegm(
            (
                year,
                int(match[2]),
                int(match[3]),
                int(match[4]),
                int(match[5]),
                int(match[6]),
                0,
                0,
                0,
            )
        )
    except (ValueError, OverflowError):
        return None
    fraction = match[7] or ""
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    zone = match[8]
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * _NS + nanos


def parse_docker_time(text: object) -> float | None:
    """Like `parse_docker_time_ns`, in epoch seconds (float)."""
    nanos = parse_docker_time_ns(text)
    return None if nanos is None else nanos / _NS


def _since(nanos: int) -> str:
    """The `since` parameter of the events endpoint: `<seconds>.<nanoseconds>`."""
    return f"{nanos // _NS}.{nanos % _NS:09d}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str_labels(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(value).items() if v is not None}


def _pod_ref(attributes: Mapping[str, str]) -> PodRef | None:
    namespace = attributes.get(labels.POD_NAMESPACE)
    name = attributes.get(labels.POD_NAME)
    uid = attributes.get(labels.POD_UID)
    if not (namespace and name and uid):
        return None
    return PodRef(namespace, name, PodUid(uid))


def _stream_error(item: Mapping[str, Any]) -> str | None:
    """The error a pull progress item carries, if any."""
    detail = _mapping(item.get("errorDetail"))
    message = detail.get("message") or item.get("error")
    return str(message) if message else None


def _bind(source: str, target: str, read_only: bool) -> str:
    return f"{source}:{target}:ro" if read_only else f"{source}:{target}"


def observe(data: Mapping[str, Any], node: NodeName) -> ObservedContainer | None:
    """Docker's inspect JSON to an ObservedContainer; None when it is not Podyard's."""
    config = _mapping(data.get("Config"))
    container_labels = _str_labels(config.get("Labels"))
    identity = labels.identity_from_labels(container_labels)
    if identity is None:
        return None
    state_json = _mapping(data.get("State"))
    status = str(state_json.get("Status") or "")
    started_at = parse_docker_time(state_json.get("StartedAt"))
    state = _STATES.get(status)
    if state is None:  # an unknown future status: go by the booleans
        if state_json.get("Running"):
            state = RunState.RUNNING
        else:
            state = RunState.EXITED if started_at is not None else RunState.CREATED
    error = str(state_json.get("Error") or "")
    raw_exit = state_json.get("ExitCode")
    exit_code: int | None = None
    if isinstance(raw_exit, int) and (
        state is RunState.EXITED or (state is RunState.CREATED and error)
    ):
        exit_code = raw_exit
    return ObservedContainer(
        id=ContainerId(str(data.get("Id") or "")),
        node=node,
        docker_name=str(data.get("Name") or "").lstrip("/"),
        identity=identity,
        state=state,
        image=str(config.get("Image") or ""),
        image_id=str(data.get("Image") or ""),
        exit_code=exit_code,
        oom_killed=bool(state_json.get("OOMKilled")),
        error=error,
        created_at=parse_docker_time(data.get("Created")) or 0.0,
        started_at=started_at,
        finished_at=parse_docker_time(state_json.get("FinishedAt")),
        ip=_ip(_mapping(data.get("NetworkSettings"))),
        manifest=container_labels.get(labels.POD_MANIFEST, ""),
        host_ports=labels.host_ports_from_labels(container_labels)
        if identity.role is ContainerRole.SANDBOX
        else (),
        source=container_labels.get(labels.POD_SOURCE, ""),
        pre_stop=handler_from_label(container_labels.get(labels.PRE_STOP)),
    )


def _ip(network: Mapping[str, Any]) -> str | None:
    for settings in _mapping(network.get("Networks")).values():
        address = _mapping(settings).get("IPAddress")
        if address:
            return str(address)
    address = network.get("IPAddress")
    return str(address) if address else None


_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
"""Docker reports the kernel's machine name; Kubernetes shows Go's architecture names."""


def capacity_of(info: Mapping[str, Any]) -> NodeCapacity:
    """`NodeCapacity` from the engine's `/info` JSON; missing fields read as 0 or ""."""

    def text(key: str) -> str:
        value = info.get(key)
        return value if isinstance(value, str) else ""

    arch = text("Architecture")
    engine = EngineInfo(
        engine_id=text("ID"),
        server_version=text("ServerVersion"),
        operating_system=text("OSType"),
        os_image=text("OperatingSystem"),
        kernel_version=text("KernelVersion"),
        architecture=_ARCHITECTURES.get(arch, arch),
    )
    return NodeCapacity(int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0), engine)
