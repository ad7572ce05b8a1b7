"""`kubectl get pods -w` against a real controller: rows appear and go as files come and go."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.harness import NODE, ControllerProcess, eventually
from tests.integration.kubectl import KUBECTL
from tests.integration.manifests import pod_yaml, write

pytestmark = pytest.mark.kubectl


class KubectlWatch:
    """A running `kubectl get ... -w`, its stdout read line by line with deadlines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def line(self, wanted: Callable[[list[str]], bool], timeout: float, what: str) -> str:
        """The next printed line whose cells satisfy `wanted`; fail at the deadline."""
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.proc.stdout.readline()
                    assert raw, f"kubectl ended before {what}: {self.lines}"
                    text = raw.decode().rstrip("\n")
                    self.lines.append(text)
                    if wanted(text.split()):
                        return text
        except TimeoutError:
            raise AssertionError(f"no {what} in {timeout}s; kubectl printed {self.lines}") from None


@contextlib.asynccontextmanager
async def watching(server: str, *args: str) -> AsyncIterator[KubectlWatch]:
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "-s",
        server,
        "get",
        "pods",
        "-w",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield KubectlWatch(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "web.yaml", pod_yaml("web", 1))
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def _running(c: ControllerProcess, name: str) -> bool:
    if not c.ready():
        return False
    pods = c.get("/api/v1/namespaces/default/pods")["items"]
    return any(p["metadata"]["name"] == name and p["status"]["phase"] == "Running" for p in pods)


async def test_kubectl_watch_shows_pods_come_and_go(controller: ControllerProcess) -> None:
    await eventually(lambda: _running(controller, "web"), timeout=60, what="web Running")
    async with (
        watching(controller.server) as plain,
        watching(controller.server, "-o", "wide", "--output-watch-events") as events,
    ):
        header = await plain.line(lambda cells: cells[:1] == ["NAME"], 30, "the header")
        assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        await plain.line(lambda c: c[:3] == ["web", "1/1", "Running"], 30, "the web row")
        wide = await events.line(lambda cells: cells[:1] == ["EVENT"], 30, "the wide header")
        assert wide.split()[:7] == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
        await events.line(lambda c: c[:2] == ["ADDED", "web"], 30, "web ADDED")

        manifest = write(controller.manifests, "extra.yaml", pod_yaml("extra", 2))
        # its first row may already show it running: one wait covers both
        await plain.line(lambda c: c[:3] == ["extra", "2/2", "Running"], 60, "extra Running")
        added = await events.line(lambda c: c[:2] == ["ADDED", "extra"], 30, "extra ADDED")
        running = added
        if added.split()[2:4] != ["2/2", "Running"]:
            running = await events.line(
                lambda c: c[1:4] == ["extra", "2/2", "Running"], 60, "extra Running, wide"
            )
        ip, node = running.split()[6:8]
        assert (ip.count("."), node) == (3, NODE), "the wide row has the IP and NODE columns"

        manifest.unlink()
        await plain.line(lambda c: c[:1] == ["extra"] and "Terminating" in c, 30, "Terminating")
        await events.line(lambda c: c[:2] == ["DELETED", "extra"], 60, "extra DELETED")
        assert not any(
            p["metadata"]["name"] == "extra" for p in controller.get("/api/v1/pods")["items"]
        )
        assert not [line for line in plain.lines if line.split()[:1] == ["web"]][1:], (
            "web did not change, so it is printed once (no duplicate after the list)"
        )
