"""DockerRuntime's translations that need no engine: times, events, the create request body."""

from __future__ import annotations

from typing import Any

import pytest

from controller.config import RuntimeSettings
from controller.model import labels
from controller.model.errors import ConfigRefused
from controller.model.lifecycle import LifecycleHandler, handler_to_label
from controller.model.meta import NodeName, PodRef, PodUid
from controller.model.observed import ContainerIdentity, ContainerRole, RunState
from controller.model.plan import PROJECTED, ContainerConfig, MountSpec, PortBinding
from controller.model.pod import PortProtocol, PullPolicy
from controller.model.probes import ExecAction
from controller.runtime.docker.body import container_body
from controller.runtime.docker.events import container_event
from controller.runtime.docker.runtime import DockerRuntime, parse_docker_time, parse_docker_time_ns

REF = PodRef("ns", "web", PodUid("uid-1"))
IDENTITY = ContainerIdentity(REF, "app", ContainerRole.APP, 2, "h", "ph", 1_700_000_000.5)


def runtime() -> DockerRuntime:
    # No engine call happens in these tests: the aiodocker client is made on first use only.
    return DockerRuntime(NodeName("n1"), RuntimeSettings())


def config(**fields: Any) -> ContainerConfig:
    return ContainerConfig("podyard-web-app", IDENTITY, "img:1", PullPolicy.NEVER, **fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T12:01:11.034752426Z", 1795435271_034752426),
        ("2026-11-23T12:01:11Z", 1795435271_000000000),
        ("2026-11-23T13:01:11.5+01:00", 1795435271_500000000),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_docker_times(text: object, expected: int | None) -> None:
    assert parse_docker_time_ns(text) == expected
    seconds = parse_docker_time(text)
    assert (seconds is None) == (expected is None)
    if expected is not None:
        assert seconds == pytest.approx(expected / 1e9)


def test_observe_maps_state_and_drops_unlabelled() -> None:
    data = {
        "Id": "abc",
        "Name": "/podyard-web-app",
        "Created": "2026-11-23T12:01:10.5Z",
        "Image": "sha256:feed",
        "Config": {"Image": "img:1", "Labels": labels.identity_labels(IDENTITY)},
        "State": {
            "Status": "created",
            "ExitCode": 127,
            "Error": 'exec: "nope": executable file not found in $PATH',
            "OOMKilled": False,
            "StartedAt": "0001-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "NetworkSettings": {"IPAddress": "", "Networks": {"bridge": {"IPAddress": "172.17.0.5"}}},
    }
    observed = observe_(data)
    assert observed is not None
    assert observed.identity == IDENTITY
    assert (observed.docker_name, observed.state, observed.exit_code) == (
        "podyard-web-app",
        RunState.CREATED,
        127,
    )
    assert observed.failed_to_start
    assert (observed.started_at, observed.finished_at) == (None, None)
    assert observed.created_at == pytest.approx(1795435270.5)
    assert observed.ip == "172.17.0.5"
    assert (observed.image, observed.image_id) == ("img:1", "sha256:feed")

    running = observe_({**data, "State": {"Status": "paused", "ExitCode": 0}})
    assert running is not None
    assert running.state is RunState.RUNNING
    assert running.exit_code is None
    assert observe_({**data, "Config": {"Labels": {labels.POD_UID: "x"}}}) is None


def test_events_keep_container_actions_only() -> None:
    attributes = {**labels.identity_labels(IDENTITY), "exitCode": "3", "name": "podyard-web-app"}
    raw = {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": "abc", "Attributes": attributes},
        "time": "ignored",
        "timeNano": 1795435271_034752426,
    }
    event = container_event(raw, runtime().node)
    assert event is not None
    assert (event.container_id, event.action, event.pod, event.time_ns) == (
        "abc",
        "die",
        REF,
        1795435271_034752426,
    )
    assert container_event({**raw, "Action": "exec_start: sh"}, runtime().node) is None
    assert container_event({**raw, "Type": "network"}, runtime().node) is None
    bare = container_event({**raw, "Actor": {"ID": "abc"}}, runtime().node)
    assert bare is not None
    assert bare.pod is None


async def test_body_of_a_sandbox() -> None:
    body = await runtime()._container_body(
        config(
            hostname="web",
            env=(("A", "1"), ("B", "x=y")),
            ports=(
                PortBinding(80, 8080, "127.0.0.1"),
                PortBinding(80, 8081, "127.0.0.1"),
                PortBinding(53, 5353, "127.0.0.1", PortProtocol.UDP),
            ),
            mounts=(MountSpec("volume", "podyard-web-scratch", "/scratch"),),
        )
    )
    host = body["HostConfig"]
    assert body["Labels"] == labels.identity_labels(IDENTITY)
    assert body["Hostname"] == "web"
    assert body["Env"] == ["A=1", "B=x=y"]
    assert "Entrypoint" not in body
    assert "Cmd" not in body
    assert host["RestartPolicy"] == {"Name": "no"}
    assert host["IpcMode"] == "shareable"
    assert "NetworkMode" not in host
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert host["PortBindings"] == {
        "80/tcp": [
            {"HostIp": "127.0.0.1", "HostPort": "8080"},
            {"HostIp": "127.0.0.1", "HostPort": "8081"},
        ],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    }
    assert host["Mounts"] == [
        {"Type": "volume", "Source": "podyard-web-scratch", "Target": "/scratch", "ReadOnly": False}
    ]


async def test_body_of_a_joining_container() -> None:
    asked: list[tuple[int, MountSpec]] = []

    async def sub_path_source(_: ContainerConfig, index: int, mount: MountSpec) -> str:
        asked.append((index, mount))
        return "/podyard/subpaths/1"

    body = await container_body(
        config(
            join_sandbox="podyard-web-POD",
            share_pid=True,
            hostname="ignored",
            entrypoint=("run",),
            working_dir="/srv",
            mounts=(
                MountSpec("bind", "/host/data/", "/data", read_only=True),
                MountSpec("bind", "/host/data", "/logs", sub_path="logs/app"),
            ),
            memory_limit_bytes=64 << 20,
            cpu_limit_millis=5,
            cpu_request_millis=1,
        ),
        sub_path_source,
    )
    host = body["HostConfig"]
    assert [index for index, _ in asked] == [1]  # only the mount with a subPath
    assert "Hostname" not in body
    assert (body["Entrypoint"], body["Cmd"]) == (["run"], [])
    assert body["WorkingDir"] == "/srv"
    for mode in ("NetworkMode", "IpcMode", "PidMode"):
        assert host[mode] == "container:podyard-web-POD"
    assert host["Binds"] == ["/host/data:/data:ro", "/podyard/subpaths/1:/logs"]
    assert host["Memory"] == host["MemorySwap"] == 64 << 20
    assert (host["CpuPeriod"], host["CpuQuota"], host["CpuShares"]) == (100_000, 1_000, 2)


async def test_body_of_args_without_command_and_private_pid() -> None:
    body = await runtime()._container_body(
        config(join_sandbox="podyard-web-POD", entrypoint=(), command=("serve", "--port=80"))
    )
    assert "Entrypoint" not in body
    assert body["Cmd"] == ["serve", "--port=80"]
    assert "PidMode" not in body["HostConfig"]


@pytest.mark.parametrize("sub_path", ["/etc", "../other", "a/../b", "a/../../b"])
async def test_sub_path_must_stay_inside(sub_path: str) -> None:
    mount = MountSpec("bind", "/host", "/data", sub_path=sub_path, volume_name="data")
    with pytest.raises(ConfigRefused) as refused:
        await runtime()._container_body(config(mounts=(mount,)))
    assert str(refused.value).startswith(
        'failed to prepare subPath for volumeMount "data" of container "app": '
        f'path "{sub_path}" must'
    )


async def test_sub_path_naming_the_whole_volume_is_the_volume() -> None:
    mount = MountSpec("volume", "podyard-web-scratch", "/data", sub_path="./")
    body = await runtime()._container_body(config(mounts=(mount,)))
    assert body["HostConfig"]["Mounts"][0]["Source"] == "podyard-web-scratch"


async def test_sub_path_on_a_remote_engine_is_refused() -> None:
    remote = DockerRuntime(NodeName("n1"), RuntimeSettings(), "tcp://127.0.0.1:1")
    mount = MountSpec("volume", "podyard-web-scratch", "/data", sub_path="x", volume_name="data")
    try:
        with pytest.raises(ConfigRefused, match="subPath needs the Docker engine on Podyard's own"):
            await remote._container_body(config(mounts=(mount,)))
    finally:
        await remote.close()


def observe_(data: dict[str, object]):  # type: ignore[no-untyped-def]
    from controller.runtime.docker.json import observe

    return observe(data, runtime().node)


def test_observe_reads_the_pre_stop_label() -> None:
    handler = LifecycleHandler(exec=ExecAction(("sh", "-c", "drain")))
    hooked = {**labels.identity_labels(IDENTITY), labels.PRE_STOP: handler_to_label(handler)}
    base = {"Id": "abc", "Name": "/x", "State": {"Status": "running"}}
    observed = observe_({**base, "Config": {"Labels": hooked}})
    assert observed is not None
    assert observed.pre_stop == handler
    broken = {**hooked, labels.PRE_STOP: "{not json"}
    tolerant = observe_({**base, "Config": {"Labels": broken}})
    assert tolerant is not None  # a malformed hook label is no hook, the container still ours
    assert tolerant.pre_stop is None


async def test_config_volumes_on_a_remote_engine_are_refused() -> None:
    remote = DockerRuntime(NodeName("n1"), RuntimeSettings(), "tcp://127.0.0.1:1")
    mount = MountSpec(PROJECTED, "uid/cfg", "/etc/cfg", read_only=True, volume_name="cfg")
    try:
        with pytest.raises(
            ConfigRefused,
            match="a configMap or secret volume needs the Docker engine on Podyard's own host",
        ):
            await remote._container_body(config(mounts=(mount,)))
    finally:
        await remote.close()
