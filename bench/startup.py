"""Start-up benchmark: from start to every pod's containers started, against a direct baseline.

For N pods of three containers (sandbox + 2), measured in the same run on a private engine:

- baseline: the same containers created directly with aiodocker (pause with a shareable IPC
  namespace, two containers joining it), 4 pods at a time (the best concurrency on 2 cores);
- engine:   Podyard's engine in this process, from `Engine.start()`;
- pods:     `podyard run` as a new process, from exec (interpreter start-up, folder reading, the
            first relist included), one Pod file per pod;
- rs:       the same, with one ReplicaSet of N replicas instead of N Pod files;
- compose:  `docker-compose up -d` of the same pods (see `peers`);
- podman:   `podman kube play` of the same pods, when podman is installed (see `peers`).

Every mode but podman ends at the engine's `start` event of the last container (podman: when
`kube play` returns, every container started). Podyard's node is given room for N pods (a nodes
file with `capacity.pods`: the kubelet's default is 110). Rounds alternate the order; everything
is removed between modes; the figures are medians and the ratios are against the baseline of the
same round. Run it with `make bench` or
`.venv/bin/python bench/startup.py --pods 200 500 --rounds 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiodocker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peers import Compose, Podman  # noqa: E402
from controller.config import (  # noqa: E402
    CapacityOverrides,
    EngineSettings,
    NodeSettings,
    RuntimeSettings,
)
from controller.engine.engine import Engine  # noqa: E402
from controller.engine.ports import SystemClock  # noqa: E402
from controller.model.meta import NodeName  # noqa: E402
from controller.runtime.docker.runtime import DockerRuntime  # noqa: E402
from controller.runtime.localimages import build_local_images_on  # noqa: E402
from tests.integration.dockerd import (  # noqa: E402
    DEMO_IMAGE,
    PAUSE_IMAGE,
    remove_test_objects,
    start_private_dockerd,
)
from tests.integration.harness import desired_of, free_port  # noqa: E402
from tests.integration.manifests import QUIET_IDLE, pod_yaml, replicaset_yaml  # noqa: E402

NODE = NodeName("bench")
BASE_PREFIX = "podyard-test-bench-"


class StartWatch:
    """Ends a bring-up at the engine's own `start` event of the last expected container.

    Nobody polls the controller while it works (a poll every few milliseconds would steal the CPU
    it competes for with dockerd); the figure is that event's time minus the wall time at the
    start, both on this host's clock.
    """

    def __init__(self, docker_host: str, expected: int) -> None:
        self._docker = aiodocker.Docker(url=docker_host)
        self._expected = expected
        self._subscriber = self._docker.events.subscribe(
            filters={"type": ["container"], "event": ["start"]}
        )
        self.started = time.time()

    def begin(self) -> None:
        self.started = time.time()

    async def wait(self, timeout: float | None = None, stall: float = 120.0) -> float:
        """Seconds until the last expected start; `Stalled` when no start came for `stall`
        seconds, TimeoutError after `timeout` (default: a second per container, 300 at least)."""
        seen = 0
        last = self.started
        try:
            async with asyncio.timeout(timeout or max(300.0, float(self._expected))):
                while seen < self._expected:
                    try:
                        event = await asyncio.wait_for(self._subscriber.get(), stall)
                    except TimeoutError:
                        raise Stalled(seen, self._expected) from None
                    if event is None:
                        raise RuntimeError("the engine's event stream ended")
                    seen += 1
                    last = event["timeNano"] / 1e9
        finally:
            await self._docker.close()
        return last - self.started


class Stalled(Exception):
    """No container started for a while, the bring-up unfinished (a peer that hangs)."""

    def __init__(self, seen: int, expected: int) -> None:
        super().__init__(f"stalled after {seen} of {expected} containers started")
        self.seen = seen
        self.expected = expected


async def baseline(docker_host: str, pods: int, concurrency: int) -> float:
    """Pause + 2 joined containers per pod, created and started directly."""
    docker = aiodocker.Docker(url=docker_host)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            pause = await docker.containers.create(
                {"Image": PAUSE_IMAGE, "Hostname": f"p{i}", "HostConfig": {"IpcMode": "shareable"}},
                name=f"{BASE_PREFIX}{i}-pause",
            )
            await pause.start()
            for c in range(2):
                mode = f"container:{pause.id}"
                app = await docker.containers.create(
                    {
                        "Image": DEMO_IMAGE,
                        "Entrypoint": ["sh", "-c", QUIET_IDLE],
                        "Cmd": [],
                        "HostConfig": {"NetworkMode": mode, "IpcMode": mode},
                    },
                    name=f"{BASE_PREFIX}{i}-c{c}",
                )
                await app.start()

    watch = StartWatch(docker_host, 3 * pods)
    await asyncio.sleep(0.2)  # the subscription is live
    try:
        watch.begin()
        await asyncio.gather(*(one(i) for i in range(pods)))
        return await watch.wait()
    finally:
        await docker.close()


def _all_running(pods: list[dict[str, object]], expected: int) -> bool:
    return len(pods) == expected and all(
        p["status"]["phase"] == "Running"  # type: ignore[index]
        and all(s["ready"] for s in p["status"]["containerStatuses"])  # type: ignore[index]
        for p in pods
    )


async def engine_in_process(docker_host: str, pods: int) -> float:
    from controller.model.pod import Pod  # local: keeps the module header short
    from tests.factories import container, pod

    specs: list[Pod] = [
        pod(
            f"p{i}",
            [container(f"c{c}", "sh", "-c", QUIET_IDLE, image=DEMO_IMAGE) for c in range(2)],
            grace=2,
        )
        for i in range(pods)
    ]
    settings = RuntimeSettings(pause_image=PAUSE_IMAGE)
    engine = Engine(
        {NODE: DockerRuntime(NODE, settings, docker_host)},
        SystemClock(),
        node_settings={
            NODE: NodeSettings(NODE, docker_host, capacity=CapacityOverrides(pods=max(110, pods)))
        },
        runtime=settings,
        engine=EngineSettings(),
    )
    engine.set_desired([desired_of(p) for p in specs])
    watch = StartWatch(docker_host, 3 * pods)
    await asyncio.sleep(0.2)
    watch.begin()
    await engine.start()
    took = await watch.wait()
    while True:  # not timed: the controller must also report them all Running and ready
        views = engine.pod_views()
        if len(views) == pods and all(
            v.status.phase.value == "Running" and all(s.ready for s in v.status.container_statuses)
            for v in views
        ):
            break
        await asyncio.sleep(0.1)
    await engine.stop()
    return took


async def process(docker_host: str, pods: int, folder: Path, *, replicaset: bool = False) -> float:
    for old in folder.glob("*.yaml"):
        old.unlink()
    if replicaset:
        (folder / "rs.yaml").write_text(
            replicaset_yaml("p", pods, containers=2, command=QUIET_IDLE)
        )
    for i in range(0 if replicaset else pods):
        (folder / f"p{i}.yaml").write_text(pod_yaml(f"p{i}", command=QUIET_IDLE))
    nodes = folder.parent / f"{folder.name}-nodes.yaml"  # outside the manifests folder
    nodes.write_text(
        f"nodes:\n- name: {NODE}\n  dockerHost: {docker_host}\n"
        f"  capacity: {{pods: {max(110, pods)}}}\n"
    )
    port = free_port()
    watch = StartWatch(docker_host, 3 * pods)
    await asyncio.sleep(0.2)
    before = _children_cpu()
    watch.begin()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "run",
            "--manifests",
            str(folder),
            "--listen",
            f"127.0.0.1:{port}",
            "--nodes",
            str(nodes),
            "--pause-image",
            PAUSE_IMAGE,
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
    )
    try:
        took = await watch.wait()
        while True:  # not timed: the API must also report them all Running and ready
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/pods", timeout=2
                ) as response:
                    if _all_running(json.load(response)["items"], pods):
                        return took
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("podyard run exited early")
            await asyncio.sleep(0.1)
    finally:
        lease = _lease_figures(f"http://127.0.0.1:{port}/metrics")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        print(
            f"  podyard run used {_children_cpu() - before:.1f} s of CPU (start to stop); {lease}",
            file=sys.stderr,
            flush=True,
        )


LEASE_SERIES = (
    "podyard_lease_lost_total",
    "podyard_lease_slow_renewals_total",
    "podyard_lease_held_back_seconds_total",
)


def _lease_figures(metrics_url: str) -> str:
    """What the engine's load did to the lease: losses, and slow renewals that held pod calls."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            text = response.read().decode()
    except OSError as failed:
        return f"lease figures unavailable ({failed})"
    totals = dict.fromkeys(LEASE_SERIES, 0.0)
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name in totals:
            totals[name] += float(rest.rsplit(" ", 1)[1])
    lost, slow, held = totals.values()
    return f"lease lost {lost:.0f} times, {slow:.0f} slow renewals held pod calls for {held:.1f} s"


