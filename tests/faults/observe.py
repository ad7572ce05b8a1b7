"""What the fault cases look at: the engine's containers and volumes, and the controller's pods.

Both sides are read independently, the engine straight through its socket (never through the
controller) and the controller through its HTTP API, so a case can say whether they agree
(`sync_problems`). Reads are synchronous and bounded (a few seconds each): a case that polls them
never hangs on a stuck engine or controller, it sees an error or an empty answer instead. Also
here: the controller process's readiness (`wait_ready`, failing with its log), a metric's total,
and its CPU time from /proc.

Traps:
- "Live" means a running container. A pod whose sandbox still runs while its app containers were
  told to stop is live: the duplicate check counts pods by running containers of any role.
- The API's containerID is ``docker://<id>``; the engine's listing gives the bare id.
- A read of the API may fail while the controller starts or is killed: `api_pods` returns None
  then, which no convergence check accepts.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.dockerd import POD_LABEL, EngineError, engine_request
from tests.integration.harness import ControllerProcess, eventually

SANDBOX = "POD"
"""The container name the sandbox carries in the `io.podyard.container.name` label."""


@dataclass(frozen=True)
class EngineContainer:
    id: str
    state: str
    namespace: str
    pod: str
    uid: str
    name: str
    attempt: str
    """The restart-count label: a restarted container is a new container with a higher one."""


@dataclass(frozen=True)
class EngineView:
    containers: tuple[EngineContainer, ...]
    volume_uids: tuple[str, ...]
    """The pod uid label of every Podyard volume."""

    def running(self) -> list[EngineContainer]:
        return [c for c in self.containers if c.state == "running"]

    def live_uids_by_name(self) -> dict[tuple[str, str], set[str]]:
        """(namespace, pod name) -> uids with at least one running container."""
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for c in self.running():
            out[(c.namespace, c.pod)].add(c.uid)
        return dict(out)

    def duplicated_names(self) -> set[str]:
        """Pod names with more than one live instance (two uids running at once)."""
        return {
            f"{ns}/{name}" for (ns, name), uids in self.live_uids_by_name().items() if len(uids) > 1
        }

    def most_dead_kept(self) -> int:
        """The most dead (not running) instances kept of any one container of any pod."""
        dead: dict[tuple[str, str], int] = defaultdict(int)
        for c in self.containers:
            if c.state != "running":
                dead[(c.uid, c.name)] += 1
        return max(dead.values(), default=0)

    def running_by_uid(self) -> dict[str, dict[str, EngineContainer]]:
        """uid -> container name -> its running container."""
        out: dict[str, dict[str, EngineContainer]] = defaultdict(dict)
        for c in self.running():
            out[c.uid][c.name] = c
        return dict(out)


def read_engine(docker_host: str, timeout: float = 5.0) -> EngineView:
    """Every Podyard-labelled container (any state) and volume on the engine."""
    filters = urllib.parse.urlencode({"all": "1", "filters": json.dumps({"label": [POD_LABEL]})})
    listing = engine_request(docker_host, "GET", f"/containers/json?{filters}", timeout=timeout)
    containers = []
    for item in listing or []:
        labels = item.get("Labels") or {}
        containers.append(
            EngineContainer(
                id=str(item["Id"]),
                state=str(item.get("State", "")),
                namespace=labels.get("io.podyard.pod.namespace", ""),
                pod=labels.get("io.podyard.pod.name", ""),
                uid=labels.get(POD_LABEL, ""),
                name=labels.get("io.podyard.container.name", ""),
                attempt=labels.get("io.podyard.container.restart-count", ""),
            )
        )
    query = urllib.parse.urlencode({"filters": json.dumps({"label": [POD_LABEL]})})
    volumes = engine_request(docker_host, "GET", f"/volumes?{query}", timeout=timeout)
    uids = tuple(
        str((v.get("Labels") or {}).get(POD_LABEL, ""))
        for v in (volumes or {}).get("Volumes") or []
    )
    return EngineView(tuple(containers), uids)


def try_read_engine(docker_host: str, timeout: float = 5.0) -> EngineView | None:
    try:
        return read_engine(docker_host, timeout)
    except EngineError:
        return None


def http_get(server: str, path: str, timeout: float = 3.0) -> tuple[int, str]:
    """Status and body of one GET on the controller's API; 4xx/5xx are answers, not errors."""
    try:
        with urllib.request.urlopen(server + path, timeout=timeout) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


