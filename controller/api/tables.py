"""kubectl's tables for pods, ReplicaSets, Deployments, events and nodes, from Kubernetes JSON.

Pods: NAME READY STATUS RESTARTS AGE; ReplicaSets: NAME DESIRED CURRENT READY AGE; Deployments:
NAME READY UP-TO-DATE AVAILABLE AGE; Events: LAST SEEN TYPE REASON OBJECT MESSAGE; Nodes: NAME
STATUS ROLES AGE VERSION (`-o wide` adds columns to each). Both `podyard get` and the
Table responses `kubectl get` asks for use these rows, so the two always agree. A pod's STATUS
follows kubectl's printPod: the pod's reason, else its phase, overridden by the last container's
waiting or terminated reason; `Terminating` when a deletion is under way.

Trap: a pod's row is read from facts kept per pod object (by identity) and timestamps parsed once
(cached): only AGE and the restart's age are computed per request. A pod's JSON must therefore not
be modified after a row was made from it (the API's objects never are: they are replaced).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import attrs

POD_COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
WIDE_COLUMNS = (*POD_COLUMNS, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
REPLICASET_COLUMNS = ("NAME", "DESIRED", "CURRENT", "READY", "AGE")
REPLICASET_WIDE_COLUMNS = (*REPLICASET_COLUMNS, "CONTAINERS", "IMAGES", "SELECTOR")
DEPLOYMENT_COLUMNS = ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
DEPLOYMENT_WIDE_COLUMNS = (*DEPLOYMENT_COLUMNS, "CONTAINERS", "IMAGES", "SELECTOR")
EVENT_COLUMNS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
EVENT_WIDE_COLUMNS = (
    "LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT",
    "NAME",
)  # fmt: skip
"""kubectl's order: the wide columns sit among the plain ones (SUBOBJECT and SOURCE before
MESSAGE), so an event's wide row is not its plain row extended."""
NODE_COLUMNS = ("NAME", "STATUS", "ROLES", "AGE", "VERSION")
NODE_WIDE_COLUMNS = (
    *NODE_COLUMNS, "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
)  # fmt: skip
_ROLE_PREFIX = "node-role.kubernetes.io/"

JSON = dict[str, Any]


@functools.lru_cache(maxsize=16384)
def parse_time(text: str | None) -> float | None:
    """Cached: a Table of every pod parses each pod's timestamps, most of them the same as last
    time, and `strptime` costs more than the rest of a row."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def human_duration(seconds: float) -> str:
    """kubectl's short durations: 45s, 3m12s, 2h5m, 3d4h, 400d."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h{minutes % 60}m" if minutes % 60 and hours < 8 else f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _sidecar_names(pod: JSON) -> set[str]:
    """Init containers with restartPolicy Always: kubectl counts them with the app containers."""
    inits = pod.get("spec", {}).get("initContainers", [])
    return {c.get("name", "") for c in inits if c.get("restartPolicy") == "Always"}


def _init_status_text(pod: JSON) -> str | None:
    """kubectl's printPod over the init containers: the first one not done decides the text
    (`Init:1/2`, `Init:Error`, `Init:CrashLoopBackOff`, `Init:ExitCode:N`); None once all are."""
    sidecars = _sidecar_names(pod)
    inits = pod.get("status", {}).get("initContainerStatuses", [])
    total = len(pod.get("spec", {}).get("initContainers", [])) or len(inits)
    for i, cs in enumerate(inits):
        state = cs.get("state", {})
        term = state.get("terminated")
        waiting_reason = str(state.get("waiting", {}).get("reason", ""))
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            continue
        if term is not None:
            return "Init:" + str(term.get("reason") or f"ExitCode:{term.get('exitCode', 0)}")
        if waiting_reason and waiting_reason != "PodInitializing":
            return "Init:" + waiting_reason
        return f"Init:{i}/{total}"
    return None


def _initialized(status: JSON) -> bool:
    return any(
        c.get("type") == "Initialized" and c.get("status") == "True"
        for c in status.get("conditions", [])
    )


