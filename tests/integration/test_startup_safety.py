"""A restarted controller decides nothing from ignorance: not from an emptied folder, not from an
engine that answers late.

Both scenarios start from pods a previous `podyard run` left running, stop it, break one side
(the folder, the engine's socket) and start a new controller: the pods it finds must survive
untouched until it knows both sides, and an emptied folder is held for `--hold-seconds` and
reported before it is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import ControllerProcess, docker_cli, eventually
from tests.integration.manifests import deployment_yaml, pod_yaml, replicaset_yaml, write

HOLD_SECONDS = 6.0


def start(
    docker_host: str,
    folder: Path,
    log: Path,
    processes: list[ControllerProcess],
    hold: float = HOLD_SECONDS,
) -> ControllerProcess:
    c = ControllerProcess(
        docker_host, folder, log, "--hold-seconds", str(hold), "--rescan-interval", "5"
    )
    processes.append(c)
    c.start()
    return c


def running_containers(docker_host: str) -> dict[str, str]:
    """Running Podyard containers: id -> pod uid."""
    out = docker_cli(
        docker_host,
        "ps",
        "--filter",
        "label=io.podyard.pod.uid",
        "--format",
        '{{.ID}} {{.Label "io.podyard.pod.uid"}}',
    )
    return dict(line.split() for line in out.splitlines())


def all_podyard_uids(docker_host: str) -> set[str]:
    """Pod uids of every Podyard container, running or not."""
    out = docker_cli(
        docker_host,
        "ps",
        "-a",
        "--filter",
        "label=io.podyard.pod.uid",
        "--format",
        '{{.Label "io.podyard.pod.uid"}}',
    )
    return set(out.split())


def file_states(c: ControllerProcess) -> dict[str, str]:
    try:
        files = c.get("/podyard/v1/files")
    except OSError:
        return {}
    return {f["file"]: f["state"] for f in files["items"]}


def events(c: ControllerProcess) -> list[dict[str, Any]]:
    try:
        return list(c.get("/api/v1/events")["items"])
    except OSError:
        return []


async def bring_up(
    docker_host: str,
    folder: Path,
    tmp_path: Path,
    processes: list[ControllerProcess],
    pods: int = 4,
) -> dict[str, str]:
    """A first controller runs the folder's pods; it is stopped, they keep running."""
    first = start(docker_host, folder, tmp_path / "first.log", processes)

    def all_running() -> dict[str, str] | None:
        found = running_containers(docker_host)
        return found if len(set(found.values())) == pods and len(found) == 2 * pods else None

    await eventually(all_running, timeout=60, what=f"{pods} pods running (sandbox + app each)")
    first.stop()
    return running_containers(docker_host)