def api_pods(server: str, timeout: float = 3.0) -> list[dict[str, Any]] | None:
    """The controller's pods (Kubernetes JSON), or None when the API does not answer."""
    try:
        status, body = http_get(server, "/api/v1/pods", timeout)
    except OSError:
        return None
    if status != 200:
        return None
    items = json.loads(body).get("items")
    return list(items) if isinstance(items, list) else None


def owner_name(pod: dict[str, Any]) -> str:
    refs = pod["metadata"].get("ownerReferences") or []
    return str(refs[0]["name"]) if refs else ""


def pod_env(pod: dict[str, Any], name: str) -> str | None:
    for container in pod["spec"]["containers"]:
        for env in container.get("env") or []:
            if env.get("name") == name:
                return str(env.get("value"))
    return None


def sync_problems(pods: list[dict[str, Any]] | None, engine: EngineView | None) -> list[str]:
    """Why the API and the engine do not show the same running pods ([] when they do).

    In sync: every API pod is Running and ready, not terminating, and its containers are
    exactly the engine's running containers of that uid (sandbox included); the engine runs
    nothing else and holds no container or volume of another pod. Dead containers of the pods
    shown are not judged here: how many are kept is garbage collection's business.
    """
    if pods is None:
        return ["the API does not answer"]
    if engine is None:
        return ["the engine does not answer"]
    problems: list[str] = []
    running = engine.running_by_uid()
    uids = set()
    for pod in pods:
        meta, status = pod["metadata"], pod.get("status") or {}
        uid, name = str(meta.get("uid")), str(meta["name"])
        uids.add(uid)
        if meta.get("deletionTimestamp"):
            problems.append(f"{name} terminating")
        statuses = status.get("containerStatuses") or []
        if status.get("phase") != "Running" or not all(cs.get("ready") for cs in statuses):
            problems.append(f"{name} {status.get('phase')}, not all ready")
        on_engine = running.get(uid, {})
        wanted = {c["name"] for c in pod["spec"]["containers"]} | {SANDBOX}
        if set(on_engine) != wanted:
            problems.append(f"{name}: engine runs {sorted(on_engine)}, not {sorted(wanted)}")
        for cs in statuses:
            container = on_engine.get(cs["name"])
            if container is None or cs.get("containerID") != f"docker://{container.id}":
                problems.append(
                    f"{name}/{cs['name']}: the API's containerID is not the running one"
                )
    stray = [c for c in engine.containers if c.uid not in uids]
    if stray:
        problems.append(
            "engine holds containers of pods the API does not show: "
            + ", ".join(sorted({f"{c.pod}/{c.name} {c.state}" for c in stray}))
        )
    if any(uid not in uids for uid in engine.volume_uids):
        problems.append("engine holds volumes of pods the API does not show")
    return problems


def orphans(pods: list[dict[str, Any]], engine: EngineView) -> int:
    """Containers and volumes whose pod the controller does not declare."""
    uids = {str(p["metadata"].get("uid")) for p in pods}
    return sum(c.uid not in uids for c in engine.containers) + sum(
        uid not in uids for uid in engine.volume_uids
    )


def metric_total(server: str, name: str, timeout: float = 3.0) -> float:
    """The sum of every sample called `name` on the controller's /metrics."""
    status, body = http_get(server, "/metrics", timeout)
    if status != 200:
        raise AssertionError(f"/metrics answered {status}")
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == name
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    # After the command name: state is field 3 of proc(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_ready(c: ControllerProcess, timeout: float = 30.0) -> None:
    """Wait for the controller's /readyz; fail with the end of its log if it does not get there."""

    def exited() -> bool:
        return c.proc is None or c.proc.poll() is not None

    try:
        await eventually(
            lambda: c.ready() or exited(), timeout=timeout, what="the controller ready"
        )
        failure = "exited" if exited() else ""
    except AssertionError as exc:
        failure = str(exc)
    if failure:
        code = c.proc.poll() if c.proc is not None else None
        raise AssertionError(
            f"the controller is not ready ({failure}, exit status {code}); its log ends:\n"
            + c.log_text()[-1500:]
        )
