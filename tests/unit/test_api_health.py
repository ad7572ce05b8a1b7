"""`/healthz`, `/livez` and `/readyz` in Kubernetes' format, on an in-memory server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import make_app
from controller.model.health import HealthCheck

LIVE = [HealthCheck("pleg"), HealthCheck("tasks", "task relist:n1 is dead (ValueError: x)")]


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: [],
        lambda: False,
        liveness=lambda: LIVE,
        readiness=lambda: [HealthCheck("relist", "not relisted yet: node n1")],
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def _get(client: TestClient[Any, Any], path: str) -> tuple[int, str]:
    response = await client.get(path)
    return response.status, await response.text()


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/healthz?verbose"])
async def test_a_failed_check_fails_the_endpoint_and_every_check_is_listed(
    client: TestClient[Any, Any], path: str
) -> None:
    kind = path[1:].split("?")[0]
    assert await _get(client, path) == (
        500,
        "[+]ping ok\n"
        "[+]pleg ok\n"
        "[-]tasks failed: task relist:n1 is dead (ValueError: x)\n"
        f"{kind} check failed\n",
    )


async def test_excluded_checks_are_skipped_and_ok_is_terse_unless_verbose(
    client: TestClient[Any, Any],
) -> None:
    assert await _get(client, "/healthz?exclude=tasks") == (200, "ok")
    assert await _get(client, "/healthz?exclude=tasks&verbose") == (
        200,
        "[+]ping ok\n[+]pleg ok\nhealthz check passed\n",
    )


async def test_one_check_answers_alone(client: TestClient[Any, Any]) -> None:
    assert await _get(client, "/healthz/pleg") == (200, "ok")
    assert await _get(client, "/livez/tasks") == (
        500,
        "internal server error: task relist:n1 is dead (ValueError: x)",
    )
    assert (await _get(client, "/healthz/nope"))[0] == 404


async def test_readyz_adds_the_start_and_the_first_sync_to_the_liveness_checks(
    client: TestClient[Any, Any],
) -> None:
    status, body = await _get(client, "/readyz?exclude=tasks")
    assert status == 500
    assert body.splitlines() == [
        "[+]ping ok",
        "[+]pleg ok",
        "[-]started failed: the controller has not started",
        "[-]relist failed: not relisted yet: node n1",
        "readyz check failed",
    ]
    assert (await _get(client, "/readyz/relist"))[0] == 500
