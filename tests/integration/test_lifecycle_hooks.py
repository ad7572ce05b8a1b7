"""Lifecycle hooks on a real engine: preStop runs before SIGTERM, a failing postStart kills the
container and the restarts back off.

preStop: the app traps SIGTERM and copies what it finds in a shared emptyDir at that moment; its
preStop writes a file there first. A liveness probe the test fails on purpose makes the controller
stop the app (the prober's path, the same hook runner as deletion's and replacement's); a second
container of the pod, never stopped, shows what the app saw. postStart: a hook that exits 3 kills
every start of the container; the restart count grows, the events say FailedPostStartHook, and the
restarts wait out the (shortened) CrashLoopBackOff. Deletion: the engine's own event record shows
the preStop exec start before the SIGTERM, which waited for the hook's 1 s.
"""

from __future__ import annotations

import json
import time
from typing import Any

import yaml

from controller.model.events import Event
from controller.model.pod import Pod
from controller.model.status import Terminated
from controller.serde import structure_pod
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually, exec_in

PRE_STOP_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: graceful}}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{{name: shared, emptyDir: {{}}}}]
  containers:
    - name: app
      image: {DEMO_IMAGE}
      command: ["sh", "-c"]
      args:
        - |
          on_term() {{
            cat /shared/stopping > /shared/seen-at-sigterm 2>/dev/null \\
              || echo "nothing yet" > /shared/seen-at-sigterm
            exit 0
          }}
          trap on_term TERM
          while true; do sleep 0.2; done
      volumeMounts: [{{name: shared, mountPath: /shared}}]
      livenessProbe:
        exec: {{command: ["test", "!", "-f", "/shared/fail-liveness"]}}
        periodSeconds: 1
        failureThreshold: 1
      lifecycle:
        preStop:
          exec:
            command: ["sh", "-c", "rm -f /shared/fail-liveness; echo written-by-preStop > /shared/stopping"]
    - name: witness
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
      volumeMounts: [{{name: shared, mountPath: /shared}}]
"""

POST_START_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: unlucky}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: app
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
      lifecycle:
        postStart:
          exec: {{command: ["sh", "-c", "echo cache not warm; exit 3"]}}
"""


def manifest(text: str) -> Pod:
    data: Any = yaml.safe_load(text)
    return structure_pod(data)


def pod_events(controller: Controller, name: str, reason: str) -> list[Event]:
    return [
        e for e in controller.engine.events.list() if e.reason == reason and e.involved.name == name
    ]


async def test_pre_stop_runs_before_sigterm(controller: Controller, docker_host: str) -> None:
    await controller.start([manifest(PRE_STOP_POD)])
    await controller.wait_running_ready("graceful", timeout=60)
    (witness,) = controller.running("graceful", "witness")
    (first,) = controller.running("graceful", "app")

    exec_in(docker_host, witness.id, "touch /shared/fail-liveness")

    def restarted() -> bool:
        view = controller.view("graceful")
        return view is not None and any(
            s.name == "app" and s.restart_count == 1 for s in view.status.container_statuses
        )

    await eventually(restarted, timeout=30, what="app killed by its liveness probe, restarted")
    seen = await eventually(
        lambda: exec_in(docker_host, witness.id, "cat /shared/seen-at-sigterm 2>/dev/null || true"),
        timeout=10,
        what="the app's record of what it saw at SIGTERM",
    )
    assert seen == "written-by-preStop"  # the hook ran, and finished, before SIGTERM
    assert pod_events(controller, "graceful", "FailedPreStopHook") == []
    second = await eventually(
        lambda: controller.running("graceful", "app"), timeout=10, what="the new app running"
    )
    assert [c.id for c in second] != [first.id]


