"""Pod Security admission on a real engine, from a watched folder, through the controller's API.

Baseline (the default) refuses each of its rules with Kubernetes' words in the file's status, the
log and a FailedCreate event, and nothing of a refused pod reaches the engine; a hostPath under an
allowed prefix runs; the "privileged" level, set by a Namespace's label or globally, runs a
privileged pod. Every container gets the PID limit and log rotation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import ControllerProcess, docker_cli, eventually
from tests.integration.manifests import IDLE, replicaset_yaml, write

REFUSED = {
    "privileged": (
        "containers:\n  - {name: app, image: IMAGE, command: [sh, -c, IDLE], "
        "securityContext: {privileged: true}}",
        'privileged (container "app" must not set securityContext.privileged=true)',
    ),
    "host-network": (
        "hostNetwork: true\n  containers:\n  - {name: app, image: IMAGE, command: [sh, -c, IDLE]}",
        "host namespaces (hostNetwork=true)",
    ),
    "host-pid": (
        "hostPID: true\n  containers:\n  - {name: app, image: IMAGE, command: [sh, -c, IDLE]}",
        "host namespaces (hostPID=true)",
    ),
    "host-ipc": (
        "hostIPC: true\n  containers:\n  - {name: app, image: IMAGE, command: [sh, -c, IDLE]}",
        "host namespaces (hostIPC=true)",
    ),
    "host-root": (
        "volumes: [{name: root, hostPath: {path: /}}]\n  containers:\n"
        "  - {name: app, image: IMAGE, command: [sh, -c, IDLE]}",
        'hostPath volumes (volume "root")',
    ),
    "sys-admin": (
        "containers:\n  - {name: app, image: IMAGE, command: [sh, -c, IDLE], "
        "securityContext: {capabilities: {add: [SYS_ADMIN]}}}",
        'non-default capabilities (container "app" must not include "SYS_ADMIN" in '
        "securityContext.capabilities.add)",
    ),
    "unconfined": (
        "securityContext: {seccompProfile: {type: Unconfined}}\n  containers:\n"
        "  - {name: app, image: IMAGE, command: [sh, -c, IDLE]}",
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    ),
}


def pod_text(name: str, spec: str, namespace: str = "default") -> str:
    body = spec.replace("IMAGE", DEMO_IMAGE).replace("IDLE", json.dumps(IDLE))
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"spec:\n  terminationGracePeriodSeconds: 1\n  {body}\n"
    )


def files(c: ControllerProcess) -> dict[str, Any]:
    try:
        return {f["file"]: f for f in c.get("/podyard/v1/files")["items"]}
    except OSError:
        return {}


def running(c: ControllerProcess, name: str, namespace: str = "default") -> dict[str, Any] | None:
    try:
        pod: dict[str, Any] = c.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    except OSError:
        return None
    return pod if pod.get("status", {}).get("phase") == "Running" else None


def privileged_can_start() -> bool:
    """Whether this host's bounding set holds every capability the kernel knows (see above)."""
    status = Path("/proc/self/status").read_text().splitlines()
    bounding = int(next(line for line in status if line.startswith("CapBnd:")).split()[1], 16)
    every = (1 << (int(Path("/proc/sys/kernel/cap_last_cap").read_text()) + 1)) - 1
    return bounding & every == every


def privileged_admitted(
    c: ControllerProcess, name: str, namespace: str = "default"
) -> dict[str, Any] | None:
    """The pod once its privileged container runs, or, where this host cannot start one, once
    the engine refused to start it (the pod was admitted and its container made)."""
    pod = running(c, name, namespace)
    if pod is None or not pod["status"].get("containerStatuses"):
        return None
    status = pod["status"]["containerStatuses"][0]
    if privileged_can_start():
        return pod if "running" in status.get("state", {}) else None
    last = status.get("lastState", {}).get("terminated", {})
    return pod if "unable to apply caps" in last.get("message", "") else None


def app_host_config(docker_host: str, name: str, namespace: str = "default") -> dict[str, Any]:
    """The HostConfig of any instance of pod `name`'s app container: every instance is made
    from the same spec, and the one a status named may since have been collected."""
    ids = docker_cli(
        docker_host,
        "ps", "-aq",
        "--filter", f"label=io.podyard.pod.name={name}",
        "--filter", f"label=io.podyard.pod.namespace={namespace}",
        "--filter", "label=io.podyard.container.role=app",
    ).split()  # fmt: skip
    assert ids, f"no app container of {namespace}/{name} on the engine"
    found: dict[str, Any] = json.loads(docker_cli(docker_host, "inspect", ids[0]))[0]["HostConfig"]
    return found


