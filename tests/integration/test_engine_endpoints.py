"""Engines at `tcp://` with TLS client certificates and at `ssh://`, for real, on loopback.

TLS: a private dockerd with `--tlsverify` on `tcp://127.0.0.1:<port>`, certificates made by
openssl in the test. ssh: a stand-in `ssh` first on PATH that checks its arguments and runs
`docker system dial-stdio` against a private engine, the contract the docker CLI relies on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiodocker
import pytest

from controller.config import RuntimeSettings, TlsSettings
from controller.model.errors import EngineUnavailable
from controller.model.meta import NodeName
from controller.runtime.docker.runtime import DockerRuntime
from controller.runtime.localimages import build_local_images_on
from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import pod_yaml, write
from tests.integration.remote_engines import (
    SSH_ADDRESS,
    Certificates,
    install_fake_ssh,
    make_certificates,
    pids_in,
    start_tls_dockerd,
)
from tests.integration.test_kubectl_watch import KUBECTL

SETTINGS = RuntimeSettings(call_timeout_seconds=10)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_engine(certificates: Certificates) -> Iterator[tuple[PrivateDockerd, str]]:
    engine, address = start_tls_dockerd(certificates)
    try:
        asyncio.run(build_local_images_on(engine.docker_host, demo=True))
        yield engine, address
    finally:
        engine.stop()


async def _engine_id(docker_host: str) -> str:
    async with aiodocker.Docker(url=docker_host) as docker:
        return str((await docker.system.info())["ID"])


@pytest.fixture
async def fake_ssh(
    node_engines: list[PrivateDockerd], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Path]:
    """The stand-in ssh first on PATH, bridging to the first node engine; bridges' sockets go
    to a folder of this test's own, checked empty afterwards. Yields the pid log."""
    log = install_fake_ssh(tmp_path / "bin", node_engines[0].docker_host)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("FAKE_SSH_MODE", raising=False)
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sockets))
    yield log
    assert list(sockets.iterdir()) == [], "an ssh bridge left its socket behind"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_tls_engine_is_reached_with_client_certificates(
    tls_engine: tuple[PrivateDockerd, str], certificates: Certificates
) -> None:
    engine, address = tls_engine
    runtime = DockerRuntime(NodeName("tls"), SETTINGS, address, tls=certificates.tls)
    try:
        await runtime.ping()
        capacity = await runtime.capacity()
        assert capacity.engine is not None
        assert capacity.engine.engine_id == await _engine_id(engine.docker_host)
        assert capacity.cpu_cores >= 1
        assert await runtime.list_containers() == []
    finally:
        await runtime.close()


REFUSED_BY_ENGINE = "BAD_CERTIFICATE|UNKNOWN_CA|Connection reset"


@pytest.mark.parametrize(
    ("which", "why"),
    [
        ("stranger", "CERTIFICATE_VERIFY_FAILED"),
        ("no-client-certificate", REFUSED_BY_ENGINE),
        ("unverified-stranger", REFUSED_BY_ENGINE),
    ],
)
async def test_a_tls_engine_refuses_and_is_refused_by_strangers(
    tls_engine: tuple[PrivateDockerd, str], certificates: Certificates, which: str, why: str
) -> None:
    """The engine's certificate is checked against our CA, ours against its CA: a client of
    another CA fails either way, and so does a client without a certificate."""
    _, address = tls_engine
    tls = {
        "stranger": certificates.stranger,
        "no-client-certificate": TlsSettings(certificates.tls.ca_file),
        "unverified-stranger": TlsSettings(
            None, certificates.stranger.cert_file, certificates.stranger.key_file, verify=False
        ),
    }[which]
    runtime = DockerRuntime(NodeName("tls"), SETTINGS, address, tls=tls)
    try:
        began = time.monotonic()
        with pytest.raises(EngineUnavailable, match=why):
            await runtime.ping()
        assert time.monotonic() - began < 5
    finally:
        await runtime.close()


