"""The folder the fault cases drive: a ReplicaSet, a Deployment and bare pods, as files.

`Workloads` is the model of what the folder declares (replica count, Deployment version, bare
pod names); `apply` writes exactly that into the folder, one file per object, so each change is
one file written or removed, as a user does it. `declared_problems` says why the controller's
pods are not yet what the folder declares. Every pod has an emptyDir, so a pod left behind also
leaves a volume behind, which the orphan count sees.

Traps:
- The Deployment keeps a fixed replica count: its surge bound (25%, rounded up) stays 1.
- Bare pod names are never reused: a pod created after another of the same name was deleted
  would look like a duplicate of it while the first one stops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.observe import api_pods, owner_name, pod_env, sync_problems, try_read_engine
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import eventually
from tests.integration.manifests import IDLE

REPLICASET = "pack"
DEPLOYMENT = "roll"
DEPLOYMENT_REPLICAS = 3

_SPEC = f"""restartPolicy: Always
terminationGracePeriodSeconds: 2
volumes:
  - name: scratch
    emptyDir: {{}}
containers:
  - name: main
    image: {DEMO_IMAGE}
    command: ["sh", "-c", {IDLE!r}]
    volumeMounts:
      - name: scratch
        mountPath: /scratch
"""


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def bare_pod_yaml(name: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {name}
spec:
{_indent(_SPEC, 2)}"""


def replicaset_yaml(replicas: int) -> str:
    return f"""apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {REPLICASET}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {REPLICASET}
  template:
    metadata:
      labels:
        app: {REPLICASET}
    spec:
{_indent(_SPEC, 6)}"""


def deployment_yaml(version: int) -> str:
    spec = _SPEC.replace(
        "    volumeMounts:",
        f'    env:\n      - name: VERSION\n        value: "v{version}"\n    volumeMounts:',
    )
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {DEPLOYMENT}
spec:
  replicas: {DEPLOYMENT_REPLICAS}
  selector:
    matchLabels:
      app: {DEPLOYMENT}
  template:
    metadata:
      labels:
        app: {DEPLOYMENT}
    spec:
{_indent(spec, 6)}"""


def group_of(pod: dict[str, Any]) -> str:
    """ "bare", REPLICASET or DEPLOYMENT: which of the folder's objects a pod belongs to."""
    owner = owner_name(pod)
    if not owner:
        return "bare"
    return DEPLOYMENT if owner.startswith(f"{DEPLOYMENT}-") else owner


@dataclass
class Workloads:
    """What the folder declares; `apply` makes the folder say exactly that."""

    replicas: int = 3
    version: int = 1
    bare: list[str] = field(default_factory=list)
    with_deployment: bool = True
    next_bare: int = 0

    def add_bare(self) -> str:
        name = f"b{self.next_bare}"
        self.next_bare += 1
        self.bare.append(name)
        return name

    def apply(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        wanted = {f"{REPLICASET}.yaml": replicaset_yaml(self.replicas)}
        if self.with_deployment:
            wanted[f"{DEPLOYMENT}.yaml"] = deployment_yaml(self.version)
        wanted.update({f"{name}.yaml": bare_pod_yaml(name) for name in self.bare})
        for path in folder.glob("*.yaml"):
            if path.name not in wanted:
                path.unlink()
        for name, text in wanted.items():
            path = folder / name
            if not path.exists() or path.read_text() != text:
                # Written whole and renamed over, as editors do: never read half-written.
                tmp = folder / f".{name}.tmp"
                tmp.write_text(text)
                tmp.replace(path)

    def declared(self, pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pods that belong to what the folder declares now (extra RS pods included)."""
        out = []
        for pod in pods:
            name, owner = pod["metadata"]["name"], owner_name(pod)
            if (
                (not owner and name in self.bare)
                or owner == REPLICASET
                or (
                    self.with_deployment
                    and owner.startswith(f"{DEPLOYMENT}-")
                    and pod_env(pod, "VERSION") == f"v{self.version}"
                )
            ):
                out.append(pod)
        return out

    def declared_problems(self, pods: list[dict[str, Any]]) -> list[str]:
        """Why the API's pods are not exactly what the folder declares ([] when they are)."""
        problems = []
        bare = sorted(p["metadata"]["name"] for p in pods if not owner_name(p))
        if bare != sorted(self.bare):
            problems.append(f"bare pods {bare}, declared {sorted(self.bare)}")
        pack = [p for p in pods if owner_name(p) == REPLICASET]
        if len(pack) != self.replicas:
            problems.append(f"{REPLICASET} has {len(pack)} pods, declared {self.replicas}")
        roll = [p for p in pods if owner_name(p).startswith(f"{DEPLOYMENT}-")]
        wanted = DEPLOYMENT_REPLICAS if self.with_deployment else 0
        versions = sorted(str(pod_env(p, "VERSION")) for p in roll)
        if versions != [f"v{self.version}"] * wanted:
            problems.append(f"{DEPLOYMENT} runs {versions}, declared {wanted} x v{self.version}")
        return problems


class Declared:
    """A probe: the folder's pods run, the API and the engine agree; keeps what is still off."""

    def __init__(self, workloads: Workloads, server: str, docker_host: str) -> None:
        self.workloads, self.server, self.docker_host = workloads, server, docker_host
        self.problems: list[str] = []

    def __call__(self) -> bool:
        pods = api_pods(self.server)
        engine = try_read_engine(self.docker_host)
        if pods is None or engine is None:
            self.problems = ["engine or API not answering"]
        else:
            self.problems = self.workloads.declared_problems(pods) + sync_problems(pods, engine)
        return not self.problems

    async def wait(self, timeout: float, what: str) -> float:
        """Poll until declared; the seconds it took. Fails with what is still off."""
        started = time.monotonic()
        try:
            await eventually(self, timeout=timeout, interval=0.25, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still: {self.problems}") from None
        return time.monotonic() - started
