"""Pod logs against a real engine: kubectl 1.32, the official Python client and `podyard logs`.

The pod `talker` has an init container, a sidecar-free app pair (`main`, `side`) and no default
annotation; `main` writes to stdout and stderr at start, and a test adds lines later by writing
to its PID 1's stdout through `docker exec` (the line then comes from the container's own log).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import ControllerProcess, docker_cli, eventually
from tests.integration.kubectl import KUBECTL
from tests.integration.manifests import IDLE, write

pytestmark = pytest.mark.kubectl

TALKER = f"""apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
    - name: setup
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "echo init-done"]
  containers:
    - name: main
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "echo out-1; sleep 1; echo err-1 >&2; sleep 1; echo out-2; {IDLE}"]
    - name: side
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "echo side-1; {IDLE}"]
"""

STUCK = """apiVersion: v1
kind: Pod
metadata:
  name: stuck
spec:
  containers:
    - name: app
      image: localhost/podyard-absent:1
      imagePullPolicy: Never
"""

DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep
spec:
  replicas: 1
  selector:
    matchLabels:
      app: dep
  template:
    metadata:
      labels:
        app: dep
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: {DEMO_IMAGE}
          command: ["sh", "-c", "echo dep-hello; {IDLE}"]
"""

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "talker.yaml", TALKER)
    write(folder, "stuck.yaml", STUCK)
    write(folder, "dep.yaml", DEPLOYMENT)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def kubectl(c: ControllerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "-s", c.server, *args], capture_output=True, text=True, timeout=30, check=False
    )


def podyard(c: ControllerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", "logs", "--server", c.server, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def api(c: ControllerProcess) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=c.server)))


def status_of(c: ControllerProcess, pod: str, container: str) -> dict[str, object]:
    body = c.get(f"/api/v1/namespaces/default/pods/{pod}")
    statuses = body["status"].get("containerStatuses") or []
    return next((s for s in statuses if s["name"] == container), {})


def container_id(c: ControllerProcess, pod: str, container: str) -> str:
    return str(status_of(c, pod, container)["containerID"]).removeprefix("docker://")


def say(c: ControllerProcess, pod: str, container: str, line: str) -> None:
    """The container's own process writes `line` (to PID 1's stdout, so Docker logs it)."""
    docker_cli(
        c.docker_host,
        "exec",
        container_id(c, pod, container),
        "sh",
        "-c",
        f"echo {line} > /proc/1/fd/1",
    )


async def talker_up(c: ControllerProcess) -> None:
    def up() -> bool:
        if not c.ready():
            return False
        text = kubectl(c, "logs", "talker", "-c", "main").stdout
        return "out-2" in text and bool(_dep_pod(c))

    await eventually(up, timeout=90, what="talker has written its start lines")


def _dep_pod(c: ControllerProcess) -> str:
    items = c.get("/api/v1/namespaces/default/pods?labelSelector=app%3Ddep")["items"]
    running = [p for p in items if p["status"].get("phase") == "Running"]
    return str(running[0]["metadata"]["name"]) if running else ""


class Lines:
    """A child's stdout read line by line in a thread, each with a deadline."""

    def __init__(self, stream: Iterator[bytes]) -> None:
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Iterator[bytes]) -> None:
        with contextlib.suppress(Exception):
            for chunk in stream:
                for line in chunk.splitlines():
                    self.lines.put(line)

    async def until(self, text: str, timeout: float) -> float:
        """Seconds until a line equal to `text` came; fails at the deadline."""
        started = time.monotonic()
        deadline = started + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = await asyncio.to_thread(self.lines.get, True, min(left, 0.5))
            except queue.Empty:
                continue
            self.seen.append(line.decode())
            if line.decode() == text:
                return time.monotonic() - started
        raise AssertionError(f"no line {text!r} within {timeout}s; saw {self.seen}")


@contextlib.asynccontextmanager
async def following(*argv: str) -> AsyncIterator[Lines]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        yield Lines(iter(lambda: proc.stdout.readline(), b""))  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


