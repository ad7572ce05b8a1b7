"""The peers of the start-up benchmark: Docker Compose and `podman kube play`, the same pods.

Each pod is a pause container holding the network and IPC namespaces and two containers joining
it, as Podyard makes them:

- Compose (`docker-compose` 1.29): one project, per pod a service `pN-pause` (`ipc: shareable`)
  and services `pN-c0`, `pN-c1` with `network_mode: service:pN-pause` and `ipc: service:pN-pause`;
  `up -d --no-build` on the same private engine, images already there (nothing is pulled). Timed
  like the others: from exec to the engine's last `start` event. `down -t 0` removes it.
- podman (`podman kube play`, its own storage and its own infra container): the same Pod
  manifests in one file, images loaded from the private engine (`docker save | podman load`,
  never pulled), on a network of the bench's own (`podyard-bench`, a /16: the default kube
  network is a /24, too small for 500 pods). Timed from exec to the command's exit, which comes
  once every container started. Between rounds every podman pod is removed.

Traps: Compose 1.29 deadlocks when more services are ready at once than `COMPOSE_PARALLEL_LIMIT`
(default 64): each service's task waits for a slot for its container's own task, and the services'
tasks hold every slot (docker/compose#5864); at 200 pods it stood still after a few dozen
containers. The bench sets the limit above the number of services. `down` of 600 containers
takes minutes, so the project's containers are force-removed first and `down` only removes the
network. Rootful podman raises the containers' open-file and process limits to values a container
host may refuse ("error setting rlimits"); a `containers.conf` of the bench's own sets them low.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

PODMAN_NETWORK = "podyard-bench"
PODMAN_SUBNET = "10.214.0.0/16"
COMPOSE_PROJECT = "podyardbench"
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
"""


def compose_file(pods: int, pause_image: str, image: str, command: str) -> str:
    quoted = command.replace("'", "''")
    lines = ['version: "2.4"', "services:"]
    for i in range(pods):
        lines += [
            f"  p{i}-pause:",
            f"    image: {pause_image}",
            "    ipc: shareable",
        ]
        for c in range(2):
            lines += [
                f"  p{i}-c{c}:",
                f"    image: {image}",
                f"    entrypoint: ['sh', '-c', '{quoted}']",
                f"    network_mode: service:p{i}-pause",
                f"    ipc: service:p{i}-pause",
                "    depends_on:",
                f"      - p{i}-pause",
            ]
    return "\n".join(lines) + "\n"


class Compose:
    """`docker-compose up -d` of N pods on one engine."""

    def __init__(self, docker_host: str, folder: Path) -> None:
        self.env = {**os.environ, "DOCKER_HOST": docker_host, "COMPOSE_HTTP_TIMEOUT": "600"}
        self.file = folder / "docker-compose.yml"

    @staticmethod
    def installed() -> bool:
        return shutil.which("docker-compose") is not None

    def write(self, pods: int, pause_image: str, image: str, command: str) -> None:
        self.file.write_text(compose_file(pods, pause_image, image, command))
        self.env["COMPOSE_PARALLEL_LIMIT"] = str(3 * pods + 1)  # above the services: no deadlock

    def up(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "docker-compose",
                "-f",
                str(self.file),
                "-p",
                COMPOSE_PROJECT,
                "up",
                "-d",
                "--no-build",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def down(self) -> None:
        listed = subprocess.run(
            [
                "docker",
                "ps",
                "-aq",
                "--filter",
                f"label=com.docker.compose.project={COMPOSE_PROJECT}",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        ids = listed.stdout.split()
        if ids:
            subprocess.run(
                ["docker", "rm", "-f", "-v", *ids],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=900,
                check=False,
            )
        subprocess.run(
            ["docker-compose", "-f", str(self.file), "-p", COMPOSE_PROJECT, "down", "-t", "0"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=900,
            check=False,
        )


def podman_manifests(pods: int, image: str, command: str) -> str:
    docs = []
    for i in range(pods):
        body = "".join(
            f"""
  - name: c{c}
    image: {image}
    imagePullPolicy: Never
    command: ["sh", "-c", "{command}"]"""
            for c in range(2)
        )
        docs.append(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n"
            f"spec:\n  terminationGracePeriodSeconds: 2\n  containers:{body}\n"
        )
    return "---\n".join(docs)


class Podman:
    """`podman kube play` of N pods, on podman's own storage."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        conf = folder / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    @staticmethod
    def installed() -> bool:
        return shutil.which("podman") is not None

    def _run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, timeout=timeout, check=False
        )

    def prepare(self, docker_host: str, images: list[str]) -> None:
        """Load the images from the private engine, and make the bench's network."""
        with tempfile.TemporaryFile() as archive:
            subprocess.run(
                ["docker", "-H", docker_host, "save", *images], stdout=archive, check=True
            )
            archive.seek(0)
            subprocess.run(
                ["podman", "load"], stdin=archive, env=self.env, capture_output=True, check=True
            )
        if self._run("network", "exists", PODMAN_NETWORK).returncode != 0:
            made = self._run("network", "create", "--subnet", PODMAN_SUBNET, PODMAN_NETWORK)
            if made.returncode != 0:
                raise RuntimeError(f"podman network create failed: {made.stderr.decode()}")

    def play(self, pods: int, image: str, command: str) -> float:
        """Seconds from exec to `podman kube play` returning with every container started."""
        file = self.folder / "pods.yaml"
        file.write_text(podman_manifests(pods, image, command))
        started = time.monotonic()
        done = self._run("kube", "play", "--network", PODMAN_NETWORK, str(file))
        took = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"podman kube play failed: {done.stderr.decode()[-2000:]}")
        running = self._run("ps", "-q", "--filter", "status=running").stdout.split()
        if len(running) != 3 * pods:  # each pod: its infra container and two
            raise RuntimeError(f"podman: {len(running)} containers running, not {3 * pods}")
        return took

    def clean(self) -> None:
        """Remove every podman pod: slow (about two pods a second), so allowed an hour."""
        self._run("pod", "rm", "--all", "--force", "--time", "0", timeout=3600)
