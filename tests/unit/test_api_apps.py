"""The apps/v1 read API: discovery, lists, objects, Tables and 404s, on an in-memory server."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.server import make_app
from controller.model.workload_status import ReplicaSetStatus
from controller.serde import structure_replicaset
from tests.unit.test_render import deployment_view, rs_doc, rs_view

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _views() -> list[Any]:
    other = structure_replicaset(rs_doc("other", namespace="team-a"))
    return [
        rs_view(status=ReplicaSetStatus(replicas=3, ready_replicas=2)),
        rs_view(replicaset=other),
    ]


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: [],
        lambda: True,
        replicasets=_views,
        deployments=lambda: [deployment_view()],
    )
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
async def bare_client() -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_app(lambda: [], lambda: True))) as c:
        yield c


async def _json(c: TestClient[Any, Any], path: str, **headers: str) -> tuple[int, Any]:
    response = await c.get(path, headers=headers)
    return response.status, await response.json()


async def test_discovery(client: TestClient[Any, Any]) -> None:
    status, groups = await _json(client, "/apis")
    assert status == 200
    assert groups["kind"] == "APIGroupList"
    apps, coordination = groups["groups"]  # the node leases' group besides apps
    assert coordination["name"] == "coordination.k8s.io"
    assert apps["name"] == "apps"
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    _, group = await _json(client, "/apis/apps")
    assert group["kind"] == "APIGroup"
    assert group["versions"] == [{"groupVersion": "apps/v1", "version": "v1"}]
    _, resources = await _json(client, "/apis/apps/v1")
    assert resources["kind"] == "APIResourceList"
    assert resources["groupVersion"] == "apps/v1"
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["replicasets"]["shortNames"] == ["rs"]
    assert by_name["replicasets"]["kind"] == "ReplicaSet"
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert all(r["namespaced"] and r["verbs"] == ["get", "list", "watch"] for r in by_name.values())


async def test_lists_per_namespace_and_across(client: TestClient[Any, Any]) -> None:
    _, everywhere = await _json(client, "/apis/apps/v1/replicasets")
    assert everywhere["kind"] == "ReplicaSetList"
    assert everywhere["apiVersion"] == "apps/v1"
    assert [i["metadata"]["name"] for i in everywhere["items"]] == ["echo", "other"]
    _, default = await _json(client, "/apis/apps/v1/namespaces/default/replicasets")
    assert [i["metadata"]["name"] for i in default["items"]] == ["echo"]
    _, deployments = await _json(client, "/apis/apps/v1/namespaces/default/deployments")
    assert deployments["kind"] == "DeploymentList"
    assert [i["metadata"]["name"] for i in deployments["items"]] == ["hello"]
    _, none = await _json(client, "/apis/apps/v1/namespaces/nowhere/deployments")
    assert none["items"] == []


async def test_get_one_and_not_found(client: TestClient[Any, Any]) -> None:
    status, rs = await _json(client, "/apis/apps/v1/namespaces/default/replicasets/echo")
    assert status == 200
    assert rs["kind"] == "ReplicaSet"
    assert rs["status"] == {"replicas": 3, "readyReplicas": 2}
    status, missing = await _json(client, "/apis/apps/v1/namespaces/team-a/replicasets/echo")
    assert status == 404
    assert missing["kind"] == "Status"
    assert missing["reason"] == "NotFound"
    assert missing["message"] == 'replicasets.apps "echo" not found'
    assert missing["details"] == {"name": "echo", "group": "apps", "kind": "replicasets"}
    status, missing = await _json(client, "/apis/apps/v1/namespaces/default/deployments/nope")
    assert status == 404
    assert missing["message"] == 'deployments.apps "nope" not found'


async def test_tables_have_kubectls_columns(client: TestClient[Any, Any]) -> None:
    _, table = await _json(client, "/apis/apps/v1/namespaces/default/replicasets", Accept=TABLE)
    assert table["kind"] == "Table"
    columns = [(c["name"].upper(), c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("NAME", 0),
        ("DESIRED", 0),
        ("CURRENT", 0),
        ("READY", 0),
        ("AGE", 0),
        ("CONTAINERS", 1),
        ("IMAGES", 1),
        ("SELECTOR", 1),
    ]
    (row,) = table["rows"]
    assert row["cells"][:4] == ["echo", "3", "3", "2"]
    assert row["object"]["metadata"]["name"] == "echo"
    assert row["object"]["metadata"]["namespace"] == "default"
    _, table = await _json(
        client, "/apis/apps/v1/namespaces/default/deployments/hello", Accept=TABLE
    )
    headers = [c["name"].upper() for c in table["columnDefinitions"]]
    assert headers[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table["rows"][0]["cells"][:4] == ["hello", "0/3", "0", "0"]


async def test_without_sources_the_lists_are_empty(bare_client: TestClient[Any, Any]) -> None:
    for path in ("/apis/apps/v1/replicasets", "/apis/apps/v1/namespaces/default/deployments"):
        status, body = await _json(bare_client, path)
        assert status == 200
        assert body["items"] == []
    status, body = await _json(bare_client, "/api/v1/namespaces/default/pods/web")
    assert status == 404
    assert body["message"] == 'pods "web" not found'
    assert body["details"] == {"name": "web", "kind": "pods"}
