"""ConfigMaps and Secrets from the folder, against a real engine: as env and as files, a live
edit seen inside without a restart, a missing key waiting then starting, and a Secret's value
nowhere in what Podyard shows (pods' YAML, events, /metrics, secret lists and Tables, its log)
but in the full object of the one Secret, as Kubernetes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import (
    ControllerProcess,
    eventually,
    exec_in,
    podyard_containers,
    subpath_dir_of,
)
from tests.integration.manifests import IDLE, write

SECRET_VALUE = "hunter2-Sekr1t-Value"

CONFIG = """apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  token: {secret}
"""

READER = f"""apiVersion: v1
kind: Pod
metadata:
  name: reader
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: config
    configMap:
      name: app-config
  - name: secret
    secret:
      secretName: creds
      defaultMode: 0400
  containers:
  - name: app
    image: {DEMO_IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: app-config, key: greeting}}
    - name: TOKEN
      valueFrom:
        secretKeyRef: {{name: creds, key: token}}
    - name: MY_POD
      valueFrom:
        fieldRef: {{fieldPath: metadata.name}}
    - name: MY_IP
      valueFrom:
        fieldRef: {{fieldPath: status.podIP}}
    - name: MY_HOST
      valueFrom:
        fieldRef: {{fieldPath: status.hostIP}}
    volumeMounts:
    - {{name: config, mountPath: /etc/config}}
    - {{name: secret, mountPath: /etc/secret}}
