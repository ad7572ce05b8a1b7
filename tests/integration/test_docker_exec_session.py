"""The Docker adapter's interactive exec and attach on a real engine: stdout and stderr apart,
stdin half-closed with the output still open, a terminal, the exit code, and the refusal of a
container that does not run."""

from __future__ import annotations

import pytest

from controller.model.errors import RuntimeFailure
from controller.model.execs import STDERR, STDOUT, ExecRequest, ExecSession
from tests.integration.test_docker_runtime import (
    SLEEPER,
    PodHarness,
    pod,  # noqa: F401 - the fixture, shared
)

pytestmark = pytest.mark.integration


async def drain(session: ExecSession) -> dict[int, bytes]:
    out: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
    while (chunk := await session.read()) is not None:
        out[chunk[0]] += chunk[1]
    return out


async def test_output_streams_stdin_half_close_and_exit_code(pod: PodHarness) -> None:  # noqa: F811 - the fixture
    cid = await pod.run(pod.config("app", command=SLEEPER))
    await pod.wait_running(cid)

    session = await pod.runtime.exec_session(
        cid, ExecRequest(("sh", "-c", "echo out; echo err >&2; exit 7"))
    )
    try:
        assert await drain(session) == {STDOUT: b"out\n", STDERR: b"err\n"}
        assert await session.exit_code() == 7
    finally:
        await session.close()

    session = await pod.runtime.exec_session(cid, ExecRequest(("cat",), stdin=True))
    try:
        await session.write(b"hi\n")
        await session.close_stdin()  # cat ends; its output must still reach us
        assert await drain(session) == {STDOUT: b"hi\n", STDERR: b""}
        assert await session.exit_code() == 0
    finally:
        await session.close()

    session = await pod.runtime.exec_session(cid, ExecRequest(("tty",), tty=True))
    try:
        await session.resize(100, 30)
        shown = await drain(session)
        assert shown[STDOUT].startswith(b"/dev/pts/"), shown
        assert await session.exit_code() == 0
    finally:
        await session.close()


async def test_attach_and_a_container_not_running(pod: PodHarness) -> None:  # noqa: F811 - the fixture
    ticker = ("sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done")
    cid = await pod.run(pod.config("app", command=ticker))
    await pod.wait_running(cid)
    session = await pod.runtime.attach_session(cid, ExecRequest(()))
    try:
        chunk = await session.read()
        assert chunk is not None
        assert chunk[0] == STDOUT
        assert chunk[1].startswith(b"tick ")
    finally:
        await session.close()

    done = await pod.run(pod.config("done", command=("true",)))
    await pod.wait_exit(done)
    with pytest.raises(RuntimeFailure, match="is not running"):
        await pod.runtime.exec_session(done, ExecRequest(("true",)))