def pod_status_text(pod: JSON) -> str:
    status = pod.get("status", {})
    reason: str = status.get("reason") or status.get("phase") or "Unknown"
    init_text = _init_status_text(pod)
    if init_text is not None and not _initialized(status):
        reason = init_text
    else:
        reason = _app_status_text(status, reason)
    if pod.get("metadata", {}).get("deletionTimestamp"):
        # kubectl's word for a pod deleted on a node that stopped answering (NodeLost)
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _app_status_text(status: JSON, reason: str) -> str:
    running = False
    for cs in reversed(status.get("containerStatuses", [])):
        state = cs.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or f"ExitCode:{term.get('exitCode', 0)}"
        elif "running" in state and cs.get("ready"):
            running = True
    if reason == "Completed" and running:  # kubectl: a container still runs, the pod is not done
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions", [])
        )
        reason = "Running" if ready else "NotReady"
    return reason


def _restart_facts(pod: JSON) -> tuple[int, float | None]:
    """kubectl's RESTARTS count: the init containers' while the pod initializes, else the app
    containers' and the sidecars'; and when the latest of them finished."""
    status = pod.get("status", {})
    sidecars = _sidecar_names(pod)
    inits = status.get("initContainerStatuses", [])
    if _init_status_text(pod) is not None and not _initialized(status):
        counted = inits
    else:
        counted = [cs for cs in inits if cs.get("name") in sidecars]
        counted += status.get("containerStatuses", [])
    total = 0
    last: float | None = None
    for cs in counted:
        total += int(cs.get("restartCount", 0))
        finished = parse_time(cs.get("lastState", {}).get("terminated", {}).get("finishedAt"))
        if finished is not None and (last is None or finished > last):
            last = finished
    return total, last


def _restarts_text(total: int, last: float | None, now: float) -> str:
    """RESTARTS with the age of the latest restart: `3 (5m ago)`."""
    if total and last is not None:
        return f"{total} ({human_duration(now - last)} ago)"
    return str(total)


@attrs.frozen
class _PodFacts:
    """What a pod's row shows that does not depend on the time of the request."""

    cells: tuple[str, str, str]
    """NAME, READY, STATUS."""
    restarts: int
    last_restart: float | None
    created: float | None
    wide: tuple[str, str]
    """IP, NODE."""


_FACTS_LIMIT = 2048
_facts: dict[int, tuple[JSON, _PodFacts]] = {}
"""Per pod object (by identity, the object held so its id is not reused), its facts: the API's
objects stay the same until they change, so a Table of every pod reads each changed one once.
Cleared whole when full (more pods than the limit only lose the saving)."""


def _pod_facts(pod: JSON) -> _PodFacts:
    held = _facts.get(id(pod))
    if held is not None and held[0] is pod:
        return held[1]
    meta = pod.get("metadata", {})
    statuses = pod.get("status", {}).get("containerStatuses", [])
    sidecars = _sidecar_names(pod)
    inits = pod.get("status", {}).get("initContainerStatuses", [])
    total = (len(pod.get("spec", {}).get("containers", [])) or len(statuses)) + len(sidecars)
    ready = sum(1 for cs in statuses if cs.get("ready"))
    ready += sum(1 for cs in inits if cs.get("name") in sidecars and cs.get("ready"))
    restarts, last = _restart_facts(pod)
    facts = _PodFacts(
        (meta.get("name", ""), f"{ready}/{total}", pod_status_text(pod)),
        restarts,
        last,
        parse_time(meta.get("creationTimestamp")),
        (
            pod.get("status", {}).get("podIP") or "<none>",
            pod.get("spec", {}).get("nodeName") or "<none>",
        ),
    )
    if len(_facts) >= _FACTS_LIMIT:
        _facts.clear()
    _facts[id(pod)] = (pod, facts)
    return facts


def pod_row(pod: JSON, now: float, *, wide: bool = False) -> list[str]:
    facts = _pod_facts(pod)
    row = [
        *facts.cells,
        _restarts_text(facts.restarts, facts.last_restart, now),
        human_duration(now - facts.created) if facts.created is not None else "<unknown>",
    ]
    if wide:
        row += [*facts.wide, "<none>", "<none>"]
    return row


def _age(meta: JSON, now: float) -> str:
    created = parse_time(meta.get("creationTimestamp"))
    return human_duration(now - created) if created is not None else "<unknown>"


