"""DockerRuntime against a real Docker engine: pods as sandbox + joining containers, failures, events.

The engine is the tests' private dockerd (conftest.py), never the default one. Every test works
inside its own pod uid; the fixture removes every container and volume labelled with it (and the
unlabelled containers a test made) whatever the outcome. Waiting is polling with a
deadline. Only local images are used and no traffic leaves the machine's loopback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiodocker
import aiohttp
import attrs
import pytest
from aiodocker.exceptions import DockerError
from aiodocker.volumes import DockerVolume

from controller.config import ImagePullSettings, RuntimeSettings
from controller.model import labels
from controller.model.errors import (
    EngineUnavailable,
    ImageNeverPull,
    ImagePullFailed,
    NameConflict,
    NotOurs,
    RuntimeFailure,
    StartFailed,
)
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid
from controller.model.observed import (
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    RunState,
    RuntimeEvent,
)
from controller.model.plan import ContainerConfig, EnsureVolume, MountSpec, PortBinding
from controller.model.pod import PullPolicy
from controller.runtime import localimages as images
from controller.runtime.docker import runtime as docker_runtime
from controller.runtime.docker.runtime import RELIST, DockerRuntime
from tests.integration.harness import subpath_dir_of

pytestmark = pytest.mark.integration

BUSYBOX = images.DEMO_BUSYBOX_IMAGE
PAUSE = images.PAUSE_FALLBACK_IMAGE
NODE = NodeName("it")
MiB = 1024 * 1024
SLEEPER = ("sh", "-c", 'trap "exit 0" TERM; sleep 3600 & wait')
"""Runs until stopped; as PID 1 a busybox sh ignores SIGTERM unless it traps it."""


@attrs.define
class PodHarness:
    runtime: DockerRuntime
    docker: aiodocker.Docker
    uid: str
    ref: PodRef

    @property
    def short(self) -> str:
        return self.uid[:12]

    def docker_name(self, container: str) -> str:
        return f"podyard-test-{self.short}-{container}"

    def identity(
        self, container: str, role: ContainerRole = ContainerRole.APP
    ) -> ContainerIdentity:
        return ContainerIdentity(
            pod=self.ref,
            container_name=container,
            role=role,
            attempt=0,
            spec_hash="spec",
            pod_spec_hash="podspec",
            pod_created_at=time.time(),
            grace_seconds=1,
        )

    def config(
        self,
        container: str,
        *,
        image: str = BUSYBOX,
        role: ContainerRole = ContainerRole.APP,
        **fields: Any,
    ) -> ContainerConfig:
        return ContainerConfig(
            docker_name=self.docker_name(container),
            identity=self.identity(container, role),
            image=image,
            pull_policy=PullPolicy.IF_NOT_PRESENT,
            stop_grace_seconds=1,
            **fields,
        )

    def sandbox_config(self, **fields: Any) -> ContainerConfig:
        return self.config("POD", image=PAUSE, role=ContainerRole.SANDBOX, **fields)

    async def run(self, config: ContainerConfig) -> ContainerId:
        await self.runtime.ensure_image(config.image, config.pull_policy)
        container_id = await self.runtime.create_container(config)
        await self.runtime.start_container(container_id)
        return container_id

    async def wait_for(
        self,
        container_id: ContainerId,
        predicate: Callable[[ObservedContainer], bool],
        within: float = 10.0,
    ) -> ObservedContainer:
        deadline = time.monotonic() + within
        while True:
            observed = await self.runtime.inspect_container(container_id)
            assert observed is not None, f"container {container_id} vanished"
            if predicate(observed):
                return observed
            assert time.monotonic() < deadline, f"timed out waiting; last seen {observed}"
            await asyncio.sleep(0.05)

    async def wait_exit(self, container_id: ContainerId, within: float = 10.0) -> ObservedContainer:
        return await self.wait_for(container_id, lambda o: o.state is RunState.EXITED, within)

    async def wait_running(self, container_id: ContainerId) -> ObservedContainer:
        return await self.wait_for(container_id, lambda o: o.state is RunState.RUNNING)

    async def logs(self, container_id: str) -> str:
        lines = await self.docker.containers.container(container_id).log(stdout=True, stderr=True)
        return "".join(lines)

    async def raw(self, container_id: str) -> dict[str, Any]:
        return await self.docker.containers.container(container_id).show()


async def _remove_everything(docker: aiodocker.Docker, uid: str, short: str) -> None:
    leftovers = await docker.containers.list(
        all=True, filters={"label": [f"{labels.POD_UID}={uid}"]}
    )
    leftovers += await docker.containers.list(
        all=True, filters={"name": [f"podyard-test-unlabelled-{short}"]}
    )
    for container in leftovers:
        try:
            await container.delete(force=True)
        except DockerError as exc:
            if exc.status not in (404, 409):  # gone, or its removal is under way already
                raise
    volume_api: Any = docker.volumes  # aiodocker's volume API is unannotated
    volumes = await volume_api.list(filters={"label": [f"{labels.POD_UID}={uid}"]})
    for volume in volumes.get("Volumes") or ():
        handle: Any = DockerVolume(docker, volume["Name"])  # type: ignore[no-untyped-call]
        try:
            await handle.delete()
        except DockerError as exc:
            if exc.status != 404:
                raise


@pytest.fixture
async def pod(docker_host: str, docker: aiodocker.Docker) -> AsyncIterator[PodHarness]:
    """A pod uid of its own on the tests' private engine (see conftest.py)."""
    uid = uuid.uuid4().hex
    runtime = DockerRuntime(
        NODE,
        RuntimeSettings(
            call_timeout_seconds=20.0,
            events_reconnect_max_seconds=0.5,
            subpath_dir=subpath_dir_of(docker_host),
        ),
        docker_host,
        ImagePullSettings(pull_timeout_seconds=20.0),
    )
    harness = PodHarness(runtime, docker, uid, PodRef("it", f"pod-{uid[:8]}", PodUid(uid)))
    try:
        yield harness
    finally:
        try:
            await _remove_everything(docker, uid, harness.short)
        finally:
            await runtime.close()


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _http_get(url: str, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return await response.text()
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, f"no answer from {url}"
            await asyncio.sleep(0.05)


async def test_pod_shares_network_uts_and_ipc(pod: PodHarness) -> None:
    host_port = _free_loopback_port()
    sandbox = pod.sandbox_config(
        hostname="web-0", ports=(PortBinding(8080, host_port, "127.0.0.1"),)
    )
    sandbox_id = await pod.run(sandbox)
    server = pod.config(
        "server",
        join_sandbox=sandbox.docker_name,
        entrypoint=(
            "sh",
            "-c",
            'trap "exit 0" TERM; mkdir -p /www && hostname > /www/index.html'
            " && echo shm-token > /dev/shm/token && httpd -f -p 8080 -h /www & wait",
        ),
    )
    server_id = await pod.run(server)
    client_id = await pod.run(
        pod.config(
            "client",
            join_sandbox=sandbox.docker_name,
            entrypoint=(
                "sh",
                "-c",
                "for i in $(seq 100); do out=$(wget -qO- http://127.0.0.1:8080/) && break;"
                ' sleep 0.1; done; echo "page=$out"; echo "host=$(hostname)";'
                ' echo "shm=$(cat /dev/shm/token)"',
            ),
        )
    )

    client = await pod.wait_exit(client_id)
    output = await pod.logs(client_id)
    assert client.exit_code == 0, output
    assert "page=web-0" in output
    assert "host=web-0" in output
    assert "shm=shm-token" in output
    assert (await _http_get(f"http://127.0.0.1:{host_port}/")).strip() == "web-0"

    listed = {c.id: c for c in await pod.runtime.list_containers() if c.pod == pod.ref}
    assert set(listed) == {sandbox_id, server_id, client_id}
    assert listed[sandbox_id].is_sandbox
    assert listed[sandbox_id].ip is not None
    assert listed[server_id].ip is None
    assert listed[server_id].docker_name == pod.docker_name("server")
    assert listed[server_id].identity == server.identity  # the labels round-trip exactly
    assert listed[sandbox_id].identity == sandbox.identity
    assert listed[client_id].state is RunState.EXITED

    raw_server = await pod.raw(server_id)
    # The engine resolves the sandbox's name to its id when the container is created.
    assert raw_server["HostConfig"]["NetworkMode"] == f"container:{sandbox_id}"
    assert raw_server["HostConfig"]["IpcMode"] == f"container:{sandbox_id}"
    assert raw_server["HostConfig"]["RestartPolicy"]["Name"] == "no"
    raw_sandbox = await pod.raw(sandbox_id)
    assert raw_sandbox["HostConfig"]["IpcMode"] == "shareable"
    assert raw_sandbox["HostConfig"]["PortBindings"] == {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]
    }

    started = time.monotonic()
    await pod.runtime.stop_container(server_id, 1)
    stopped = await pod.wait_exit(server_id)
    assert stopped.exit_code == 0  # the trapped SIGTERM, not the SIGKILL after the grace period
    assert time.monotonic() - started < 5
    await pod.runtime.stop_container(server_id, 1)  # not running: nothing to do
    await pod.runtime.remove_container(server_id)
    assert await pod.runtime.inspect_container(server_id) is None
    await pod.runtime.remove_container(server_id)  # gone: fine
    await pod.runtime.stop_container(server_id, 1)  # gone: fine


