"""Node-death benchmark: from a host's death to all its ReplicaSet pods Running elsewhere.

Three private engines are the nodes of one `podyard run --nodes FILE`; a ReplicaSet of N pods
(one container each, plus the sandbox) spreads over them. Then the host of one node dies
(dockerd, containerd, shims and containers SIGKILLed), and the figure is split in three:

- detection: from the kill to the node NotReady in the API (the heartbeat grace period, less the
  age of the last heartbeat at the kill);
- eviction wait: from NotReady to the node's pods deleted (the eviction timeout);
- start: from the eviction to every replacement Running and ready on the other nodes.

The start is set against a baseline measured in the same round: the same number of pods
(sandbox + 1 container) created directly with aiodocker on the surviving engines, 4 at a time.
Detection and eviction are timers, so they are printed against the configured values.

Run: `.venv/bin/python bench/node_death.py --pods 30 --rounds 1` (as root, about 2 minutes a
round with the defaults: grace 20 s, eviction 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import aiodocker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.config import NodeLifecycleSettings  # noqa: E402
from controller.runtime.localimages import build_local_images_on  # noqa: E402
from tests.integration.dockerd import (  # noqa: E402
    DEMO_IMAGE,
    PAUSE_IMAGE,
    PrivateDockerd,
    remove_test_objects,
    start_private_dockerd,
)
from tests.integration.harness import free_port, subpath_dir_of  # noqa: E402
from tests.integration.manifests import IDLE, replicaset_yaml  # noqa: E402

NAMES = ("n1", "n2", "n3")
BASE_PREFIX = "podyard-test-bench-"
POLL = 0.2
"""Seconds between API polls: the resolution of each figure."""


def get(server: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(server + path, timeout=5) as response:
            return json.load(response)
    except OSError:
        return None


def pods(server: str) -> list[dict[str, Any]]:
    body = get(server, "/api/v1/namespaces/default/pods")
    return list(body["items"]) if body else []


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def node_ready(server: str, name: str) -> bool | None:
    node = get(server, f"/api/v1/nodes/{name}")
    if node is None:
        return None
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def wait(predicate: Any, timeout: float, what: str) -> float:
    """Poll `predicate`; returns the time.monotonic() at which it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(POLL)
    raise RuntimeError(f"not within {timeout:.0f}s: {what}")


async def baseline(docker_hosts: list[str], count: int, concurrency: int = 4) -> float:
    """`count` pods (pause + one joined container) made directly, spread over the engines."""
    clients = [aiodocker.Docker(url=h) for h in docker_hosts]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        docker = clients[i % len(clients)]
        async with gate:
            pause = await docker.containers.create(
                {"Image": PAUSE_IMAGE, "HostConfig": {"IpcMode": "shareable"}},
                name=f"{BASE_PREFIX}{i}-pause",
            )
            await pause.start()
            mode = f"container:{pause.id}"
            app = await docker.containers.create(
                {
                    "Image": DEMO_IMAGE,
                    "Entrypoint": ["sh", "-c", IDLE],
                    "Cmd": [],
                    "HostConfig": {"NetworkMode": mode, "IpcMode": mode},
                },
                name=f"{BASE_PREFIX}{i}-app",
            )
            await app.start()

    started = time.monotonic()
    try:
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.monotonic() - started
    finally:
        for docker in clients:
            await docker.close()


def one_round(
    engines: list[PrivateDockerd], replicas: int, life: NodeLifecycleSettings
) -> dict[str, float]:
    for engine in engines:
        if engine.pid is None:
            engine.restart(kill_containers=True)
        remove_test_objects(engine.docker_host)
    with tempfile.TemporaryDirectory(prefix="podyard-bench-") as tmp:
        folder = Path(tmp, "manifests")
        folder.mkdir()
        (folder / "web.yaml").write_text(replicaset_yaml("web", replicas))
        nodes = [
            {"name": n, "dockerHost": e.docker_host} for n, e in zip(NAMES, engines, strict=True)
        ]
        nodes_file = Path(tmp, "nodes.yaml")
        nodes_file.write_text(json.dumps({"nodes": nodes}))
        with Path(tmp, "podyard.log").open("wb") as log:
            return run_and_measure(folder, nodes_file, engines, replicas, life, log)


def run_and_measure(
    folder: Path,
    nodes_file: Path,
    engines: list[PrivateDockerd],
    replicas: int,
    life: NodeLifecycleSettings,
    log: IO[bytes],
) -> dict[str, float]:
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "controller", "run",
            "--manifests", str(folder),
            "--listen", f"127.0.0.1:{port}",
            "--nodes", str(nodes_file),
            "--pause-image", PAUSE_IMAGE,
            "--subpath-dir", subpath_dir_of(engines[0].docker_host),
            "--node-monitor-grace-period", str(life.monitor_grace_seconds),
            "--pod-eviction-timeout", str(life.pod_eviction_timeout_seconds),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        return measure(server, engines, replicas)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def measure(server: str, engines: list[PrivateDockerd], replicas: int) -> dict[str, float]:
    def live() -> list[dict[str, Any]]:
        return [p for p in pods(server) if not p["metadata"].get("deletionTimestamp")]

    wait(lambda: len(live()) == replicas and all(ready(p) for p in live()), 300, "all ready")
    victim = NAMES[0]
    lost = sum(1 for p in live() if p["spec"].get("nodeName") == victim)
    killed = time.monotonic()
    engines[0].kill_host()
    not_ready = wait(lambda: node_ready(server, victim) is False, 120, "NotReady")
    evicted = wait(
        lambda: not any(p["spec"].get("nodeName") == victim for p in live()), 300, "evicted"
    )
    running = wait(
        lambda: len(live()) == replicas and all(ready(p) for p in live()), 300, "replaced"
    )
    survivors = [e.docker_host for e in engines[1:]]
    direct = asyncio.run(baseline(survivors, lost))
    for host in survivors:
        remove_test_objects(host)
    return {
        "pods moved": float(lost),
        "detection": not_ready - killed,
        "eviction wait": evicted - not_ready,
        "start": running - evicted,
        "total": running - killed,
        "baseline start": direct,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    defaults = NodeLifecycleSettings()
    parser.add_argument("--grace", type=float, default=defaults.monitor_grace_seconds)
    parser.add_argument("--eviction", type=float, default=defaults.pod_eviction_timeout_seconds)
    args = parser.parse_args()
    life = NodeLifecycleSettings(args.grace, args.eviction)
    engines: list[PrivateDockerd] = []
    try:
        for _ in NAMES:
            engines.append(start_private_dockerd(name_prefix="b"))

        async def images() -> None:
            await asyncio.gather(
                *(build_local_images_on(e.docker_host, demo=True) for e in engines)
            )

        asyncio.run(images())
        rounds = [one_round(engines, args.pods, life) for _ in range(args.rounds)]
    finally:
        for engine in engines:
            engine.stop()
    print(
        f"node death, {args.pods} pods on 3 nodes, grace {life.monitor_grace_seconds:g} s, "
        f"eviction {life.pod_eviction_timeout_seconds:g} s, medians of {args.rounds} round(s):"
    )
    for key in rounds[0]:
        value = statistics.median(r[key] for r in rounds)
        print(f"  {key:>15}: {value:7.2f}" + ("" if key == "pods moved" else " s"))
    ratio = statistics.median(r["start"] / r["baseline start"] for r in rounds)
    print(f"  start / baseline start: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
