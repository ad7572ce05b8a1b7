"""Manifest texts for process-level tests, written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

from tests.integration.dockerd import DEMO_IMAGE

IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"
"""Runs until SIGTERM, which ends it within a second (tests edit this text to make crashes)."""

QUIET_IDLE = "trap 'exit 0' TERM; while true; do sleep 3600 & wait; done"
"""The benchmarks' idle command: ends at once on SIGTERM (a trapped signal interrupts `wait`) and
costs nothing meanwhile. `IDLE` forks `sleep` every second per container, which at 500 pods is a
load of its own that swamps what a benchmark measures."""


def pod_yaml(
    name: str, containers: int = 2, *, restart_policy: str = "Always", command: str = IDLE
) -> str:
    body = "".join(
        f"""
    - name: c{i}
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "{command}"]"""
        for i in range(containers)
    )
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  restartPolicy: {restart_policy}
  terminationGracePeriodSeconds: 2
  containers:{body}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def replicaset_yaml(
    name: str,
    replicas: int,
    *,
    command: str = IDLE,
    restart_policy: str = "Always",
    host_path: str | None = None,
    containers: int = 1,
) -> str:
    volume = (
        f"""
      volumes:
        - name: shared
          hostPath:
            path: {host_path}"""
        if host_path
        else ""
    )
    mount = (
        """
          volumeMounts:
            - name: shared
              mountPath: /shared"""
        if host_path
        else ""
    )
    return f"""apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      restartPolicy: {restart_policy}
      terminationGracePeriodSeconds: 2{volume}
      containers:{
        "".join(
            f'''
        - name: {"main" if i == 0 else f"c{i}"}
          image: {DEMO_IMAGE}
          command: ["sh", "-c", {command!r}]{mount}'''
            for i in range(containers)
        )
    }
"""


def deployment_yaml(name: str, replicas: int, *, version: str, image: str = DEMO_IMAGE) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: {image}
          env:
            - name: VERSION
              value: "{version}"
          command: ["sh", "-c", {IDLE!r}]
"""
