"""DockerRuntime.run_probe against a real Docker engine: exec, HTTP GET and TCP probes.

Each test runs a pod (a pause sandbox and a busybox container serving `/www` with `httpd` on port
8080) on the tests' private engine and probes it. HTTP and TCP probes go to the pod's own IP on
that engine's bridge, nowhere else. A failed probe must be a result with a kubelet-style message,
never an exception; only an engine that cannot be reached raises.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import aiodocker
import attrs
import pytest

from controller.config import ImagePullSettings, RuntimeSettings
from controller.model.errors import EngineUnavailable
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid
from controller.model.observed import RunState
from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    HTTPHeader,
    PortRef,
    ProbeAction,
    ProbeResult,
    TCPSocketAction,
    URIScheme,
)
from controller.runtime.docker.probes import MAX_OUTPUT_BYTES
from controller.runtime.docker.runtime import DockerRuntime
from tests.integration.harness import eventually
from tests.integration.test_docker_runtime import BUSYBOX, SLEEPER, PodHarness

SERVED_PORT = 8080
CLOSED_PORT = 8081
SERVER_SCRIPT = (
    'trap "exit 0" TERM; mkdir -p /www/docs && echo ok > /www/healthz'
    f" && echo index > /www/docs/index.html && httpd -f -p {SERVED_PORT} -h /www & wait"
)


@attrs.frozen
class WebPod:
    harness: PodHarness
    server: ContainerId
    ip: str

    async def probe(self, action: ProbeAction, timeout: float = 2.0) -> ProbeResult:
        return await self.harness.runtime.run_probe(self.server, self.ip, action, timeout)


@pytest.fixture
async def pod(docker_host: str, docker: aiodocker.Docker) -> AsyncIterator[PodHarness]:
    """A pod uid of its own; conftest removes its containers after the test."""
    uid = uuid.uuid4().hex
    runtime = DockerRuntime(
        NodeName("probes"),
        RuntimeSettings(call_timeout_seconds=20.0),
        docker_host,
        ImagePullSettings(pull_timeout_seconds=20.0),
    )
    try:
        yield PodHarness(runtime, docker, uid, PodRef("it", f"pod-{uid[:8]}", PodUid(uid)))
    finally:
        await runtime.close()


@pytest.fixture
async def web(pod: PodHarness) -> WebPod:
    """The pod with its server answering on the pod IP (checked with a TCP probe)."""
    sandbox = pod.sandbox_config()
    sandbox_id = await pod.run(sandbox)
    server = await pod.run(
        pod.config(
            "server", join_sandbox=sandbox.docker_name, entrypoint=("sh", "-c", SERVER_SCRIPT)
        )
    )
    observed = await pod.wait_running(sandbox_id)
    assert observed.ip, f"the sandbox has no IP: {observed}"
    web = WebPod(pod, server, observed.ip)
    tcp = TCPSocketAction(PortRef(SERVED_PORT))
    await eventually(lambda: _succeeds(web, tcp), timeout=10, interval=0.05, what="httpd listening")
    return web


async def _succeeds(web: WebPod, action: ProbeAction) -> bool:
    return (await web.probe(action)).success


# -- exec -------------------------------------------------------------------------------------------


async def test_exec_exit_zero_is_success_with_output(web: WebPod) -> None:
    result = await web.probe(ExecAction(("sh", "-c", "echo healthy; echo note >&2")))
    assert result.success
    assert "healthy" in result.message
    assert "note" in result.message


async def test_exec_non_zero_exit_fails_with_output(web: WebPod) -> None:
    result = await web.probe(ExecAction(("sh", "-c", "echo not ready yet >&2; exit 3")))
    assert result == ProbeResult(False, "not ready yet")


async def test_exec_without_output_names_the_exit_code(web: WebPod) -> None:
    result = await web.probe(ExecAction(("false",)))
    assert result == ProbeResult(False, 'command "false" exited with 1')


async def test_exec_output_is_bounded(web: WebPod) -> None:
    result = await web.probe(ExecAction(("sh", "-c", "yes xxxxxxx | head -c 200000; exit 1")))
    assert not result.success
    assert result.message.startswith("xxxxxxx")
    assert len(result.message.encode()) <= MAX_OUTPUT_BYTES


async def test_exec_of_a_missing_command_fails(web: WebPod) -> None:
    result = await web.probe(ExecAction(("no-such-command",)))
    assert not result.success
    assert "no-such-command" in result.message


async def test_exec_timeout_fails_within_the_timeout(web: WebPod) -> None:
    started = time.monotonic()
    result = await web.probe(ExecAction(("sleep", "5")), timeout=1.0)
    elapsed = time.monotonic() - started
    assert result == ProbeResult(False, 'command "sleep 5" timed out')
    assert 1.0 <= elapsed < 1.5


# -- http_get -----------------------------------------------------------------------------------


async def test_http_get_200_is_success(web: WebPod) -> None:
    action = HTTPGetAction(
        PortRef(SERVED_PORT), path="/healthz", http_headers=(HTTPHeader("X-Probe", "1"),)
    )
    assert await web.probe(action) == ProbeResult(True)


async def test_http_get_redirect_is_success_and_not_followed(web: WebPod) -> None:
    # busybox httpd redirects a directory without its trailing slash.
    result = await web.probe(HTTPGetAction(PortRef(SERVED_PORT), path="/docs"))
    assert result.success
    assert result.message.startswith("Probe terminated redirects")


async def test_http_get_404_fails_with_the_status(web: WebPod) -> None:
    result = await web.probe(HTTPGetAction(PortRef(SERVED_PORT), path="/missing"))
    assert result == ProbeResult(False, "HTTP probe failed with statuscode: 404")


async def test_http_get_to_a_closed_port_fails_as_refused(web: WebPod) -> None:
    result = await web.probe(HTTPGetAction(PortRef(CLOSED_PORT), path="/healthz"))
    address = f"{web.ip}:{CLOSED_PORT}"
    assert result == ProbeResult(
        False,
        f'Get "http://{address}/healthz": dial tcp {address}: connect: connection refused',
    )


async def test_https_to_a_plain_http_port_fails_with_a_message(web: WebPod) -> None:
    action = HTTPGetAction(PortRef(SERVED_PORT), path="/healthz", scheme=URIScheme.HTTPS)
    result = await web.probe(action)
    assert result == ProbeResult(
        False,
        f'Get "https://{web.ip}:{SERVED_PORT}/healthz": '
        "http: server gave HTTP response to HTTPS client",
    )


# -- tcp_socket ---------------------------------------------------------------------------------


async def test_tcp_socket_to_an_open_port_is_success(web: WebPod) -> None:
    assert await web.probe(TCPSocketAction(PortRef(SERVED_PORT))) == ProbeResult(True)


async def test_tcp_socket_to_a_closed_port_fails_as_refused(web: WebPod) -> None:
    result = await web.probe(TCPSocketAction(PortRef(CLOSED_PORT)))
    assert result == ProbeResult(
        False, f"dial tcp {web.ip}:{CLOSED_PORT}: connect: connection refused"
    )


# -- containers that may not be probed ------------------------------------------------------------


async def test_a_stopped_container_fails_every_probe(web: WebPod) -> None:
    await web.harness.runtime.stop_container(web.server, 1)
    await web.harness.wait_for(web.server, lambda o: o.state is not RunState.RUNNING)
    for action in (
        ExecAction(("true",)),
        HTTPGetAction(PortRef(SERVED_PORT), path="/healthz"),
        TCPSocketAction(PortRef(SERVED_PORT)),
    ):
        result = await web.probe(action)
        assert not result.success
        assert "is not running" in result.message


async def test_a_container_without_podyards_labels_is_not_probed(pod: PodHarness) -> None:
    bare = await pod.docker.containers.create(
        {"Image": BUSYBOX, "Entrypoint": list(SLEEPER)},
        name=f"podyard-test-unlabelled-{pod.short}-probed",
    )
    await bare.start()
    result = await pod.runtime.run_probe(
        ContainerId(bare.id), "", ExecAction(("touch", "/probed")), 2.0
    )
    assert not result.success
    assert "not managed by Podyard" in result.message
    # The command never ran inside it.
    check = await bare.exec(["test", "-e", "/probed"])
    async with check.start(detach=False) as stream:
        while await stream.read_out() is not None:
            pass
    assert (await check.inspect())["ExitCode"] == 1


async def test_a_missing_container_fails_the_probe(pod: PodHarness) -> None:
    result = await pod.runtime.run_probe(ContainerId("0" * 64), "", ExecAction(("true",)), 2.0)
    assert not result.success
    assert "not found" in result.message


async def test_an_unreachable_engine_raises(tmp_path: str) -> None:
    runtime = DockerRuntime(
        NodeName("gone"),
        RuntimeSettings(call_timeout_seconds=2.0),
        f"unix://{tmp_path}/no-engine.sock",
    )
    try:
        with pytest.raises(EngineUnavailable):
            await runtime.run_probe(ContainerId("abc"), "", ExecAction(("true",)), 1.0)
    finally:
        await runtime.close()
