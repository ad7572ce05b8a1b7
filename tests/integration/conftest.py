"""Integration tests run against a private Docker engine, never the user's default one.

A test controller reconciles every Podyard-labelled container on its engine, so a run against
the default engine could delete a user's pods. One private dockerd (see ``dockerd.py``) is
started for the whole session on first use, gets the two local images, and is removed at the
end of the session, also after a failure, Ctrl-C or SIGTERM (what a session killed harder
leaves is cleaned up by the next one). DOCKER_HOST is not exported: tests get the engine's
address from the ``docker_host`` fixture and pass it on explicitly.

Fixtures:

* ``private_dockerd`` (session): the :class:`PrivateDockerd` itself (``dir``, ``network``,
  ``bridge``, ``kill_engine()``, ``restart()``...).
* ``docker_host`` (session): its ``unix://...`` address, with the local images built in.
* ``docker`` (function, async): an ``aiodocker.Docker`` on it, closed after the test.
* ``_clean_engine`` (function, autouse): after each test, force-removes Podyard-labelled
  containers and volumes and ``podyard-test-*`` containers.

Every test under this folder is marked ``integration``.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import FrameType

import aiodocker
import pytest

from controller.runtime.images import build_local_images_on
from tests.integration.dockerd import (
    PrivateDockerd,
    remove_test_objects,
    start_private_dockerd,
)
from tests.integration.harness import Controller

_HERE = Path(__file__).resolve().parent
_TIMINGS: dict[str, float] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only ours (before -m deselects).
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


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


@pytest.fixture(autouse=True)
def _clean_engine(docker_host: str) -> Iterator[None]:
    """Leave nothing of one test on the engine for the next."""
    yield
    remove_test_objects(docker_host)


@pytest.fixture
async def controller(docker_host: str) -> AsyncIterator[Controller]:
    """Podyard's engine in this process, on the private engine, with a shortened backoff."""
    c = Controller(docker_host)
    yield c
    await c.stop()