---
apiVersion: v1
kind: Pod
metadata:
  name: waiter
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: {DEMO_IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    env:
    - name: LATER
      valueFrom:
        configMapKeyRef: {{name: app-config, key: later}}
"""


@pytest.fixture
def running(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "config.yaml", CONFIG.format(secret=SECRET_VALUE))
    write(folder, "pods.yaml", READER)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log", "--hold-seconds", "1")
    c.start()
    yield c
    c.stop()


def _pod(c: ControllerProcess, name: str) -> dict:  # type: ignore[type-arg]
    return c.get(f"/api/v1/namespaces/default/pods/{name}")  # type: ignore[no-any-return]


def _app_id(docker_host: str, pod: str) -> str | None:
    running = [
        r["id"]
        for r in podyard_containers(docker_host)
        if r["pod"] == pod and r["name"] == "app" and r["state"] == "running"
    ]
    return running[0] if len(running) == 1 else None


def _status(c: ControllerProcess, name: str) -> dict:  # type: ignore[type-arg]
    try:
        statuses = _pod(c, name).get("status", {}).get("containerStatuses", [])
    except OSError:
        return {}
    return statuses[0] if statuses else {}


@pytest.mark.kubectl  # it also reads the objects back through kubectl
async def test_config_and_secret_as_env_and_files_live_edit_and_missing_key(
    running: ControllerProcess, docker_host: str
) -> None:
    c = running
    app = await eventually(lambda: _app_id(docker_host, "reader"), 60, what="reader running")
    assert exec_in(docker_host, app, "echo $GREETING/$TOKEN/$MY_POD") == (
        f"hello/{SECRET_VALUE}/reader"
    )
    status = _pod(c, "reader")["status"]
    assert exec_in(docker_host, app, "echo $MY_IP/$MY_HOST") == (
        f"{status['podIP']}/{status['hostIP']}"
    )
    assert exec_in(docker_host, app, "cat /etc/config/greeting") == "hello"
    assert exec_in(docker_host, app, "cat /etc/secret/token") == SECRET_VALUE
    assert exec_in(docker_host, app, "stat -c %a /etc/secret/..data/token") == "400"
    assert exec_in(docker_host, app, "readlink /etc/config/greeting") == "..data/greeting"
    mounts = exec_in(docker_host, app, "cat /proc/mounts")
    assert " /etc/secret tmpfs " in mounts  # a Secret's files never reach a disk
    assert " /etc/config tmpfs " not in mounts
    refused = subprocess.run(
        ["docker", "-H", docker_host, "exec", app, "sh", "-c", "echo x > /etc/config/new"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0  # read-only, as the kubelet mounts it

    # the missing key: CreateContainerConfigError with the kubelet's message
    waiting = await eventually(
        lambda: _status(c, "waiter").get("state", {}).get("waiting"), 30, what="waiter waiting"
    )
    assert waiting["reason"] == "CreateContainerConfigError"
    assert waiting["message"] == "couldn't find key later in ConfigMap default/app-config"

    # a live edit: the file changes inside within 5 s, no restart; the key appears, waiter starts
    config = c.manifests / "config.yaml"
    edited_at = time.monotonic()
    config.write_text(
        CONFIG.format(secret=SECRET_VALUE).replace(
            "greeting: hello", "greeting: bonjour\n  later: now"
        )
    )
    await eventually(
        lambda: exec_in(docker_host, app, "cat /etc/config/greeting") == "bonjour",
        5,
        what="the edit seen inside the container",
    )
    print(f"live edit seen inside after {time.monotonic() - edited_at:.2f} s")
    assert _app_id(docker_host, "reader") == app
    assert _status(c, "reader")["restartCount"] == 0
    assert exec_in(docker_host, app, "echo $GREETING") == "hello"  # env never changes
    waiter = await eventually(lambda: _app_id(docker_host, "waiter"), 30, what="waiter started")
    assert exec_in(docker_host, waiter, "echo $LATER") == "now"

    # the Secret's value is nowhere Podyard shows things
    shown = {
        "pods -o yaml": podyard("get", "pods", "-o", "yaml", "--server", c.server),
        "pods json": json.dumps(c.get("/api/v1/pods")),
        "events": json.dumps(c.get("/api/v1/events")),
        "metrics": c.get_text("/metrics"),
        "secrets": json.dumps(c.get("/api/v1/namespaces/default/secrets")),
        "get secrets": podyard("get", "secrets", "--server", c.server),
        "kubectl secrets": kubectl(c, "get", "secrets", "-o", "yaml"),
        "kubectl pods": kubectl(c, "get", "pods", "-o", "yaml"),
        "log": c.log_text(),
    }
    for where, text in shown.items():
        assert SECRET_VALUE not in text, where
    listed = c.get("/api/v1/namespaces/default/secrets")["items"]
    assert [("data" in s, "stringData" in s) for s in listed] == [(False, False)]
    secret = c.get("/api/v1/namespaces/default/secrets/creds")  # the full object, as Kubernetes
    assert base64.b64decode(secret["data"]["token"]).decode() == SECRET_VALUE
    assert "stringData" not in secret
    assert "creds" in shown["get secrets"]
    assert "Opaque" in shown["get secrets"]
    assert "secretKeyRef" in shown["pods -o yaml"]  # the reference is shown, never the value
    assert "app-config" in kubectl(c, "get", "configmaps")
    cm = c.get("/api/v1/namespaces/default/configmaps/app-config")
    assert cm["data"] == {"greeting": "bonjour", "later": "now"}

    # the pod goes: its files go with it, the Secret's tmpfs unmounted
    base = os.path.join(os.path.dirname(subpath_dir_of(docker_host)), "configvolumes")
    assert os.listdir(base)
    pods = c.manifests / "pods.yaml"
    pods.write_text(pods.read_text().split("---\n", 1)[1])
    await eventually(lambda: _app_id(docker_host, "reader") is None, 30, what="reader gone")
    await eventually(lambda: not os.listdir(base), 30, what="the pod's volume folders removed")
    with open("/proc/self/mounts") as mounts:
        assert base not in mounts.read()


def kubectl(c: ControllerProcess, *args: str) -> str:
    done = subprocess.run(
        ["kubectl", "-s", c.server, *args], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def podyard(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


SEALED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: sealed
immutable: true
data:
  level: "{level}"
"""

SEALED_READER = f"""apiVersion: v1
kind: Pod
metadata:
  name: sealed-reader
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: config
    configMap:
      name: sealed
  containers:
  - name: app
    image: {DEMO_IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    volumeMounts:
    - name: config
      mountPath: /etc/sealed
"""


async def test_an_edit_of_an_immutable_config_map_is_refused_and_its_pod_keeps_the_files(
    docker_host: str, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    write(folder, "sealed.yaml", SEALED.format(level=1))
    write(folder, "pod.yaml", SEALED_READER)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    try:
        app = await eventually(
            lambda: _app_id(docker_host, "sealed-reader"), 60, what="reader running"
        )
        assert exec_in(docker_host, app, "cat /etc/sealed/level") == "1"

        (folder / "sealed.yaml").write_text(SEALED.format(level=2))

        def refused() -> dict | None:  # type: ignore[type-arg]
            files = {f["file"]: f for f in c.get("/podyard/v1/files")["items"]}
            return files["sealed.yaml"] if files["sealed.yaml"]["state"] == "invalid" else None

        status = await eventually(refused, 15, what="the edit refused")
        [error] = status["errors"]
        assert error.startswith("sealed.yaml:1: data: ConfigMap default/sealed: Forbidden: ")
        assert "field is immutable when `immutable` is set" in error
        assert status["objects"] == 1  # the published object stays
        cm = c.get("/api/v1/namespaces/default/configmaps/sealed")
        assert cm["data"] == {"level": "1"}
        assert cm["immutable"] is True
        # a live edit shows inside within 5 s (the test above): this one never does
        watched_until = time.monotonic() + 5
        while time.monotonic() < watched_until:
            assert exec_in(docker_host, app, "cat /etc/sealed/level") == "1"
            await asyncio.sleep(0.5)
        assert _app_id(docker_host, "sealed-reader") == app

        # removed from the folder, then declared anew: the new data is taken
        (folder / "sealed.yaml").unlink()
        await eventually(
            lambda: (
                not any(
                    i["metadata"]["name"] == "sealed"
                    for i in c.get("/api/v1/namespaces/default/configmaps")["items"]
                )
            ),
            15,
            what="the ConfigMap removed",
        )
        write(folder, "sealed.yaml", SEALED.format(level=3))
        await eventually(
            lambda: exec_in(docker_host, app, "cat /etc/sealed/level") == "3",
            15,
            what="the new object's files seen inside",
        )
    finally:
        c.stop()
