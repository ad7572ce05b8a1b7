"""Probes on a real engine, from a manifest in a watched folder, through the controller's API.

One pod, all three probes, shortened periods: it becomes Ready only once its server answers; losing
its readiness file makes it unready without a restart; killing its server makes the liveness probe
fail and the controller kill and restart the container, as the kubelet does. Events and metrics say
so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.harness import ControllerProcess, docker_cli, eventually, exec_in
from tests.integration.manifests import write
from tests.integration.test_metrics_scrape import scrape, value

POD = """apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: app
      image: localhost/podyard-busybox:1
      command: ["sh", "-c"]
      args:
        - |
          trap 'exit 0' TERM
          sleep 2
          mkdir -p /www /tmp && echo ok > /www/index.html
          httpd -f -p 8080 -h /www &
          touch /tmp/ready
          while true; do sleep 1; done
      ports:
        - name: http
          containerPort: 8080
      startupProbe:
        httpGet: {path: /, port: http}
        periodSeconds: 1
        failureThreshold: 30
      readinessProbe:
        exec:
          command: ["test", "-f", "/tmp/ready"]
        periodSeconds: 1
      livenessProbe:
        tcpSocket: {port: 8080}
        periodSeconds: 1
        failureThreshold: 2
        terminationGracePeriodSeconds: 1
"""


def pod(c: ControllerProcess) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = c.get("/api/v1/namespaces/default/pods/probed")
    except OSError:
        return None
    return found


def container(p: dict[str, Any] | None) -> dict[str, Any]:
    statuses = (p or {}).get("status", {}).get("containerStatuses") or [{}]
    status: dict[str, Any] = statuses[0]
    return status


def ready(p: dict[str, Any] | None) -> bool:
    conditions = (p or {}).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def events(c: ControllerProcess, reason: str) -> list[str]:
    return [e["message"] for e in c.get("/api/v1/events")["items"] if e["reason"] == reason]


async def test_probes_gate_readiness_and_restart_a_dead_server(
    docker_host: str, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    write(folder, "probed.yaml", POD)
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    c.start()
    try:
        await eventually(
            lambda: container(pod(c)).get("state", {}).get("running") is not None,
            timeout=60,
            what="the container running",
        )
        early = pod(c)
        assert not ready(early)  # the startup probe has not passed: not started, not ready
        assert container(early)["started"] is False
        await eventually(lambda: ready(pod(c)), timeout=30, what="Ready once the server answers")
        assert container(pod(c))["started"] is True
        cid = container(pod(c))["containerID"].removeprefix("docker://")

        exec_in(docker_host, cid, "rm /tmp/ready")
        await eventually(lambda: not ready(pod(c)), timeout=15, what="unready without the file")
        assert container(pod(c))["restartCount"] == 0  # readiness never restarts
        failed = events(c, "Unhealthy")
        assert any(m.startswith("Readiness probe failed") for m in failed), failed
        exec_in(docker_host, cid, "touch /tmp/ready")
        await eventually(lambda: ready(pod(c)), timeout=15, what="Ready again")

        exec_in(docker_host, cid, "killall httpd")
        await eventually(
            lambda: container(pod(c)).get("restartCount") == 1 and ready(pod(c)),
            timeout=60,
            what="restarted after the liveness probe failed, and Ready again",
        )
        assert "Container app failed liveness probe, will be restarted" in events(c, "Killing")
        assert any(m.startswith("Liveness probe failed: dial tcp") for m in events(c, "Unhealthy"))
        state = docker_cli(docker_host, "inspect", "-f", "{{.State.Status}}", cid).strip()
        assert state == "exited"  # the old container was killed, not reused
        s = scrape(c)
        assert (value(s, "prober_probe_total", probe_type="Liveness", result="failed") or 0) >= 2
        assert (value(s, "prober_probe_total", probe_type="Startup", result="successful") or 0) >= 2
        assert (value(s, "podyard_runtime_operations_total", operation="run_probe") or 0) > 0
    finally:
        c.stop()