async def test_pid_namespace_is_private_unless_shared(pod: PodHarness) -> None:
    sandbox = pod.sandbox_config()
    sandbox_id = await pod.run(sandbox)
    script = ("sh", "-c", 'echo "pid=$$"; echo "init=$(tr "\\0" " " < /proc/1/cmdline)"')
    own_id = await pod.run(pod.config("own", join_sandbox=sandbox.docker_name, entrypoint=script))
    shared_id = await pod.run(
        pod.config("shared", join_sandbox=sandbox.docker_name, share_pid=True, entrypoint=script)
    )
    await pod.wait_exit(own_id)
    await pod.wait_exit(shared_id)

    own = await pod.logs(own_id)
    shared = await pod.logs(shared_id)
    assert "pid=1\n" in own
    assert "catatonit" not in own
    assert "pid=1\n" not in shared
    assert "init=/catatonit -P" in shared
    raw = await pod.raw(shared_id)
    assert raw["HostConfig"]["PidMode"] == f"container:{sandbox_id}"


async def test_oom_kill_and_plain_kill_are_told_apart(pod: PodHarness) -> None:
    victim_id = await pod.run(
        pod.config(
            "victim",
            entrypoint=SLEEPER,
            memory_limit_bytes=64 * MiB,
            cpu_limit_millis=500,
            cpu_request_millis=250,
        )
    )

    # dockerd 20.10 on cgroup v1 misses about one OOM kill in twenty when the killed process is
    # the container's PID 1 (containerd's OOM notice races with the exit): no OOMKilled flag and
    # no "oom" event, only exit code 137. A few attempts keep this test about the mapping.
    attempts: list[ObservedContainer] = []
    for attempt in range(5):
        oom_id = await pod.run(
            pod.config(
                f"hog-{attempt}",
                memory_limit_bytes=16 * MiB,
                entrypoint=("sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"),
            )
        )
        attempts.append(await pod.wait_exit(oom_id))
        if attempts[-1].oom_killed:
            break
    oom = attempts[-1]
    assert oom.oom_killed is True, attempts
    assert all(a.exit_code == 137 for a in attempts)
    assert oom.error == ""
    # No ordering check between the two: for a process that dies at once, the engine may record
    # StartedAt (set after the start call returns) a little after FinishedAt (the exit's time).
    assert oom.started_at is not None
    assert oom.finished_at is not None

    await pod.wait_running(victim_id)
    await pod.docker.containers.container(victim_id).kill(signal="SIGKILL")
    victim = await pod.wait_exit(victim_id)
    assert victim.exit_code == 137
    assert victim.oom_killed is False

    host = (await pod.raw(victim_id))["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 64 * MiB
    assert host["CpuPeriod"] == 100_000
    assert host["CpuQuota"] == 50_000
    assert host["CpuShares"] == 256


async def test_missing_executable_fails_to_start(pod: PodHarness) -> None:
    container_id = await pod.runtime.create_container(pod.config("broken", entrypoint=("nope",)))
    with pytest.raises(StartFailed, match=r'exec: "nope": executable file not found in \$PATH'):
        await pod.runtime.start_container(container_id)

    observed = await pod.runtime.inspect_container(container_id)
    assert observed is not None
    assert observed.state is RunState.CREATED
    assert observed.exit_code == 127
    assert 'exec: "nope": executable file not found' in observed.error
    assert observed.failed_to_start
    assert observed.started_at is None
    assert observed.finished_at is None
    assert observed.oom_killed is False

    with pytest.raises(StartFailed):
        await pod.runtime.start_container(container_id)
    await pod.runtime.stop_container(container_id, 1)  # created, not running: nothing to do
    await pod.runtime.remove_container(container_id)
    assert await pod.runtime.inspect_container(container_id) is None


async def test_duplicate_name_is_a_name_conflict(pod: PodHarness) -> None:
    config = pod.config("twice", entrypoint=("true",))
    await pod.runtime.create_container(config)
    with pytest.raises(NameConflict, match=config.docker_name):
        await pod.runtime.create_container(config)


async def test_unlabelled_containers_are_never_touched(pod: PodHarness) -> None:
    bare = await pod.docker.containers.create(
        {"Image": BUSYBOX, "Entrypoint": list(SLEEPER)},
        name=f"podyard-test-unlabelled-{pod.short}-bare",
    )
    # Carries the uid label the listing filters on, but not the rest of the identity.
    partial = await pod.docker.containers.create(
        {"Image": BUSYBOX, "Entrypoint": list(SLEEPER), "Labels": {labels.POD_UID: pod.uid}},
        name=f"podyard-test-unlabelled-{pod.short}-partial",
    )
    for container in (bare, partial):
        await container.start()

    listed = {c.id for c in await pod.runtime.list_containers()}
    for container in (bare, partial):
        cid = ContainerId(container.id)
        assert cid not in listed
        assert await pod.runtime.inspect_container(cid) is None
        with pytest.raises(NotOurs):
            await pod.runtime.stop_container(cid, 1)
        with pytest.raises(NotOurs):
            await pod.runtime.remove_container(cid)
        assert (await container.show())["State"]["Running"] is True


async def test_die_event_arrives(pod: PodHarness) -> None:
    stream = pod.runtime.events()
    received: asyncio.Queue[RuntimeEvent] = asyncio.Queue()

    async def pump() -> None:
        async for event in stream:
            await received.put(event)

    async def next_event(predicate: Callable[[RuntimeEvent], bool]) -> RuntimeEvent:
        async with asyncio.timeout(10):
            while True:
                event = await received.get()
                if predicate(event):
                    return event

    task = asyncio.create_task(pump())
    try:
        first = await next_event(lambda e: True)
        assert first.action == RELIST
        assert first.container_id == ""
        container_id = await pod.run(pod.config("short", entrypoint=("sh", "-c", "exit 3")))
        start = await next_event(lambda e: e.container_id == container_id)
        assert start.action in ("create", "start")
        die = await next_event(lambda e: e.container_id == container_id and e.action == "die")
        assert die.pod == pod.ref
        assert die.node == NODE
        assert die.time_ns > 0
        observed = await pod.wait_exit(container_id)
        assert observed.exit_code == 3
        assert observed.finished_at is not None
        assert abs(die.time_ns / 1e9 - observed.finished_at) < 1.0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()


async def test_event_stream_reconnects_and_replays_the_gap(pod: PodHarness) -> None:
    stream = pod.runtime.events()
    received: asyncio.Queue[RuntimeEvent] = asyncio.Queue()

    async def pump() -> None:
        async for event in stream:
            await received.put(event)

    async def next_event(predicate: Callable[[RuntimeEvent], bool]) -> RuntimeEvent:
        async with asyncio.timeout(10):
            while True:
                event = await received.get()
                if predicate(event):
                    return event

    task = asyncio.create_task(pump())
    try:
        await next_event(lambda e: e.action == RELIST)
        before = await pod.runtime.create_container(pod.config("before", entrypoint=("true",)))
        await next_event(lambda e: e.container_id == before and e.action == "create")
        # Break the HTTP stream under aiodocker's subscription, as an engine restart would.
        docker = pod.runtime._docker
        assert docker is not None
        json_stream = docker.events.json_stream
        assert json_stream is not None
        await json_stream._close()
        during = await pod.runtime.create_container(pod.config("during", entrypoint=("true",)))
        await next_event(lambda e: e.action == RELIST)
        replayed = await next_event(lambda e: e.container_id in (before, during))
        assert (replayed.container_id, replayed.action) == (during, "create")
        after = await pod.runtime.create_container(pod.config("after", entrypoint=("true",)))
        await next_event(lambda e: e.container_id == after and e.action == "create")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()


async def test_listing_skips_inspecting_long_exited_containers(
    pod: PodHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docker_runtime, "CACHE_MIN_AGE_SECONDS", 0.0)
    inspected: list[str] = []
    inspect = pod.runtime.inspect_container

    async def counting_inspect(container_id: ContainerId) -> ObservedContainer | None:
        inspected.append(container_id)
        return await inspect(container_id)

    monkeypatch.setattr(pod.runtime, "inspect_container", counting_inspect)
    container_id = await pod.run(pod.config("done", entrypoint=("sh", "-c", "exit 2")))
    first = await pod.wait_exit(container_id)

    def ours(listing: list[ObservedContainer]) -> ObservedContainer:
        (found,) = [c for c in listing if c.id == container_id]
        return found

    inspected.clear()
    for _ in range(3):
        assert ours(await pod.runtime.list_containers()) == first
    # Three listings, at most two inspects: the cache key includes the listing's humanized
    # "Exited (2) 1 second ago", whose text may change once between two listings.
    assert 1 <= len(inspected) <= 2

    await pod.runtime.start_container(container_id)  # a restart in place forgets the entry
    again = await pod.wait_for(
        container_id,
        lambda o: o.state is RunState.EXITED and o.finished_at != first.finished_at,
    )
    inspected.clear()
    assert ours(await pod.runtime.list_containers()) == again
    assert inspected == [container_id]


async def test_a_listing_does_not_inspect_again_a_running_container_just_read(
    pod: PodHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor reads every container it starts: the next relist reuses that reading, so a
    bring-up costs one inspect per container, not two."""
    inspected: list[str] = []
    inspect_raw = pod.runtime.inspect_raw

    async def counting_inspect_raw(container_id: ContainerId) -> dict[str, Any] | None:
        inspected.append(container_id)
        return await inspect_raw(container_id)

    monkeypatch.setattr(pod.runtime, "inspect_raw", counting_inspect_raw)
    container_id = await pod.runtime.create_container(pod.config("app", entrypoint=("sleep", "60")))
    await pod.runtime.start_container(container_id)
    read = await pod.runtime.inspect_container(container_id)  # as the executor does
    assert read is not None
    assert read.state is RunState.RUNNING
    inspected.clear()
    (listed,) = [c for c in await pod.runtime.list_containers() if c.id == container_id]
    assert listed == read
    assert inspected == []

    await pod.runtime.stop_container(container_id, 0)  # a change drops the reading
    inspected.clear()
    (listed,) = [c for c in await pod.runtime.list_containers() if c.id == container_id]
    assert listed.state is RunState.EXITED
    assert inspected == [container_id]


async def test_a_failed_inspect_fails_the_listing_with_a_runtime_failure(
    pod: PodHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pod.runtime.create_container(pod.config("one", entrypoint=("true",)))

    async def failing_inspect(container_id: ContainerId) -> ObservedContainer | None:
        raise EngineUnavailable("engine went away")

    monkeypatch.setattr(pod.runtime, "inspect_container", failing_inspect)
    with pytest.raises(EngineUnavailable, match="engine went away"):
        await pod.runtime.list_containers()


async def test_unreachable_engine(caplog: pytest.LogCaptureFixture) -> None:
    runtime = DockerRuntime(
        NODE,
        RuntimeSettings(call_timeout_seconds=2.0, events_reconnect_max_seconds=0.1),
        docker_host="unix:///nonexistent/podyard-test.sock",
    )
    try:
        with pytest.raises(EngineUnavailable):
            await runtime.ping()
        with pytest.raises(EngineUnavailable):
            await runtime.list_containers()

        caplog.set_level(logging.WARNING, logger="podyard.runtime")
        received: list[RuntimeEvent] = []

        async def pump() -> None:
            async for event in runtime.events():
                received.append(event)

        def warnings() -> list[logging.LogRecord]:
            # Only the runtime's own: another test's leftovers (an unclosed session collected
            # now) may log too.
            return [
                r
                for r in caplog.records
                if r.name == "podyard.runtime" and r.levelno == logging.WARNING
            ]

        task = asyncio.create_task(pump())
        deadline = time.monotonic() + 5
        while not warnings():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # several retries: still waiting, still one warning
        assert not task.done()
        assert received == []
        assert len(warnings()) == 1
    finally:
        await runtime.close()
    async with asyncio.timeout(5):
        await task  # a closed runtime ends the stream


async def test_tmpfs_volume_is_shared_and_kept_by_the_sandbox(pod: PodHarness) -> None:
    scratch = EnsureVolume(
        NODE, pod.ref, "scratch", pod.docker_name("scratch"), tmpfs_size_bytes=MiB, memory=True
    )
    await pod.runtime.ensure_volume(scratch)
    await pod.runtime.ensure_volume(scratch)  # idempotent
    unsized = EnsureVolume(NODE, pod.ref, "unsized", pod.docker_name("unsized"), memory=True)
    await pod.runtime.ensure_volume(unsized)
    volumes = {v.name: v for v in await pod.runtime.list_volumes() if v.pod == pod.ref}
    assert set(volumes) == {scratch.docker_name, unsized.docker_name}
    assert volumes[scratch.docker_name].volume_name == "scratch"

    def mount(volume: EnsureVolume, target: str, **fields: Any) -> MountSpec:
        return MountSpec("volume", volume.docker_name, target, **fields)

    sandbox = pod.sandbox_config(mounts=(mount(scratch, "/scratch"), mount(unsized, "/unsized")))
    sandbox_id = await pod.run(sandbox)
    writer_id = await pod.run(
        pod.config(
            "writer",
            join_sandbox=sandbox.docker_name,
            mounts=(mount(scratch, "/data"), mount(scratch, "/sub", sub_path="deep/er")),
            entrypoint=("sh", "-c", "echo shared > /data/file && echo nested > /sub/file"),
        )
    )
    assert (await pod.wait_exit(writer_id)).exit_code == 0, await pod.logs(writer_id)
    reader_id = await pod.run(
        pod.config(
            "reader",
            join_sandbox=sandbox.docker_name,
            mounts=(mount(scratch, "/data", read_only=True), mount(unsized, "/other")),
            entrypoint=(
                "sh",
                "-c",
                'cat /data/file /data/deep/er/file; df -k /data | tail -n 1; echo "other=$(df -k'
                ' /other | tail -n 1)"; touch /data/nope && echo writable || echo read-only',
            ),
        )
    )
    reader = await pod.wait_exit(reader_id)
    output = await pod.logs(reader_id)
    assert reader.exit_code == 0, output
    assert "shared\nnested\n" in output
    assert " 1024 " in output  # the 1 MiB tmpfs
    assert "other=tmpfs" in output
    assert "read-only" in output

    with pytest.raises(RuntimeFailure, match="in use"):
        await pod.runtime.remove_volume(scratch.docker_name)

    for container_id in (writer_id, reader_id, sandbox_id):
        await pod.runtime.remove_container(container_id)
    await pod.runtime.remove_volume(scratch.docker_name)
    await pod.runtime.remove_volume(scratch.docker_name)  # gone: fine
    await pod.runtime.remove_volume(unsized.docker_name)
    assert [v for v in await pod.runtime.list_volumes() if v.pod == pod.ref] == []


async def test_command_without_args_ignores_the_image_cmd(pod: PodHarness) -> None:
    # The demo image's CMD is ["sh"]: appended, it would print "hi sh".
    command_only = await pod.run(pod.config("command-only", entrypoint=("echo", "hi")))
    args_only = await pod.run(pod.config("args-only", command=("echo", "args")))
    both = await pod.run(pod.config("both", entrypoint=("echo",), command=("a", "b")))
    for container_id, expected in ((command_only, "hi\n"), (args_only, "args\n"), (both, "a b\n")):
        observed = await pod.wait_exit(container_id)
        assert observed.exit_code == 0
        assert await pod.logs(container_id) == expected
    observed = await pod.wait_exit(command_only)
    assert observed.image == BUSYBOX
    assert observed.image_id.startswith("sha256:")
    assert abs(observed.created_at - time.time()) < 60
    assert observed.started_at is not None
    assert observed.started_at >= observed.created_at


async def test_ensure_image_follows_the_pull_policy(pod: PodHarness) -> None:
    await pod.runtime.ensure_image(BUSYBOX, PullPolicy.NEVER)
    await pod.runtime.ensure_image(BUSYBOX, PullPolicy.IF_NOT_PRESENT)
    absent = f"localhost:5999/podyard-absent-{pod.short}:1"
    with pytest.raises(ImageNeverPull, match="not present with pull policy of Never"):
        await pod.runtime.ensure_image(absent, PullPolicy.NEVER)
    with pytest.raises(ImagePullFailed, match="failed to pull image localhost:5999/"):
        await pod.runtime.ensure_image(absent, PullPolicy.IF_NOT_PRESENT)
    with pytest.raises(ImagePullFailed):
        await pod.runtime.ensure_image(absent, PullPolicy.ALWAYS)
    assert await pod.runtime.prepare_pause_image(PAUSE) == PAUSE