async def test_kubectl_and_the_python_client_read_logs_with_every_option(
    controller: ControllerProcess,
) -> None:
    c = controller
    await talker_up(c)
    merged = kubectl(c, "logs", "talker", "-c", "main")
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.splitlines() == ["out-1", "err-1", "out-2"]  # both streams, in order

    defaulted = kubectl(c, "logs", "talker")  # kubectl picks the first container itself
    assert defaulted.stdout.splitlines()[-1] == "out-2"
    assert 'Defaulted container "main" out of: main, side, setup (init)' in defaulted.stderr
    assert kubectl(c, "logs", "talker", "-c", "side").stdout == "side-1\n"
    assert kubectl(c, "logs", "talker", "-c", "setup").stdout == "init-done\n"
    assert kubectl(c, "logs", "talker", "-c", "main", "--tail=1").stdout == "out-2\n"
    assert kubectl(c, "logs", "talker", "-c", "main", "--limit-bytes=5").stdout == "out-1"
    stamped = kubectl(c, "logs", "talker", "-c", "main", "--timestamps").stdout.splitlines()
    assert len(stamped) == 3
    assert all(STAMP.match(line) for line in stamped), stamped
    assert stamped[-1].endswith(" out-2")

    await eventually(
        lambda: kubectl(c, "logs", "talker", "-c", "main", "--since=2s").stdout == "",
        timeout=10,
        what="the start lines older than 2 s",
    )
    say(c, "talker", "main", "fresh")
    assert kubectl(c, "logs", "talker", "-c", "main", "--since=2s").stdout == "fresh\n"
    assert "out-1" in kubectl(c, "logs", "talker", "-c", "main", "--since=1h").stdout
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    since_time = kubectl(c, "logs", "talker", "-c", "main", f"--since-time={an_hour_ago}")
    assert since_time.stdout.splitlines() == ["out-1", "err-1", "out-2", "fresh"]

    assert kubectl(c, "logs", "deploy/dep").stdout == "dep-hello\n"

    refused = kubectl(c, "logs", "talker", "-c", "nope")
    assert refused.returncode != 0
    # kubectl checks the name itself against the pod it fetched; the server's own words below
    assert refused.stderr.strip() == "error: container nope is not valid for pod talker"
    waiting = kubectl(c, "logs", "stuck")
    assert waiting.stderr.strip() == (
        'Error from server (BadRequest): container "app" in pod "stuck" is waiting to start: '
        "ErrImageNeverPull"
    )
    missing = kubectl(c, "logs", "ghost")
    assert missing.stderr.strip() == (  # kubectl's words around the 404 of its pod lookup
        'error: error from server (NotFound): pods "ghost" not found in namespace "default"'
    )
    no_previous = kubectl(c, "logs", "talker", "-c", "main", "--previous")
    assert no_previous.stderr.strip() == (
        "Error from server (BadRequest): previous terminated container "
        '"main" in pod "talker" not found'
    )

    v1 = api(c)
    assert v1.read_namespaced_pod_log("talker", "default", container="main", tail_lines=1) == (
        "fresh\n"
    )
    assert v1.read_namespaced_pod_log("talker", "default", container="side") == "side-1\n"
    with pytest.raises(ApiException) as unnamed:
        v1.read_namespaced_pod_log("talker", "default")
    assert unnamed.value.status == 400
    with pytest.raises(ApiException) as unknown:
        v1.read_namespaced_pod_log("talker", "default", container="nope")
    assert unknown.value.status == 400
    with pytest.raises(ApiException) as ghost:
        v1.read_namespaced_pod_log("ghost", "default")
    assert ghost.value.status == 404
    assert '"message":"pods \\"ghost\\" not found"' in str(ghost.value.body)
    assert '"message":"container nope is not valid for pod talker"' in str(unknown.value.body)
    assert (
        "a container name must be specified for pod talker, choose one of: [main side]"
        " or one of the init containers: [setup]"
    ) in str(unnamed.value.body)

    assert podyard(c, "talker", "-c", "main", "--tail", "1").stdout == "fresh\n"
    plain = podyard(c, "talker")
    assert plain.returncode == 0
    assert plain.stdout.splitlines()[-2:] == ["out-2", "fresh"]
    assert 'Defaulted container "main"' in plain.stderr
    assert podyard(c, "stuck").stderr.strip().endswith("is waiting to start: ErrImageNeverPull")

    resources = c.get("/api/v1")["resources"]
    assert {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
            "verbs": ["get"]} in resources  # fmt: skip


async def test_followers_see_a_new_line_within_a_second_and_previous_after_a_restart(
    controller: ControllerProcess,
) -> None:
    c = controller
    await talker_up(c)
    assert KUBECTL is not None
    v1 = api(c)
    streamed = v1.read_namespaced_pod_log(
        "talker", "default", container="main", follow=True, _preload_content=False
    )
    async with (
        following(KUBECTL, "-s", c.server, "logs", "-f", "talker", "-c", "main") as kube,
        following(KUBECTL, "-s", c.server, "logs", "-f", "deploy/dep") as deploy,
        following(
            sys.executable, "-m", "controller", "logs", "-f", "talker", "-c", "main",
            "--server", c.server,
        ) as ours,
    ):  # fmt: skip
        client = Lines(streamed.stream(64))
        for reader in (kube, ours, client):
            await reader.until("out-2", 30)
        await deploy.until("dep-hello", 30)
        worst = 0.0
        for n in range(3):
            asked = time.monotonic()  # before the exec that writes: an upper bound
            say(c, "talker", "main", f"poke-{n}")
            for reader in (kube, ours, client):
                await reader.until(f"poke-{n}", 5)
                waited = time.monotonic() - asked
                assert waited < 1.0, f"poke-{n} took {waited:.2f}s to reach a follower"
                worst = max(worst, waited)
        print(f"a new line reached every follower within {worst:.3f} s of the exec writing it")
        dep_pod = _dep_pod(c)
        say(c, dep_pod, "main", "dep-poke")
        await deploy.until("dep-poke", 5)
    streamed.release_conn()

    first = container_id(c, "talker", "main")
    docker_cli(c.docker_host, "kill", first)
    await eventually(
        lambda: (
            status_of(c, "talker", "main").get("restartCount") == 1
            and "running" in (status_of(c, "talker", "main").get("state") or {})
        ),
        timeout=30,
        what="main restarted once",
    )
    last = status_of(c, "talker", "main")["lastState"]
    assert last["terminated"]["containerID"] == f"docker://{first}"  # type: ignore[index]
    previous = kubectl(c, "logs", "talker", "-c", "main", "--previous").stdout
    assert "poke-2" in previous.splitlines()
    await eventually(
        lambda: "out-2" in kubectl(c, "logs", "talker", "-c", "main").stdout,
        timeout=10,
        what="the new instance's start lines",
    )
    assert "poke-2" not in kubectl(c, "logs", "talker", "-c", "main").stdout
    assert "poke-2" in v1.read_namespaced_pod_log(
        "talker", "default", container="main", previous=True
    )
    assert "poke-2" in podyard(c, "talker", "-c", "main", "--previous").stdout
