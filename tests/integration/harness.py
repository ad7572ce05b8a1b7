"""Running the controller against the private test engine: in-process, or as a real process.

In-process (`Controller`) is used where a test needs to look inside (the observed cache, exact
timings); the `podyard run` process (`ControllerProcess`) where the test is about the process itself
(SIGKILL, SIGTERM, the CLI, logs). Waiting is always polling with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from controller.config import BackoffSettings, EngineSettings, NodeSettings, RuntimeSettings
from controller.engine.engine import Engine
from controller.engine.podfactory import desired_from_pod
from controller.engine.ports import SystemClock
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName, PodKey
from controller.model.observed import ObservedContainer
from controller.model.pod import Pod
from controller.model.status import PodView
from controller.runtime.docker.runtime import DockerRuntime
from tests.integration.dockerd import PAUSE_IMAGE

T = TypeVar("T")
NODE = NodeName("it-node")
FAST_BACKOFF = BackoffSettings(initial_seconds=1.0, max_seconds=4.0, reset_after_seconds=600.0)


def subpath_dir_of(docker_host: str) -> str:
    """subPath mounts beside the private engine: its clean-up unmounts whatever is left there."""
    return os.path.join(os.path.dirname(docker_host.removeprefix("unix://")), "subpaths")


def desired_of(pod: Pod) -> DesiredPod:
    return desired_from_pod(pod)


async def eventually(
    probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        last = result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Controller:
    """The engine in this process, on the private test engine, or on several engines as nodes
    (`nodes`: each node's name, engine address and settings; `docker_host` is then the first's)."""

    def __init__(
        self,
        docker_host: str,
        backoff: BackoffSettings = FAST_BACKOFF,
        pause_image: str = PAUSE_IMAGE,
        *,
        nodes: Sequence[tuple[str, str, NodeSettings]] = (),
        config_volume_dir: str | None = None,
    ) -> None:
        settings = RuntimeSettings(
            pause_image=pause_image,
            relist_interval_seconds=2.0,
            subpath_dir=subpath_dir_of(docker_host),
        )
        if config_volume_dir is not None:
            settings = attrs.evolve(settings, config_volume_dir=config_volume_dir)
        given = nodes or [(NODE, docker_host, NodeSettings(NODE))]
        self.runtimes = {
            NodeName(name): DockerRuntime(
                NodeName(name), attrs.evolve(settings, subpath_dir=subpath_dir_of(host)), host
            )
            for name, host, _ in given
        }
        self.runtime = next(iter(self.runtimes.values()))
        self.engine = Engine(
            dict(self.runtimes),
            SystemClock(),
            node_settings={NodeName(name): node for name, _, node in given} if nodes else None,
            engine=EngineSettings(),
            runtime=settings,
            backoff=backoff,
        )

    async def start(self, pods: Sequence[Pod]) -> None:
        self.engine.set_desired([desired_of(p) for p in pods])
        await self.engine.start()

    def set_pods(self, pods: Sequence[Pod]) -> None:
        self.engine.set_desired([desired_of(p) for p in pods])

    async def stop(self) -> None:
        await self.engine.stop()

    def view(self, name: str, namespace: str = "default") -> PodView | None:
        for view in self.engine.pod_views():
            meta = view.pod.metadata
            if (meta.name, meta.namespace) == (name, namespace):
                return view
        return None

    def containers(self, name: str, namespace: str = "default") -> tuple[ObservedContainer, ...]:
        return self.engine.cache.containers_for(PodKey(namespace, name))

    def running(self, pod: str, container: str) -> list[ObservedContainer]:
        return [
            c
            for c in self.containers(pod)
            if c.identity.container_name == container and c.state.value == "running"
        ]

    async def wait_phase(self, name: str, phase: str, timeout: float = 30.0) -> PodView:
        def probe() -> PodView | None:
            view = self.view(name)
            return view if view is not None and view.status.phase.value == phase else None

        return await eventually(probe, timeout, what=f"pod {name} {phase}")

    async def wait_running_ready(self, name: str, timeout: float = 30.0) -> PodView:
        def probe() -> PodView | None:
            view = self.view(name)
            ok = view is not None and view.status.phase.value == "Running"
            return view if ok and all(s.ready for s in view.status.container_statuses) else None  # type: ignore[union-attr]

        return await eventually(probe, timeout, what=f"pod {name} Running and ready")


def docker_cli(docker_host: str, *args: str, check: bool = True, timeout: float = 30) -> str:
    """The docker CLI against the private engine (used for exec and kill, like a user would)."""
    done = subprocess.run(
        ["docker", "-H", docker_host, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def exec_in(docker_host: str, container_id: str, script: str) -> str:
    return docker_cli(docker_host, "exec", container_id, "sh", "-c", script).strip()


def write_nodes_file(path: Path, docker_hosts: Sequence[str], extra: str = "") -> Path:
    """A nodes file of one node per engine, named n1, n2, ... in order; `extra` (YAML lines
    indented for a node's fields) is added to every node."""
    lines = ["nodes:"]
    for index, host in enumerate(docker_hosts, start=1):
        lines += [f"- name: n{index}", f"  dockerHost: {json.dumps(host)}"]
        lines += [line for line in extra.splitlines() if line.strip()]
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ControllerProcess:
    """`podyard run` as a child process, its log kept in a file for assertions."""

    def __init__(
        self, docker_host: str, manifests: Path, log: Path, *extra: str, nodes: Path | None = None
    ) -> None:
        """With `nodes` (a nodes file, see `write_nodes_file`), the controller runs on the nodes
        it lists instead of one node `NODE` on `docker_host` (which then only names the folder
        for subPath mounts)."""
        self.port = free_port()
        self.docker_host = docker_host
        self.manifests = manifests
        self.log = log
        self.extra = extra
        self.nodes = nodes
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "controller",
            "run",
            "--manifests",
            str(self.manifests),
            "--listen",
            f"127.0.0.1:{self.port}",
            *(
                ("--docker-host", self.docker_host, "--node-name", NODE)
                if self.nodes is None
                else ("--nodes", str(self.nodes))
            ),
            "--pause-image",
            PAUSE_IMAGE,
            "--relist-interval",
            "2",
            "--subpath-dir",
            subpath_dir_of(self.docker_host),
            "--config-volume-dir",
            os.path.join(os.path.dirname(subpath_dir_of(self.docker_host)), "configvolumes"),
            "--backoff-initial",
            "1",
            "--backoff-max",
            "4",
            *self.extra,
        ]

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.server + path, timeout=5) as response:
            return json.load(response)

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.server + path, timeout=5) as response:
            return str(response.read().decode())

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.server + "/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self, signum: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def podyard_containers(docker_host: str) -> list[dict[str, str]]:
    """Every container Podyard labelled on the engine: id, state, pod and container name."""
    out = docker_cli(
        docker_host,
        "ps",
        "-a",
        "--filter",
        "label=io.podyard.pod.uid",
        "--format",
        '{{.ID}} {{.State}} {{.Label "io.podyard.pod.name"}} {{.Label "io.podyard.container.name"}}',
    )
    rows = []
    for line in out.splitlines():
        cid, state, pod, name = line.split()
        rows.append({"id": cid, "state": state, "pod": pod, "name": name})
    return rows
