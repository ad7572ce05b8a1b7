"""The fault proxy itself, driven by the docker CLI: it passes what it should, faults what it says.

The socket-fault case trusts the proxy to be transparent except where it injects a fault; these
checks keep it honest: plain calls, request bodies and hijacked streams (``docker run`` attaches,
``docker exec`` upgrades) pass through byte for byte, and each kind of fault does what its name
says, seen from the client and from the engine.
"""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

import pytest

from tests.faults.proxy import Fault, FaultPlan, FaultProxy
from tests.integration.dockerd import DEMO_IMAGE, PrivateDockerd
from tests.integration.harness import docker_cli


def _proxy(
    engine: PrivateDockerd,
    tmp_path: Path,
    *,
    error_rate: float = 0.0,
    reset_rate: float = 0.0,
    delay_rate: float = 0.0,
) -> FaultProxy:
    """A proxy with only the given faults (none by default) and no stalled event stream."""
    plan = FaultPlan(
        random.Random(1),
        error_rate=error_rate,
        reset_rate=reset_rate,
        delay_rate=delay_rate,
        stalled_event_streams=0,
    )
    return FaultProxy(tmp_path / "proxy.sock", engine.socket_path, plan)


def test_calls_bodies_and_hijacked_streams_pass_through(
    private_dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    with _proxy(private_dockerd, tmp_path) as proxy:
        host = proxy.docker_host
        # `run` without -d attaches (a hijacked stream) and sends a JSON body to create.
        out = docker_cli(host, "run", "--name", "podyard-test-attach", DEMO_IMAGE, "echo", "hello")
        assert out.strip() == "hello"
        cid = docker_cli(
            host, "run", "-d", "--name", "podyard-test-exec", DEMO_IMAGE, "sleep", "60"
        ).strip()
        # exec upgrades the connection; stdin and stdout both cross the proxy.
        assert docker_cli(host, "exec", cid, "sh", "-c", "echo $((6*7))").strip() == "42"
        names = docker_cli(host, "ps", "-a", "--format", "{{.Names}}").split()
        assert {"podyard-test-attach", "podyard-test-exec"} <= set(names)
        docker_cli(host, "rm", "-f", cid)
    assert proxy.counts[Fault.HIJACK] >= 2
    assert proxy.counts[Fault.PASS] > 5
    assert set(proxy.counts) <= {Fault.PASS, Fault.HIJACK}


def test_errors_are_http_500_from_the_proxy(
    private_dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    with (
        _proxy(private_dockerd, tmp_path, error_rate=1.0) as proxy,
        pytest.raises(AssertionError, match="injected fault"),
    ):
        docker_cli(proxy.docker_host, "ps")
    assert proxy.counts[Fault.ERROR] >= 1


def _raw_create(socket_path: Path, name: str, *, chunked: bool) -> bytes:
    """POST /containers/create by hand (Content-Length or chunked body); the raw answer."""
    body = json.dumps({"Image": DEMO_IMAGE, "Cmd": ["true"]}).encode()
    if chunked:
        framing = b"Transfer-Encoding: chunked\r\n"
        half = len(body) // 2
        payload = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:])
        )
        payload += b"0\r\n\r\n"
    else:
        framing, payload = b"Content-Length: %d\r\n" % len(body), body
    request = (
        b"POST /v1.41/containers/create?name=%s HTTP/1.1\r\nHost: docker\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n%s\r\n" % (name.encode(), framing)
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(socket_path))
        sock.sendall(request + payload)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_request_bodies_pass_with_either_framing(
    private_dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    with _proxy(private_dockerd, tmp_path) as proxy:
        for name, chunked in (("podyard-test-length", False), ("podyard-test-chunked", True)):
            answer = _raw_create(proxy.socket_path, name, chunked=chunked)
            assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    names = docker_cli(private_dockerd.docker_host, "ps", "-a", "--format", "{{.Names}}").split()
    assert {"podyard-test-length", "podyard-test-chunked"} <= set(names)


def test_a_lost_answer_hides_what_the_engine_did(
    private_dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    with _proxy(private_dockerd, tmp_path, reset_rate=1.0) as proxy:
        proxy.plan.rng = _AlwaysAfter()  # every draw: reset after the engine acted
        answer = _raw_create(proxy.socket_path, "podyard-test-lost", chunked=False)
    assert answer == b"", "the caller must hear nothing"
    assert proxy.counts == {Fault.LOST: 1}
    names = docker_cli(private_dockerd.docker_host, "ps", "-a", "--format", "{{.Names}}").split()
    assert "podyard-test-lost" in names, "the engine acted on the request"


def test_delays_hold_each_request(private_dockerd: PrivateDockerd, tmp_path: Path) -> None:
    with _proxy(private_dockerd, tmp_path, delay_rate=1.0) as proxy:
        proxy.plan.delay_seconds = 0.5
        started = time.monotonic()
        docker_cli(proxy.docker_host, "ps")
        elapsed = time.monotonic() - started
    requests = proxy.counts[Fault.DELAY]
    assert requests >= 2  # the CLI pings, then lists
    assert elapsed >= 0.5 * requests


class _AlwaysAfter(random.Random):
    """Draws in the second half of the reset band (with a reset rate of 1): the answer is lost."""

    def random(self) -> float:
        return 0.75
