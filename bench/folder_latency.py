"""Folder latency: from saving a manifest to the engine creating the pod's first container.

A `podyard run` process watches an empty folder on a private engine; each round writes a new Pod
file and reads the engine's own `create` event for that pod's sandbox, so the figure is the
engine's clock minus the moment the file was saved (same host, same clock). The watcher's
debounce (0.2 s by default: editors save in bursts) is part of the figure on purpose.
Run: `.venv/bin/python bench/folder_latency.py [--rounds 7]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiodocker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.runtime.localimages import build_local_images_on  # noqa: E402
from tests.integration.dockerd import start_private_dockerd  # noqa: E402
from tests.integration.harness import ControllerProcess  # noqa: E402
from tests.integration.manifests import pod_yaml  # noqa: E402


async def measure(docker_host: str, folder: Path, rounds: int, log: Path) -> list[float]:
    controller = ControllerProcess(docker_host, folder, log)
    controller.start()
    docker = aiodocker.Docker(url=docker_host)
    try:
        while not controller.ready():
            await asyncio.sleep(0.05)
        subscriber = docker.events.subscribe(filters={"type": ["container"], "event": ["create"]})
        figures = []
        for i in range(rounds):
            name = f"lat{i}"
            saved = time.time()
            (folder / f"{name}.yaml").write_text(pod_yaml(name, 1))
            while True:
                event = await asyncio.wait_for(subscriber.get(), 30)
                attributes = event["Actor"]["Attributes"]
                if attributes.get("io.podyard.pod.name") == name:
                    figures.append(event["timeNano"] / 1e9 - saved)
                    break
            await asyncio.sleep(1.0)  # let the pod settle before the next save
        return figures
    finally:
        await docker.close()
        controller.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    engine = start_private_dockerd(name_prefix="l")
    try:
        asyncio.run(build_local_images_on(engine.docker_host, demo=True))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "m"
            folder.mkdir()
            figures = asyncio.run(
                measure(engine.docker_host, folder, args.rounds, Path(tmp) / "c.log")
            )
        ms = sorted(f * 1000 for f in figures)
        print(
            f"save -> first container created: median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms ({len(ms)} saves)"
        )
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