async def test_a_failing_post_start_kills_and_restarts_with_backoff(
    controller: Controller,
) -> None:
    began = time.monotonic()
    await controller.start([manifest(POST_START_POD)])

    def restarts() -> int:
        view = controller.view("unlucky")
        if view is None or not view.status.container_statuses:
            return 0
        return view.status.container_statuses[0].restart_count

    await eventually(lambda: restarts() >= 3, timeout=60, what="three restarts")
    took = time.monotonic() - began
    # CrashLoopBackOff shortened to 1 s doubling to 4 s: the first restart at once, then 1 s and
    # 2 s of back-off at least before the third.
    assert took >= 3.0, took
    failed = pod_events(controller, "unlucky", "FailedPostStartHook")
    assert failed
    assert sum(e.count for e in failed) >= 3
    assert failed[0].message.startswith("Exec lifecycle hook ([sh -c echo cache not warm; exit 3])")
    assert failed[0].message.endswith("failed - error: cache not warm")
    assert pod_events(controller, "unlucky", "BackOff")
    view = controller.view("unlucky")
    assert view is not None
    last = view.status.container_statuses[0].last_state
    assert isinstance(last, Terminated)
    assert last.finished_at is not None
    assert last.started_at is not None
    assert last.finished_at - last.started_at < 2.0  # stopped right after its hook failed


LEAVING_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: leaving}}
spec:
  terminationGracePeriodSeconds: 10
  containers:
    - name: app
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
      lifecycle:
        preStop:
          exec: {{command: ["sh", "-c", "sleep 1; echo draining done"]}}
"""


def engine_events(docker_host: str, container_id: str, since: float) -> list[dict[str, Any]]:
    """The engine's own record of what happened to a container (exec, kill, die), in order."""
    text = docker_cli(
        docker_host,
        "events",
        "--since",
        f"{since:.3f}",
        "--until",
        f"{time.time():.3f}",
        "--filter",
        f"container={container_id}",
        "--format",
        "{{json .}}",
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_deleting_a_pod_runs_pre_stop_before_sigterm(
    controller: Controller, docker_host: str
) -> None:
    await controller.start([manifest(LEAVING_POD)])
    await controller.wait_running_ready("leaving", timeout=60)
    (app,) = controller.running("leaving", "app")
    deleted_at = time.time()
    controller.set_pods([])
    await eventually(
        lambda: controller.containers("leaving") == (), timeout=30, what="the pod gone"
    )
    seen = engine_events(docker_host, app.id, deleted_at - 1)
    hook = [e for e in seen if e["Action"].startswith("exec_start: sh -c sleep 1")]
    sigterm = [
        e for e in seen if e["Action"] == "kill" and e["Actor"]["Attributes"].get("signal") == "15"
    ]
    assert hook, [e["Action"] for e in seen]
    assert sigterm, [e["Action"] for e in seen]
    # The engine's clock: the hook began before SIGTERM, and SIGTERM waited for its 1 s sleep.
    assert sigterm[0]["timeNano"] - hook[0]["timeNano"] >= 1_000_000_000


def http_pod(name: str, path: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
    - name: app
      image: {DEMO_IMAGE}
      command: ["sh", "-c"]
      args:
        - |
          mkdir -p /www && echo bye > /www/quit.html
          httpd -f -p 8080 -h /www &
          trap 'exit 0' TERM
          while true; do sleep 0.2; done
      ports: [{{name: http, containerPort: 8080}}]
      readinessProbe:
        httpGet: {{path: /quit.html, port: http}}
        periodSeconds: 1
      lifecycle:
        preStop:
          httpGet: {{path: {path}, port: http}}
"""


async def test_an_http_pre_stop_reaches_the_pod_and_a_404_is_a_failed_hook(
    controller: Controller,
) -> None:
    await controller.start(
        [manifest(http_pod("http-ok", "/quit.html")), manifest(http_pod("http-404", "/nope"))]
    )
    await controller.wait_running_ready("http-ok", timeout=60)
    await controller.wait_running_ready("http-404", timeout=60)
    controller.set_pods([])
    await eventually(
        lambda: controller.containers("http-ok") == () and controller.containers("http-404") == (),
        timeout=30,
        what="both pods gone",
    )
    assert pod_events(controller, "http-ok", "FailedPreStopHook") == []
    (failed,) = pod_events(controller, "http-404", "FailedPreStopHook")
    assert failed.message.startswith('HTTP lifecycle hook (/nope) for Container "app"')
    assert failed.message.endswith("HTTP probe failed with statuscode: 404")
