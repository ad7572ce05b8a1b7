"""`/healthz` and `/readyz` of a real controller while its Docker engine is frozen and thawed.

A frozen dockerd (SIGSTOP) still accepts connections and answers nothing: only the deadline on
every call keeps the controller's loops going. `/healthz` must fail once the node's last relist
is older than the (shortened) threshold, and pass again soon after SIGCONT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from controller.app import run_controller
from controller.config import (
    ApiSettings,
    HealthSettings,
    NodeSettings,
    RuntimeSettings,
    Settings,
    WatchSettings,
)
from tests.integration.dockerd import PAUSE_IMAGE, PrivateDockerd
from tests.integration.harness import NODE, eventually, free_port
from tests.integration.manifests import pod_yaml, write

THRESHOLD = 3.0
CALL_TIMEOUT = 1.5


@pytest.fixture
async def api(private_dockerd: PrivateDockerd, tmp_path: Path) -> AsyncIterator[str]:
    """A controller run in this process on one pod, with short deadlines and thresholds."""
    write(tmp_path / "manifests", "web.yaml", pod_yaml("web", containers=1))
    port = free_port()
    settings = Settings(
        manifests_dir=str(tmp_path / "manifests"),
        nodes=(NodeSettings(name=NODE, docker_host=private_dockerd.docker_host),),
        runtime=RuntimeSettings(
            pause_image=PAUSE_IMAGE, relist_interval_seconds=0.5, call_timeout_seconds=CALL_TIMEOUT
        ),
        health=HealthSettings(relist_threshold_seconds=THRESHOLD),
        watch=WatchSettings(rescan_seconds=5),
        api=ApiSettings(listen_port=port),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_controller(settings, stop))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _get(base: str, path: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=2)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(base + path) as response,
    ):
        return response.status, await response.text()


async def _runtime_errors(base: str) -> float:
    _, text = await _get(base, "/metrics")
    for line in text.splitlines():
        if line.startswith("podyard_runtime_operations_errors_total{") and (
            'operation="list_containers"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_healthz_fails_while_the_engine_is_frozen_and_recovers_after(
    api: str, private_dockerd: PrivateDockerd
) -> None:
    async def status(path: str) -> int | None:
        try:
            return (await _get(api, path))[0]
        except (aiohttp.ClientError, TimeoutError):
            return None

    await eventually(lambda: _is(status("/readyz"), 200), timeout=60, what="/readyz ok")
    assert await _get(api, "/healthz") == (200, "ok")
    errors_before = await _runtime_errors(api)

    pid = private_dockerd.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        await eventually(
            lambda: _is(status("/healthz"), 500), timeout=THRESHOLD + 10, what="/healthz failing"
        )
        failed_after = time.monotonic() - frozen
        code, body = await _get(api, "/healthz")
        assert code == 500
        assert f"[-]pleg failed: node {NODE} relist" in body
        assert f"(threshold {THRESHOLD:g}s)" in body
        assert "[+]ping ok" in body.splitlines()
        assert "[+]tasks ok" in body.splitlines()  # the loops carry on, under their deadlines
        assert (await _get(api, "/readyz"))[0] == 500
        # every relist attempt ends at its deadline and is counted; none hangs
        await eventually(
            lambda: _more(_runtime_errors(api), errors_before + 2),
            timeout=4 * CALL_TIMEOUT + 2,
            what="relists failing at their deadline",
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    await eventually(lambda: _is(status("/healthz"), 200), timeout=30, what="/healthz ok again")
    recovered_after = time.monotonic() - thawed
    print(
        f"\n/healthz failed {failed_after:.1f} s after SIGSTOP (threshold {THRESHOLD:g} s), "
        f"ok again {recovered_after:.1f} s after SIGCONT"
    )
    assert recovered_after < 15
    assert (await _get(api, "/readyz"))[0] == 200


async def _is(value: object, wanted: int) -> bool:
    return await value == wanted  # type: ignore[misc, no-any-return]


async def _more(value: object, than: float) -> bool:
    return await value >= than  # type: ignore[misc, no-any-return]
