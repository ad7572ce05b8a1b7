"""Start-up benchmark: from controller start to all pods Running, against a direct baseline.

For N pods of three containers (sandbox + 2), measured in the same run on a private engine:

- baseline: the same containers created directly with aiodocker (pause with a shareable IPC
  namespace, two containers joining it), 4 pods at a time (the best concurrency on 2 cores);
- engine:   Podyard's engine in this process, from `Engine.start()` to every pod Running and ready;
- process:  `podyard run` as a new process, from exec to the API reporting every pod Running
            (includes interpreter start-up and the first relist), one Pod file per pod;
- rs:       the same, with one ReplicaSet of N replicas instead of N Pod files.

Rounds alternate the order; the figures are medians and the ratios are against the baseline of the
same round. Run it with `make bench` or `.venv/bin/python bench/startup.py --pods 10 50 --rounds 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from controller.config import EngineSettings, RuntimeSettings  # noqa: E402
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
from tests.integration.manifests import IDLE, pod_yaml, replicaset_yaml  # noqa: E402

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

    async def wait(self, timeout: float = 300) -> float:
        seen = 0
        last = self.started
        async with asyncio.timeout(timeout):
            while seen < self._expected:
                event = await self._subscriber.get()
                if event is None:
                    raise RuntimeError("the engine's event stream ended")
                seen += 1
                last = event["timeNano"] / 1e9
        await self._docker.close()
        return last - self.started


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
                        "Entrypoint": ["sh", "-c", IDLE],
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
            [container(f"c{c}", "sh", "-c", IDLE, image=DEMO_IMAGE) for c in range(2)],
            grace=2,
        )
        for i in range(pods)
    ]
    settings = RuntimeSettings(pause_image=PAUSE_IMAGE)
    engine = Engine(
        {NODE: DockerRuntime(NODE, settings, docker_host)},
        SystemClock(),
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
        (folder / "rs.yaml").write_text(replicaset_yaml("p", pods, containers=2))
    for i in range(0 if replicaset else pods):
        (folder / f"p{i}.yaml").write_text(pod_yaml(f"p{i}"))
    port = free_port()
    watch = StartWatch(docker_host, 3 * pods)
    await asyncio.sleep(0.2)
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
            "--docker-host",
            docker_host,
            "--node-name",
            NODE,
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
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    engine = start_private_dockerd(name_prefix="b")
    host = engine.docker_host
    try:
        asyncio.run(build_local_images_on(host, demo=True))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            print(
                f"{'pods':>5} {'baseline s':>11} {'engine s':>9} {'process s':>10} {'rs s':>7}"
                f" {'engine/base':>12} {'process/base':>13} {'rs/base':>8}"
            )
            for pods in args.pods:
                rows: list[tuple[float, float, float, float]] = []
                for round_ in range(args.rounds):
                    order = ["baseline", "engine", "process", "rs"]
                    if round_ % 2:
                        order.reverse()
                    figures: dict[str, float] = {}
                    for kind in order:
                        if kind == "baseline":
                            figures[kind] = asyncio.run(baseline(host, pods, args.concurrency))
                        elif kind == "engine":
                            figures[kind] = asyncio.run(engine_in_process(host, pods))
                        else:
                            figures[kind] = asyncio.run(
                                process(host, pods, folder, replicaset=kind == "rs")
                            )
                        remove_test_objects(host, timeout=120)
                    rows.append(
                        (figures["baseline"], figures["engine"], figures["process"], figures["rs"])
                    )
                base = statistics.median(r[0] for r in rows)
                eng = statistics.median(r[1] for r in rows)
                proc = statistics.median(r[2] for r in rows)
                rs = statistics.median(r[3] for r in rows)
                eng_ratio = statistics.median(r[1] / r[0] for r in rows)
                proc_ratio = statistics.median(r[2] / r[0] for r in rows)
                rs_ratio = statistics.median(r[3] / r[0] for r in rows)
                print(
                    f"{pods:>5} {base:>11.2f} {eng:>9.2f} {proc:>10.2f} {rs:>7.2f}"
                    f" {eng_ratio:>12.2f} {proc_ratio:>13.2f} {rs_ratio:>8.2f}",
                    flush=True,
                )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of a podyard run process: {peak:.0f} MiB (largest child of this run)")
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