async def test_an_ssh_engine_is_reached_as_the_docker_cli_reaches_it(
    fake_ssh: Path, node_engines: list[PrivateDockerd]
) -> None:
    runtime = DockerRuntime(NodeName("far"), SETTINGS, SSH_ADDRESS)
    try:
        await runtime.ping()
        capacity = await runtime.capacity()
        assert capacity.engine is not None
        assert capacity.engine.engine_id == await _engine_id(node_engines[0].docker_host)
        assert await runtime.list_containers() == []
        assert pids_in(fake_ssh), "the calls went through ssh"
    finally:
        await runtime.close()
    for pid in pids_in(fake_ssh):
        await eventually(lambda pid=pid: _gone(pid), timeout=5, what=f"ssh {pid} ended")


async def test_an_ssh_that_fails_fails_the_call_with_its_words(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_MODE", "refuse")
    runtime = DockerRuntime(NodeName("far"), SETTINGS, SSH_ADDRESS)
    try:
        began = time.monotonic()
        with pytest.raises(EngineUnavailable, match="Connection refused"):
            await runtime.ping()
        assert time.monotonic() - began < 5  # at once, not at the 10 s deadline
    finally:
        await runtime.close()


async def test_an_ssh_that_hangs_fails_the_call_at_its_deadline_and_is_ended(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_MODE", "hang")
    runtime = DockerRuntime(NodeName("far"), RuntimeSettings(call_timeout_seconds=1), SSH_ADDRESS)
    try:
        began = time.monotonic()
        with pytest.raises(EngineUnavailable, match="did not answer within 1 s"):
            await runtime.ping()
        assert time.monotonic() - began < 3
        (pid,) = pids_in(fake_ssh)
        assert not _gone(pid)
    finally:
        await runtime.close()
    assert _gone(pid), "close ends the ssh processes it started"


def _placed(c: ControllerProcess) -> dict[str, str] | None:
    """Each Running pod's node, once both pods run."""
    try:
        pods = c.get("/api/v1/pods")["items"]
    except OSError:
        return None
    placed = {
        p["metadata"]["name"]: p["spec"]["nodeName"]
        for p in pods
        if p["status"]["phase"] == "Running"
    }
    return placed if len(placed) == 2 else None


async def _labelled(docker_host: str, label: str) -> list[dict[str, str]]:
    async with aiodocker.Docker(url=docker_host) as docker:
        found = await docker.containers.list(all=True, filters={"label": [label]})
        return [dict(c["Labels"]) for c in found]


async def test_podyard_runs_on_an_ssh_node_and_a_tls_node(
    fake_ssh: Path,
    tls_engine: tuple[PrivateDockerd, str],
    certificates: Certificates,
    node_engines: list[PrivateDockerd],
    tmp_path: Path,
    processes: list[ControllerProcess],
) -> None:
    engine, address = tls_engine
    tls = certificates.tls
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(
        f"""nodes:
- name: far
  dockerHost: {SSH_ADDRESS}
- name: secure
  dockerHost: {address}
  tls: {{caFile: {tls.ca_file}, certFile: {tls.cert_file}, keyFile: {tls.key_file}}}
"""
    )
    folder = tmp_path / "manifests"
    write(folder, "a.yaml", pod_yaml("a", 1))
    write(folder, "b.yaml", pod_yaml("b", 1))
    c = ControllerProcess(node_engines[0].docker_host, folder, tmp_path / "log", nodes=nodes)
    processes.append(c)
    try:
        c.start()
        placed = await eventually(lambda: _placed(c), timeout=90, what="both pods Running")
        hosts = {"far": node_engines[0].docker_host, "secure": engine.docker_host}
        for pod, node in placed.items():  # made through ssh or TLS, found on the engine itself
            there = await _labelled(hosts[node], f"io.podyard.pod.name={pod}")
            assert len(there) == 2, (pod, node)  # the sandbox and c0
        for docker_host in hosts.values():  # each engine's lease was taken through its endpoint
            assert await _labelled(docker_host, "io.podyard.lease")
        if KUBECTL is not None:
            listed = await asyncio.to_thread(
                lambda: subprocess.run(
                    [KUBECTL, "-s", c.server, "get", "nodes", "--no-headers"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                )
            )
            assert [r.split()[:2] for r in listed.stdout.splitlines()] == [
                ["far", "Ready"],
                ["secure", "Ready"],
            ]
    finally:
        c.stop()
        for docker_host in (engine.docker_host,):
            async with aiodocker.Docker(url=docker_host) as docker:
                for container in await docker.containers.list(all=True):
                    await container.delete(force=True)