def format_selector(selector: JSON | None) -> str:
    """kubectl's FormatLabelSelector: `app=web,tier in (a,b),!legacy`, sorted by key."""
    if not selector:
        return "<none>"
    parts: list[tuple[str, str]] = [
        (key, f"{key}={value}") for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for req in selector.get("matchExpressions") or []:
        key, op = req.get("key", ""), req.get("operator", "")
        values = ",".join(sorted(req.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op, f"{key} {op} ({values})")
        parts.append((key, text))
    parts.sort(key=lambda part: part[0])
    return ",".join(text for _, text in parts) or "<none>"


def _template_columns(obj: JSON) -> list[str]:
    spec = obj.get("spec", {})
    containers = spec.get("template", {}).get("spec", {}).get("containers", [])
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        format_selector(spec.get("selector")),
    ]


def replicaset_row(rs: JSON, now: float, *, wide: bool = False) -> list[str]:
    """kubectl's printReplicaSet: desired (spec), current and ready (status) replicas, age."""
    meta = rs.get("metadata", {})
    status = rs.get("status", {})
    row = [
        meta.get("name", ""),
        str(rs.get("spec", {}).get("replicas", 0)),
        str(status.get("replicas", 0)),
        str(status.get("readyReplicas", 0)),
        _age(meta, now),
    ]
    return row + _template_columns(rs) if wide else row


def deployment_row(deployment: JSON, now: float, *, wide: bool = False) -> list[str]:
    """kubectl's printDeployment: ready/desired, up-to-date and available replicas, age."""
    meta = deployment.get("metadata", {})
    status = deployment.get("status", {})
    desired = deployment.get("spec", {}).get("replicas", 0)
    row = [
        meta.get("name", ""),
        f"{status.get('readyReplicas', 0)}/{desired}",
        str(status.get("updatedReplicas", 0)),
        str(status.get("availableReplicas", 0)),
        _age(meta, now),
    ]
    return row + _template_columns(deployment) if wide else row


def _since(text: str | None, now: float) -> str:
    when = parse_time(text)
    return human_duration(now - when) if when is not None else "<unknown>"


def event_row(event: JSON, now: float, *, wide: bool = False) -> list[str]:
    """kubectl's printEvent: `5m (x3 over 10m)` for a repeated event, the object as `pod/web`."""
    last = _since(event.get("lastTimestamp"), now)
    count = int(event.get("count", 1))
    if count > 1:
        last = f"{last} (x{count} over {_since(event.get('firstTimestamp'), now)})"
    involved = event.get("involvedObject", {})
    head = [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
    ]
    message = event.get("message", "")
    if not wide:
        return [*head, message]
    source = event.get("source", {})
    host = source.get("host", "")
    return [
        *head,
        involved.get("fieldPath", ""),
        source.get("component", "") + (f", {host}" if host else ""),
        message,
        _since(event.get("firstTimestamp"), now),
        str(count),
        event.get("metadata", {}).get("name", ""),
    ]


def node_status_text(node: JSON) -> str:
    """kubectl's printNode: `Ready` when the Ready condition is True, `NotReady` when it is
    False or Unknown, `Unknown` without one; `,SchedulingDisabled` when cordoned."""
    text = "Unknown"
    for condition in node.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            text = "Ready" if condition.get("status") == "True" else "NotReady"
    if node.get("spec", {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def node_roles(labels: JSON) -> str:
    """kubectl's findNodeRoles: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role`."""
    roles = {key.removeprefix(_ROLE_PREFIX) for key in labels if key.startswith(_ROLE_PREFIX)}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    roles.discard("")
    return ",".join(sorted(roles)) or "<none>"


def _address(node: JSON, kind: str) -> str:
    for address in node.get("status", {}).get("addresses", []):
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def node_row(node: JSON, now: float, *, wide: bool = False) -> list[str]:
    meta = node.get("metadata", {})
    info = node.get("status", {}).get("nodeInfo", {})
    row = [
        meta.get("name", ""),
        node_status_text(node),
        node_roles(meta.get("labels", {})),
        _age(meta, now),
        info.get("kubeletVersion", ""),
    ]
    if wide:
        row += [
            _address(node, "InternalIP"),
            _address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>",
        ]
    return row


def render(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    """Columns padded like kubectl's (three spaces between columns)."""
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)
    ]
    lines = [
        "   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [list(columns), *rows]
    ]
    return "\n".join(lines) + "\n"