def host_sandbox(docker_host: str) -> str:
    return docker_cli(
        docker_host, "ps", "-q", "--filter", "label=io.podyard.container.role=sandbox"
    ).strip()


def engine_pod_names(docker_host: str) -> set[str]:
    out = docker_cli(
        docker_host, "ps", "-a", "--format", '{{.Label "io.podyard.pod.name"}}'
    ).split()
    return set(out)


async def test_baseline_refuses_each_rule_and_admits_an_allowed_host_path(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    shared = tmp_path / "shared"
    shared.mkdir()
    for name, (spec, _) in REFUSED.items():
        write(folder, f"{name}.yaml", pod_text(name, spec))
    allowed = (
        f"volumes: [{{name: data, hostPath: {{path: {shared}/data, type: DirectoryOrCreate}}}}]\n"
        "  containers:\n  - {name: app, image: IMAGE, command: [sh, -c, 'echo hi > /data/x; "
        'exec sh -c "$0"\', IDLE], volumeMounts: [{name: data, mountPath: /data}]}'
    )
    write(folder, "allowed.yaml", pod_text("allowed", allowed))
    ops = "ops-admin"
    write(
        folder,
        "ns.yaml",
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ops}\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: privileged\n",
    )
    write(folder, "ops.yaml", pod_text("root", REFUSED["privileged"][0], namespace=ops))
    write(
        folder,
        "rs.yaml",
        replicaset_yaml("shell", 2).replace("containers:", "hostPID: true\n      containers:", 1),
    )
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log", "--allow-host-path", str(shared))
    processes.append(c)
    c.start()

    await eventually(lambda: running(c, "allowed"), timeout=60, what="allowed up")
    await eventually(
        lambda: privileged_admitted(c, "root", ops), timeout=30, what="ops pod admitted"
    )
    assert (shared / "data" / "x").read_text() == "hi\n"
    assert app_host_config(docker_host, "root", ops)["Privileged"] is True

    status = files(c)
    for name, (_, detail) in REFUSED.items():
        entry = status[f"{name}.yaml"]
        assert entry["state"] == "invalid"
        assert entry["objects"] == 0
        assert entry["errors"] == [
            f'{name}.yaml:3: spec: pods "{name}" is forbidden: '
            f'violates PodSecurity "baseline:latest": {detail}'
        ]
    assert status["allowed.yaml"]["errors"] == []
    assert status["ns.yaml"]["state"] == "ok"

    names = engine_pod_names(docker_host)
    assert {"allowed", "root"} <= names
    assert names.isdisjoint(REFUSED)  # not one container, sandbox included, of a refused pod

    events = c.get("/api/v1/events")["items"]
    refused_events = {
        e["involvedObject"]["name"]: e["message"] for e in events if e["reason"] == "FailedCreate"
    }
    assert set(refused_events) == {*REFUSED, "shell"}
    assert refused_events["shell"] == (
        'Error creating: replicasets "shell" is forbidden: violates PodSecurity '
        '"baseline:latest": host namespaces (hostPID=true)'
    )
    assert status["rs.yaml"]["objects"] == 0
    assert "shell" not in " ".join(names)
    assert refused_events["host-pid"].endswith("host namespaces (hostPID=true)")
    log = c.log.read_text()
    assert 'pods "sys-admin" is forbidden: violates PodSecurity "baseline:latest"' in log

    host = app_host_config(docker_host, "allowed")
    assert host["PidsLimit"] == 1024
    driver = docker_cli(docker_host, "info", "--format", "{{.LoggingDriver}}").strip()
    assert driver == "json-file"  # the test engine's default: rotation applies
    assert host["LogConfig"] == {
        "Type": driver,
        "Config": {"max-file": "3", "max-size": "10m"},
    }


async def test_the_privileged_level_runs_a_privileged_pod_in_the_host_namespaces(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    spec = REFUSED["privileged"][0].replace(
        "containers:", "hostPID: true\n  hostNetwork: true\n  hostIPC: true\n  containers:", 1
    )
    write(folder, "root.yaml", pod_text("root", spec))
    c = ControllerProcess(
        docker_host,
        folder,
        tmp_path / "c.log",
        "--pod-security",
        "privileged",
        "--pod-pids-limit",
        "200",
    )
    processes.append(c)
    c.start()
    await eventually(lambda: privileged_admitted(c, "root"), timeout=60, what="privileged pod")
    host = app_host_config(docker_host, "root")
    assert host["Privileged"] is True
    assert host["PidMode"] == "host"
    assert host["IpcMode"] == "host"
    sandbox = json.loads(docker_cli(docker_host, "inspect", host_sandbox(docker_host)))[0]
    assert sandbox["HostConfig"]["NetworkMode"] == "host"
    assert host["PidsLimit"] == 200
