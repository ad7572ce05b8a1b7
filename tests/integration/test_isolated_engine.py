"""The private test engine: separate from the default one, and its networking works.

Busybox notes: Debian's static busybox 1.35 ``wget`` crashes (SIGSEGV) with ``-T``; deadlines
inside containers use the ``timeout`` applet instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiodocker
from aiodocker.containers import DockerContainer

from tests.integration.dockerd import (
    DEMO_IMAGE,
    LEASE_LABEL,
    PAUSE_IMAGE,
    POD_LABEL,
    EngineError,
    PrivateDockerd,
    engine_request,
    remove_test_objects,
)

DEFAULT_SOCKET = "/var/run/docker.sock"

# Serve one file from /www with busybox httpd in the foreground.
HTTPD = "mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p {listen} -h /www"
# Fetch a URL until it answers (at most ~10 s), then print the body.
FETCH = (
    "i=0; while [ $i -lt 100 ]; do "
    "timeout 2 wget -q -O - {url} && exit 0; i=$((i+1)); sleep 0.1; "
    "done; exit 1"
)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(
    docker: aiodocker.Docker,
    name: str,
    cmd: str,
    image: str = DEMO_IMAGE,
    extra: dict[str, Any] | None = None,
    **host: Any,
) -> DockerContainer:
    """Create and start a container (never pulls: the images are local)."""
    config: dict[str, Any] = {"Image": image, "HostConfig": host, **(extra or {})}
    if cmd:
        config["Cmd"] = ["sh", "-c", cmd]
    container = await docker.containers.create(config, name=name)
    await container.start()
    return container


async def finish(container: DockerContainer, within: float = 30.0) -> tuple[int, str]:
    """Wait for a container to exit; its exit code and output."""
    async with asyncio.timeout(within):
        result = await container.wait()
    lines = await container.log(stdout=True, stderr=True)
    return int(result["StatusCode"]), "".join(lines)


def default_engine_info() -> dict[str, Any] | None:
    """``GET /info`` of the default engine (read-only), or None when none answers."""
    if not os.path.exists(DEFAULT_SOCKET):
        return None
    try:
        info: dict[str, Any] = engine_request(f"unix://{DEFAULT_SOCKET}", "GET", "/info", timeout=5)
    except EngineError:
        return None
    return info


def http_get_until(url: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise AssertionError(f"no HTTP answer from {url} within {timeout} s") from exc
            time.sleep(0.1)


async def test_private_engine_is_not_the_default(
    docker: aiodocker.Docker, private_dockerd: PrivateDockerd
) -> None:
    info = await docker.system.info()
    assert Path(info["DockerRootDir"]).is_relative_to(private_dockerd.dir)
    bridge = await (await docker.networks.get("bridge")).show()
    subnets = [ipaddress.ip_network(c["Subnet"]) for c in bridge["IPAM"]["Config"]]
    assert subnets == [private_dockerd.network]
    default = await asyncio.to_thread(default_engine_info)
    if default is not None:  # else no default engine answers: nothing to tell apart
        assert default["ID"] != info["ID"]
        assert default["DockerRootDir"] != info["DockerRootDir"]


async def test_published_loopback_port_answers_from_the_host(docker: aiodocker.Docker) -> None:
    port = free_loopback_port()
    await start(
        docker,
        "podyard-test-web",
        HTTPD.format(body="hello-from-private-engine", listen=8080),
        # Without ExposedPorts the API silently publishes nothing.
        extra={"ExposedPorts": {"8080/tcp": {}}},
        PortBindings={"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]},
    )
    body = await asyncio.to_thread(http_get_until, f"http://127.0.0.1:{port}/")
    assert body.strip() == "hello-from-private-engine"


async def test_containers_on_the_private_bridge_reach_each_other(
    docker: aiodocker.Docker, private_dockerd: PrivateDockerd
) -> None:
    server = await start(docker, "podyard-test-server", HTTPD.format(body="peer", listen=8080))
    ip = (await server.show())["NetworkSettings"]["IPAddress"]
    assert ipaddress.ip_address(ip) in private_dockerd.network
    client = await start(docker, "podyard-test-client", FETCH.format(url=f"http://{ip}:8080/"))
    code, output = await finish(client)
    assert (code, output.strip()) == (0, "peer")


async def test_container_network_mode_shares_localhost(docker: aiodocker.Docker) -> None:
    sandbox = await start(docker, "podyard-test-sandbox", "", image=PAUSE_IMAGE)
    joined = f"container:{sandbox.id}"
    await start(
        docker,
        "podyard-test-app",
        HTTPD.format(body="same-localhost", listen="127.0.0.1:8081"),
        NetworkMode=joined,
    )
    sidecar = await start(
        docker,
        "podyard-test-sidecar",
        FETCH.format(url="http://127.0.0.1:8081/"),
        NetworkMode=joined,
    )
    code, output = await finish(sidecar)
    assert (code, output.strip()) == (0, "same-localhost")


async def test_cleanup_removes_labelled_and_test_objects(
    docker: aiodocker.Docker, docker_host: str
) -> None:
    volumes: Any = docker.volumes  # aiodocker's volume API is unannotated
    volume = await volumes.create({"Name": "podyard-it-vol", "Labels": {POD_LABEL: "u1"}})
    labelled = await docker.containers.create(
        {"Image": PAUSE_IMAGE, "Labels": {POD_LABEL: "u1"}}, name="some-pod-sandbox"
    )
    await labelled.start()
    await docker.containers.create(
        {"Image": PAUSE_IMAGE, "Labels": {LEASE_LABEL: "1"}}, name="podyard-lease"
    )
    await docker.containers.create({"Image": PAUSE_IMAGE}, name="podyard-test-leftover")
    other = await docker.containers.create({"Image": PAUSE_IMAGE}, name="not-a-test-container")
    try:
        removed = await asyncio.to_thread(remove_test_objects, docker_host)
        assert sorted(removed) == [
            "podyard-lease",
            "podyard-test-leftover",
            "some-pod-sandbox",
            f"volume {volume.name}",
        ]
        names = {c["Names"][0] for c in await docker.containers.list(all=True)}
        assert names == {"/not-a-test-container"}
        assert (await volumes.list())["Volumes"] in (None, [])
    finally:
        await other.delete(force=True)
