"""`podyard run` on the in-memory fake runtime: bench/idle.py's child for its fake row.

The whole composition runs (folder, API, leases, engine), each node's Docker runtime replaced by
one shared `FakeRuntime` (the engine's and the lease's). Usage: `idlefake.py FOLDER PORT`; a nodes file is written beside FOLDER.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller import app  # noqa: E402
from controller.cli import build_parser, settings_from  # noqa: E402
from controller.engine.ports import SystemClock  # noqa: E402
from controller.runtime.fake import FakeRuntime  # noqa: E402
from tests.integration.dockerd import DEMO_IMAGE, PAUSE_IMAGE  # noqa: E402

fakes: dict[str, FakeRuntime] = {}

NODES_FILE = """nodes:
- name: bench
  dockerHost: unix:///nonexistent/docker.sock
  capacity: {pods: 100000}
"""


class QuietFake(FakeRuntime):
    """Keeps no call log: the log of a long run would be the largest thing in memory."""

    def _check(self, call: str) -> None:
        super()._check(call)
        self.calls.clear()


def fake_runtime(node: str, *args: Any, **kwargs: Any) -> FakeRuntime:
    if node not in fakes:
        fakes[node] = QuietFake(node, SystemClock(), images=[DEMO_IMAGE, PAUSE_IMAGE])
    return fakes[node]


def main() -> int:
    folder, port = Path(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.WARNING)
    nodes = folder.parent / "nodes.yaml"  # room for every pod (the kubelet's default is 110)
    nodes.write_text(NODES_FILE)
    args = build_parser().parse_args(
        [
            "run",
            "--manifests",
            str(folder),
            "--listen",
            f"127.0.0.1:{port}",
            "--nodes",
            str(nodes),
            # bringing 1,000 pods up keeps one core busy for minutes; the lease must outlast
            # that, as a lease on a real engine would be renewed by a less crowded loop
            "--lease-duration",
            "600",
            "--lease-renew-deadline",
            "500",
        ]
    )
    app.DockerRuntime = fake_runtime  # type: ignore[attr-defined,assignment]
    asyncio.run(app.run_controller(settings_from(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
