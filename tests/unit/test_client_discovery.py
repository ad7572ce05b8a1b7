"""Discovery through the official Kubernetes Python client: its generated calls ask for the paths
with a trailing slash (`/version/`, `/api/`, `/api/v1/`, `/apis/`, `/apis/apps/`,
`/apis/apps/v1/`) and parse the answers in models whose every required field must be there."""

import asyncio
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from kubernetes import client

from controller.api.server import make_app
from controller.model.nodes import KUBE_VERSION


async def test_the_python_client_reads_discovery_and_version() -> None:
    async with TestServer(make_app(lambda: [], lambda: True)) as server:
        api = client.ApiClient(client.Configuration(host=str(server.make_url("")).rstrip("/")))

        def read() -> dict[str, Any]:
            with api:
                return {
                    "version": client.VersionApi(api).get_code(),
                    "core": client.CoreApi(api).get_api_versions(),
                    "core/v1": client.CoreV1Api(api).get_api_resources(),
                    "groups": client.ApisApi(api).get_api_versions(),
                    "apps": client.AppsApi(api).get_api_group(),
                    "apps/v1": client.AppsV1Api(api).get_api_resources(),
                }

        got = await asyncio.to_thread(read)
    assert got["version"].git_version == KUBE_VERSION
    assert (got["version"].major, got["version"].minor) == ("1", "32")
    assert got["core"].versions == ["v1"]
    core = {r.name for r in got["core/v1"].resources}
    assert {"pods", "events", "nodes", "configmaps", "secrets"} <= core
    assert [g.name for g in got["groups"].groups] == ["apps", "coordination.k8s.io"]
    assert got["apps"].preferred_version.group_version == "apps/v1"
    assert {r.name for r in got["apps/v1"].resources} >= {"replicasets", "deployments"}


@pytest.mark.parametrize("path", ["/version", "/api", "/api/v1", "/apis", "/apis/apps/v1"])
async def test_discovery_answers_the_same_with_a_trailing_slash(path: str) -> None:
    server = TestServer(make_app(lambda: [], lambda: True))
    async with server, ClientSession() as session:
        plain = await (await session.get(server.make_url(path))).json()
        slashed = await session.get(server.make_url(path + "/"))
        assert slashed.status == 200
        assert await slashed.json() == plain
