"""Fixtures for every test against the private Docker engine, registered for the whole suite.

Integration and fault tests share one private dockerd per session (see ``dockerd.py``): it is
started on first use, gets the two local images, and is removed at the end of the session, also
after a failure, Ctrl-C or SIGTERM (what a session killed harder leaves is cleaned up by the next
one). DOCKER_HOST is not exported: tests get the engine's address from the ``docker_host``
fixture and pass it on explicitly. ``tests/conftest.py`` registers this module as a plugin, so
the engine is started once however many folders use it; tests that never ask for it (unit and
engine tests) never start it.

Fixtures:

* ``private_dockerd`` (session): the :class:`PrivateDockerd` itself (``dir``, ``network``,
  ``bridge``, ``pid``, ``kill_engine()``, ``restart()``...).
* ``docker_host`` (session): its ``unix://...`` address, with the local images built in.
* ``docker`` (function, async): an ``aiodocker.Docker`` on it, closed after the test.
* ``controller`` (function, async): Podyard's engine in this process on it.
* ``node_engines`` (function): three more private engines, one per node of a multi-node test
  (``n1``, ``n2``, ``n3``), started on first use and kept for the session; after each test, an
  engine the test killed is started again and all three are cleaned.

Each folder that uses the engine cleans it after every test with an autouse fixture of its own
conftest (``clean_engine_after_test``), so a test never sees what the previous one left.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import aiodocker
import pytest

from controller.runtime.localimages import build_local_images_on
from tests.integration.dockerd import (
    EngineError,
    PrivateDockerd,
    ping,
    remove_test_objects,
    start_private_dockerd,
)
from tests.integration.harness import Controller, ControllerProcess

_TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        parts = ", ".join(f"{key} {value:.2f} s" for key, value in _TIMINGS.items())
        terminalreporter.write_line(f"private test engine: {parts}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def private_dockerd() -> Iterator[PrivateDockerd]:
    """One private engine for the session, with the local pause and demo images."""
    # A SIGTERM (CI cancelling the job) then tears down like Ctrl-C instead of leaving the
    # daemon running.
    catch_term = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    if catch_term:
        signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        engine = start_private_dockerd()
    except BaseException:
        if catch_term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise
    try:
        _TIMINGS["start"] = time.monotonic() - started
        started = time.monotonic()
        # Sync fixture + asyncio.run: pytest-asyncio's loops are function-scoped.
        asyncio.run(build_local_images_on(engine.docker_host, demo=True))
        _TIMINGS["images"] = time.monotonic() - started
        yield engine
    finally:
        if catch_term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        started = time.monotonic()
        engine.stop()
        _TIMINGS["stop"] = time.monotonic() - started


NODE_ENGINES = 3
"""Nodes of the multi-node tests: enough to show spreading and a failover with two left."""


@pytest.fixture(scope="session")
def _node_engines_session() -> Iterator[list[PrivateDockerd]]:
    started: list[PrivateDockerd] = []
    try:
        for _ in range(NODE_ENGINES):
            started.append(start_private_dockerd(name_prefix="n"))

        async def build_all() -> None:
            await asyncio.gather(
                *(build_local_images_on(e.docker_host, demo=True) for e in started)
            )

        began = time.monotonic()
        asyncio.run(build_all())
        _TIMINGS["node images"] = time.monotonic() - began
        yield started
    finally:
        for engine in started:
            engine.stop()


@pytest.fixture
def node_engines(_node_engines_session: list[PrivateDockerd]) -> Iterator[list[PrivateDockerd]]:
    """Three private engines for one multi-node test, each clean and answering when it starts
    and again after it (an engine the test killed or froze is started again)."""
    engines = _node_engines_session
    for engine in engines:
        clean_engine(engine.docker_host)
    yield engines
    for engine in engines:
        if engine.pid is None or not ping(engine.docker_host):
            engine.restart(kill_containers=True)
        clean_engine(engine.docker_host)


@pytest.fixture(scope="session")
def docker_host(private_dockerd: PrivateDockerd) -> str:
    """The private engine's address (``unix://...``); pass it explicitly, it is not exported."""
    return private_dockerd.docker_host


@pytest.fixture
async def docker(docker_host: str) -> AsyncIterator[aiodocker.Docker]:
    """An aiodocker client on the private engine."""
    client = aiodocker.Docker(url=docker_host)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def processes() -> Iterator[list[ControllerProcess]]:
    """`podyard run` processes a test starts; each is stopped after the test, pass or fail (one
    the test froze with SIGSTOP is woken first, or it could not stop)."""
    started: list[ControllerProcess] = []
    yield started
    for process in started:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.send_signal(signal.SIGCONT)
        process.stop()


@pytest.fixture
async def controller(docker_host: str) -> AsyncIterator[Controller]:
    """Podyard's engine in this process, on the private engine, with a shortened backoff."""
    c = Controller(docker_host)
    yield c
    await c.stop()


def clean_engine(docker_host: str, passes: int = 3) -> None:
    """Leave nothing of one test on the engine for the next (the conftests' autouse fixtures).

    A call a stopped controller sent just before it went may still be carried out by the engine
    after the containers were listed: a volume then stays in use by a container made since, and
    another pass removes that container too.
    """
    for attempt in range(1, passes + 1):
        try:
            remove_test_objects(docker_host, timeout=10.0 if attempt < passes else 30.0)
            return
        except EngineError as exc:
            if "in use" not in str(exc) or attempt == passes:
                raise
