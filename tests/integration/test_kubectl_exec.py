"""`kubectl exec` and `kubectl cp` against a real controller and engine, and the official Python
client's `stream` on the same WebSocket."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import ControllerProcess, eventually
from tests.integration.kubectl import KUBECTL
from tests.integration.manifests import IDLE, pod_yaml, write

pytestmark = pytest.mark.kubectl

STOPPED = f"""apiVersion: v1
kind: Pod
metadata:
  name: stopped
spec:
  restartPolicy: Never
  containers:
    - name: idle
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "{IDLE}"]
    - name: done
      image: {DEMO_IMAGE}
      command: ["true"]
"""

TICKER = f"""apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  containers:
    - name: tick
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
"""


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "one.yaml", pod_yaml("one", 1))
    write(folder, "two.yaml", pod_yaml("two", 2))
    write(folder, "stopped.yaml", STOPPED)
    write(folder, "ticker.yaml", TICKER)
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def _ready(c: ControllerProcess) -> bool:
    """one and two Running; stopped's `done` has exited (its `idle` runs on)."""
    if not c.ready():
        return False
    pods = {p["metadata"]["name"]: p for p in c.get("/api/v1/namespaces/default/pods")["items"]}
    names = ("one", "two", "ticker")
    if any(pods.get(n, {}).get("status", {}).get("phase") != "Running" for n in names):
        return False
    statuses = pods.get("stopped", {}).get("status", {}).get("containerStatuses", [])
    return any(s["name"] == "done" and "terminated" in s.get("state", {}) for s in statuses)


async def kubectl(
    server: str, *args: str, stdin: bytes | None = None, timeout: float = 30
) -> tuple[int, str, str]:
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "-s",
        server,
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(stdin)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"kubectl {' '.join(args)} did not end in {timeout}s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_kubectl_exec_and_cp(controller: ControllerProcess, tmp_path: Path) -> None:
    await eventually(lambda: _ready(controller), timeout=60, what="the pods running")
    server = controller.server

    code, out, err = await kubectl(
        server, "exec", "one", "--", "sh", "-c", "echo $HOSTNAME; exit 3"
    )
    assert (code, out) == (3, "one\n"), err
    assert "command terminated with exit code 3" in err

    code, out, err = await kubectl(
        server, "exec", "one", "--", "sh", "-c", "echo out; echo err >&2"
    )
    assert (code, out, err) == (0, "out\n", "err\n")

    code, out, err = await kubectl(server, "exec", "-i", "one", "--", "cat", stdin=b"hi\nthere\n")
    assert (code, out) == (0, "hi\nthere\n"), err

    code, out, err = await kubectl(
        server, "exec", "two", "-c", "c1", "--", "sh", "-c", "echo $0 >/mark; cat /mark"
    )
    assert (code, out) == (0, "sh\n"), err
    code, out, err = await kubectl(server, "exec", "two", "-c", "c0", "--", "cat", "/mark")
    assert code == 1, "c0 has a file system of its own: c1's file is not there"

    # refusals, in the words kubectl prints for a real cluster
    code, _, err = await kubectl(server, "exec", "nosuch", "--", "true")
    assert code == 1
    assert 'Error from server (NotFound): pods "nosuch" not found' in err
    code, _, err = await kubectl(server, "exec", "two", "-c", "nope", "--", "true")
    assert code == 1
    assert "container nope is not valid for pod two" in err
    code, _, err = await kubectl(server, "exec", "stopped", "-c", "done", "--", "true")
    assert code == 1
    assert 'unable to upgrade connection: container not found ("done")' in err

    # kubectl cp: out of the pod (tar cf - through exec) and into it (tar xf - with stdin)
    local = tmp_path / "hello.txt"
    local.write_text("hello from the host\n")
    code, _, err = await kubectl(server, "cp", str(local), "one:/hello.txt")
    assert code == 0, err
    code, out, err = await kubectl(server, "exec", "one", "--", "cat", "/hello.txt")
    assert (code, out) == (0, "hello from the host\n"), err
    back = tmp_path / "back.txt"
    code, _, err = await kubectl(server, "cp", "one:/hello.txt", str(back))
    assert code == 0, err
    assert back.read_text() == "hello from the host\n"


async def test_kubectl_attach_streams_the_main_process_output(
    controller: ControllerProcess,
) -> None:
    await eventually(lambda: _ready(controller), timeout=60, what="the pods running")
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "-s",
        controller.server,
        "attach",
        "ticker",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            while len(lines) < 3:
                raw = await proc.stdout.readline()
                assert raw, f"kubectl attach ended: {lines}"
                lines.append(raw.decode().strip())
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    numbers = [int(line.split()[1]) for line in lines]
    assert all(line.startswith("tick ") for line in lines), lines
    assert numbers == list(range(numbers[0], numbers[0] + 3)), "live lines, in order, none lost"


def run_in_terminal(server: str, script: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """`kubectl exec -it one -- sh` on a pseudo-terminal fed `script`: (exit code, what it showed)."""
    assert KUBECTL is not None
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [KUBECTL, "-s", server, "exec", "-it", "one", "--", "sh"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        os.write(master, script)
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    shown += os.read(master, 4096)
                except OSError:  # the terminal closed with kubectl
                    break
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, bytes(shown)


async def test_kubectl_exec_on_a_terminal(controller: ControllerProcess) -> None:
    await eventually(lambda: _ready(controller), timeout=60, what="the pods running")
    script = b"tty; echo answer=$((6*7)); exit 4\n"
    code, shown = await asyncio.to_thread(run_in_terminal, controller.server, script)
    assert code == 4, shown
    assert b"answer=42" in shown
    assert b"/dev/pts/" in shown, "the command runs on a terminal of its own"


async def test_python_client_stream_reads_output_and_exit_code(
    controller: ControllerProcess,
) -> None:
    from kubernetes import client
    from kubernetes.stream import stream

    await eventually(lambda: _ready(controller), timeout=60, what="the pods running")
    config = client.Configuration(host=controller.server)
    api = client.CoreV1Api(client.ApiClient(config))

    def run(command: list[str]) -> tuple[str, str, int | None]:
        ws = stream(
            api.connect_get_namespaced_pod_exec,
            "two",
            "default",
            container="c1",
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        ws.run_forever(timeout=20)
        out, err = ws.read_stdout(timeout=5), ws.read_stderr(timeout=5)
        code = ws.returncode
        ws.close()
        ws.sock.shutdown()  # the client leaves its socket open after the server's close frame
        return out, err, code

    out, err, code = await asyncio.to_thread(
        run, ["sh", "-c", "echo $HOSTNAME; echo e >&2; exit 5"]
    )
    assert (out, err, code) == ("two\n", "e\n", 5)
    out, _, code = await asyncio.to_thread(run, ["echo", "fine"])
    assert (out, code) == ("fine\n", 0)

    def with_stdin() -> tuple[str, int | None]:
        ws = stream(
            api.connect_get_namespaced_pod_exec,
            "one",
            "default",
            command=["head", "-n", "1"],
            stderr=True,
            stdin=True,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        ws.write_stdin("typed\n")  # v4 cannot close stdin: head ends on its first line
        ws.run_forever(timeout=20)
        out, code = ws.read_stdout(timeout=5), ws.returncode
        ws.close()
        ws.sock.shutdown()
        return out, code

    assert await asyncio.to_thread(with_stdin) == ("typed\n", 0)