def _children_cpu() -> float:
    """User + system CPU seconds of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def compose(docker_host: str, pods: int, peer: Compose) -> float:
    peer.write(pods, PAUSE_IMAGE, DEMO_IMAGE, QUIET_IDLE)
    watch = StartWatch(docker_host, 3 * pods)
    await asyncio.sleep(0.2)
    watch.begin()
    proc = peer.up()
    try:
        return await watch.wait()
    except Stalled as stalled:
        print(f"docker-compose up {stalled}; killed", file=sys.stderr)
        proc.kill()
        return math.inf
    finally:
        _, err = proc.communicate(timeout=900)
        if proc.returncode not in (0, -signal.SIGKILL):
            print(f"docker-compose up failed: {err.decode()[-2000:]}", file=sys.stderr)
        peer.down()


MODES = ("baseline", "engine", "pods", "rs", "compose", "podman")
LABELS = {
    "baseline": "direct aiodocker (baseline)",
    "engine": "Podyard engine, in process",
    "pods": "podyard run, Pod files",
    "rs": "podyard run, one ReplicaSet",
    "compose": "docker-compose up -d",
    "podman": "podman kube play",
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="baseline always runs"
    )
    args = parser.parse_args()
    modes = ["baseline", *(m for m in MODES if m in args.modes and m != "baseline")]
    missing: list[str] = []
    if "compose" in modes and not Compose.installed():
        modes.remove("compose")
        missing.append("compose: not installed")
    if "podman" in modes and not Podman.installed():
        modes.remove("podman")
        missing.append("podman: not installed")
    # a /24 holds 253 pods (one address each, for the sandbox): more take a /22
    wide = max(args.pods) > 250
    engine = start_private_dockerd(name_prefix="b", prefix_len=22 if wide else 24)
    host = engine.docker_host
    try:
        asyncio.run(build_local_images_on(host, demo=True))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "manifests"
            folder.mkdir()
            peer_compose = Compose(host, Path(tmp))
            peer_podman = Podman(Path(tmp)) if "podman" in modes else None
            if peer_podman is not None:
                peer_podman.prepare(host, [PAUSE_IMAGE, DEMO_IMAGE])
                peer_podman.clean()
            table: list[tuple[int, str, float, float]] = []
            for pods in args.pods:
                rows: list[dict[str, float]] = []
                for round_ in range(args.rounds):
                    order = list(modes)
                    if round_ % 2:
                        order.reverse()
                    figures: dict[str, float] = {}
                    for kind in order:
                        if kind == "baseline":
                            figures[kind] = asyncio.run(baseline(host, pods, args.concurrency))
                        elif kind == "engine":
                            figures[kind] = asyncio.run(engine_in_process(host, pods))
                        elif kind == "compose":
                            figures[kind] = asyncio.run(compose(host, pods, peer_compose))
                        elif kind == "podman":
                            assert peer_podman is not None
                            try:
                                figures[kind] = peer_podman.play(pods, DEMO_IMAGE, QUIET_IDLE)
                                print(
                                    f"  {pods} pods: podman kube play {figures[kind]:.2f} s"
                                    " (removing its pods next)",
                                    file=sys.stderr,
                                    flush=True,
                                )
                            finally:
                                peer_podman.clean()
                        else:
                            figures[kind] = asyncio.run(
                                process(host, pods, folder, replicaset=kind == "rs")
                            )
                        remove_test_objects(host, timeout=300)
                        print(
                            f"  {pods} pods, round {round_ + 1}: {kind} {figures[kind]:.2f} s",
                            file=sys.stderr,
                            flush=True,
                        )
                    rows.append(figures)
                for kind in modes:
                    seconds = statistics.median(r[kind] for r in rows)
                    ratio = statistics.median(r[kind] / r["baseline"] for r in rows)
                    table.append((pods, kind, seconds, ratio))
        print(f"{'pods':>5}  {'mode':<30} {'median s':>9} {'x baseline':>11}")
        for pods, kind, seconds, ratio in table:
            if math.isinf(seconds):
                print(f"{pods:>5}  {LABELS[kind]:<30} {'stalled':>9} {'-':>11}")
                continue
            print(f"{pods:>5}  {LABELS[kind]:<30} {seconds:>9.2f} {ratio:>11.2f}")
        for line in missing:
            print(line)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of a child process: {peak:.0f} MiB (the largest podyard run or peer)")
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
