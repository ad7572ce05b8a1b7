"""Several private engines as the nodes of one `podyard run`: the nodes file and the process.

The nodes file has the fixed shape outside tools write (`nodes: [{name, dockerHost}]`); the
controller process is the product as users start it, with `--nodes` instead of one engine.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, podyard_containers, subpath_dir_of
from tests.integration.harness import write_nodes_file as write_nodes_file_of

NODE_NAMES = ("n1", "n2", "n3")
"""The names `write_nodes_file` gives the engines, in order."""


def write_nodes_file(path: Path, engines: Sequence[PrivateDockerd]) -> Path:
    """`nodes:` with one entry per engine, named `n1`, `n2`, ... in order."""
    return write_nodes_file_of(path, [engine.docker_host for engine in engines])


class ClusterProcess(ControllerProcess):
    """`podyard run --nodes FILE` on several engines."""

    def __init__(
        self, nodes_file: Path, first_engine: str, manifests: Path, log: Path, *extra: str
    ) -> None:
        super().__init__(first_engine, manifests, log, *extra, nodes=nodes_file)

    def get_or_none(self, path: str) -> Any:
        try:
            return self.get(path)
        except (OSError, urllib.error.HTTPError, ValueError):
            return None

    def pods(self) -> list[dict[str, Any]]:
        body = self.get_or_none("/api/v1/namespaces/default/pods")
        return list(body["items"]) if body else []

    def node_ready(self, name: str) -> bool | None:
        """The node's Ready condition as the API shows it (None: not shown)."""
        node = self.get_or_none(f"/api/v1/nodes/{name}")
        if node is None:
            return None
        ready = next(
            (c for c in node["status"]["conditions"] if c["type"] == "Ready"), {"status": ""}
        )
        return bool(ready["status"] == "True")


def running_replicas(engines: Sequence[PrivateDockerd], owner_prefix: str) -> dict[str, int]:
    """Per engine that answers, the pods named `<owner_prefix>-...` whose app runs there."""
    counts = {}
    for name, engine in zip(NODE_NAMES, engines, strict=False):
        if engine.pid is None:
            continue
        try:
            rows = podyard_containers(engine.docker_host)
        except Exception:  # an engine going down between the check and the call
            continue
        counts[name] = len(
            {
                r["pod"]
                for r in rows
                if r["state"] == "running"
                and r["name"] != "POD"
                and r["pod"].startswith(owner_prefix + "-")
            }
        )
    return counts


def poll(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    every: float = 0.5,
    check: Callable[[], None] = lambda: None,
) -> float:
    """Poll until `predicate` holds, running `check` (which asserts) at every turn; returns
    the seconds it took."""
    started = time.monotonic()
    while True:
        check()
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(every)


__all__ = ["NODE_NAMES", "ClusterProcess", "poll", "running_replicas", "subpath_dir_of"]