async def test_an_emptied_folder_at_restart_is_held_then_applied(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    write(folder, "solo.yaml", pod_yaml("solo", 1))
    write(folder, "web.yaml", replicaset_yaml("web", 3))
    before = await bring_up(docker_host, folder, tmp_path, processes)

    (folder / "web.yaml").unlink()  # a file gone
    (folder / "solo.yaml").write_text("")  # a file emptied
    second = start(docker_host, folder, tmp_path / "second.log", processes)
    started = time.monotonic()

    def both_held() -> dict[str, str] | None:
        states = file_states(second)
        return states if states.get("web.yaml") == states.get("solo.yaml") == "held" else None

    await eventually(both_held, timeout=30, what="both files reported held")
    with urllib.request.urlopen(second.server + "/metrics", timeout=5) as response:
        assert 'podyard_manifest_files{state="held"} 2.0' in response.read().decode()
    # While the files are held, every container found at start runs on, untouched.
    held_samples = 0
    while file_states(second).get("web.yaml") == "held":
        assert running_containers(docker_host) == before, "a pod was touched during the hold"
        held_samples += 1
        await asyncio.sleep(0.2)
    assert held_samples > 0
    assert time.monotonic() - started >= HOLD_SECONDS - 1, "the hold ended early"

    reasons = {(e["reason"], e["involvedObject"]["kind"]) for e in events(second)}
    assert ("ManifestHeld", "Pod") in reasons, reasons
    assert ("ManifestHeld", "ReplicaSet") in reasons, reasons
    log = second.log_text()
    assert "held back" in log
    assert "web.yaml" in log

    await eventually(
        lambda: not all_podyard_uids(docker_host),
        timeout=40,
        what="the pods deleted after the hold",
    )


async def test_a_held_deletion_is_confirmed_by_a_marker_file(
    docker_host: str, tmp_path: Path, processes: list[ControllerProcess]
) -> None:
    folder = tmp_path / "m"
    write(folder, "solo.yaml", pod_yaml("solo", 1))
    write(folder, "web.yaml", replicaset_yaml("web", 3))
    before = await bring_up(docker_host, folder, tmp_path, processes)
    for manifest in folder.iterdir():
        manifest.unlink()
    second = start(docker_host, folder, tmp_path / "second.log", processes, hold=600)
    await eventually(
        lambda: set(file_states(second).values()) == {"held"}, timeout=30, what="files held"
    )
    assert running_containers(docker_host) == before
    marker = folder / ".podyard-confirm-deletion"
    marker.touch()
    await eventually(
        lambda: not all_podyard_uids(docker_host),
        timeout=30,
        what="the confirmed deletion applied long before the 600 s hold",
    )
    assert not marker.exists(), "the marker was not consumed"
    assert file_states(second) == {}


class LateSocket:
    """A unix socket that does not exist until `open()`, then forwards to the engine's socket:
    an engine that answers only some time after the controller started."""

    def __init__(self, engine_socket: str) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="pyd-late-", dir="/tmp"))
        self.path = self._dir / "docker.sock"
        self._engine = engine_socket
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    async def open(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self._engine)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(OSError, RuntimeError):
            dst.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture
async def late_socket(docker_host: str) -> AsyncIterator[LateSocket]:
    socket = LateSocket(docker_host.removeprefix("unix://"))
    yield socket
    await socket.close()


async def test_an_engine_that_answers_late_keeps_every_replicaset_pod(
    docker_host: str,
    tmp_path: Path,
    processes: list[ControllerProcess],
    late_socket: LateSocket,
) -> None:
    folder = tmp_path / "m"
    write(folder, "solo.yaml", pod_yaml("solo", 1))
    write(folder, "web.yaml", replicaset_yaml("web", 3))
    write(folder, "api.yaml", deployment_yaml("api", 2, version="1"))
    before = await bring_up(docker_host, folder, tmp_path, processes, pods=6)
    uids = set(before.values())

    second = start(late_socket.docker_host, folder, tmp_path / "second.log", processes)
    await eventually(
        lambda: file_states(second),
        timeout=30,
        what="the second controller serving its API",
    )
    # For 10 s the engine is not there: nothing may be decided meanwhile (the engine itself is
    # reachable by the test, so anything created would show).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert all_podyard_uids(docker_host) == uids, "pods changed while the engine was away"
        await asyncio.sleep(0.5)
    await late_socket.open()

    def seen_uids() -> set[str | None]:
        try:
            items = second.get("/api/v1/namespaces/default/pods")["items"]
        except OSError:
            return set()
        return {p["metadata"].get("uid") for p in items}

    await eventually(
        lambda: seen_uids() == uids,
        timeout=30,
        what="the 6 running pods seen through the late socket, with their uids",
    )
    # A few relists later (every 2 s), still the very same pods and containers.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert all_podyard_uids(docker_host) == uids, "a pod was replaced"
        assert running_containers(docker_host) == before, "a container was replaced"
        await asyncio.sleep(0.5)
    assert "SuccessfulCreate" not in {e["reason"] for e in events(second)}
    assert set(file_states(second).values()) == {"ok"}, "a file declared as it runs was held"
