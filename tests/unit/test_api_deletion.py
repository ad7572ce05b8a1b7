"""The API side of deletion: options parsed as kubectl and the official client send them, the
answers (the pod marked, a Warning header, 404, 409), the refusals of ReplicaSets and
Deployments, and a Status for every error under /api and /apis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.deletion import warning_header
from controller.api.server import make_app
from controller.model.deletion import DeleteResult, DeleteVerdict
from controller.model.meta import NodeName, PodRef, PodUid
from controller.model.status import PodPhase, PodStatus, PodView
from tests.factories import pod
from tests.unit.test_render import deployment_view, rs_view

VIEW = PodView(
    pod=pod("web"),
    ref=PodRef("default", "web", PodUid("uid-1")),
    node=NodeName("node-a"),
    status=PodStatus(phase=PodPhase.RUNNING),
    created_at=1_800_000_000.0,
)


@attrs.define
class Deleter:
    calls: list[tuple[str, str, int | None, str | None]] = attrs.field(factory=list)

    def __call__(
        self, namespace: str, name: str, grace: int | None, uid: str | None, /
    ) -> DeleteResult:
        self.calls.append((namespace, name, grace, uid))
        if name != "web":
            return DeleteResult(DeleteVerdict.NOT_FOUND)
        if uid not in (None, "uid-1"):
            message = f"Precondition failed: UID in precondition: {uid}, UID in object meta: uid-1"
            return DeleteResult(DeleteVerdict.CONFLICT, VIEW, message=message)
        marked = attrs.evolve(
            VIEW,
            deleting=True,
            deletion_at=1_800_000_100.0 + (grace or 30),
            deletion_grace_seconds=30 if grace is None else grace,
        )
        return DeleteResult(DeleteVerdict.ACCEPTED, marked, warning='pod "web" is declared by x')


@pytest.fixture
def deleter() -> Deleter:
    return Deleter()


@pytest.fixture
async def client(deleter: Deleter) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(
        lambda: [VIEW],
        lambda: True,
        replicasets=lambda: [rs_view(source="rs.yaml"), rs_view(owner="Deployment/hello")],
        deployments=lambda: [deployment_view(source="hello.yaml")],
        delete_pod=deleter,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


POD = "/api/v1/namespaces/default/pods/web"


async def test_grace_from_the_body_wins_over_the_query(
    client: TestClient[Any, Any], deleter: Deleter
) -> None:
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 1}
    response = await client.delete(POD + "?gracePeriodSeconds=7", json=body)
    assert response.status == 200
    pod_json = await response.json()
    assert pod_json["metadata"]["deletionGracePeriodSeconds"] == 1
    assert "deletionTimestamp" in pod_json["metadata"]
    await client.delete(POD + "?gracePeriodSeconds=7")
    await client.delete(POD)
    await client.delete(POD, json={"gracePeriodSeconds": -5, "preconditions": {"uid": "uid-1"}})
    assert [c[2:] for c in deleter.calls] == [(1, None), (7, None), (None, None), (0, "uid-1")]


async def test_the_warning_is_a_header_kubectl_can_parse(client: TestClient[Any, Any]) -> None:
    response = await client.delete(POD)
    assert response.headers["Warning"] == '299 - "pod \\"web\\" is declared by x"'
    assert warning_header('a "b" c\\') == '299 - "a \\"b\\" c\\\\"'


async def test_refusals_and_failures_are_statuses(
    client: TestClient[Any, Any], deleter: Deleter
) -> None:
    missing = await client.delete("/api/v1/namespaces/default/pods/nope")
    assert (missing.status, (await missing.json())["message"]) == (404, 'pods "nope" not found')
    conflict = await client.delete(POD, json={"preconditions": {"uid": "uid-9"}})
    body = await conflict.json()
    assert (conflict.status, body["reason"]) == (409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on pods "web": Precondition')
    bad = await client.delete(POD, data="{not json")
    assert (bad.status, (await bad.json())["reason"]) == (400, "BadRequest")
    dry = await client.delete(POD + "?dryRun=All")
    assert (dry.status, (await dry.json())["reason"]) == (400, "BadRequest")
    dry_body = await client.delete(POD, json={"dryRun": ["All"]})
    assert dry_body.status == 400
    bad_grace = await client.delete(POD + "?gracePeriodSeconds=soon")
    assert (bad_grace.status, (await bad_grace.json())["kind"]) == (400, "Status")
    assert deleter.calls == [
        ("default", "nope", None, None),
        ("default", "web", None, "uid-9"),
    ], "no request refused for its options reached the deleter"


async def test_workloads_are_refused_naming_their_file(client: TestClient[Any, Any]) -> None:
    rs = await client.delete("/apis/apps/v1/namespaces/default/replicasets/echo")
    body = await rs.json()
    assert (rs.status, body["reason"], body["code"]) == (405, "MethodNotAllowed", 405)
    assert body["message"] == (
        'replicasets.apps "echo" cannot be deleted through the API: it is declared by rs.yaml: '
        "remove it from the folder to delete it"
    )
    deploy = await client.delete("/apis/apps/v1/namespaces/default/deployments/hello")
    assert "hello.yaml" in (await deploy.json())["message"]
    gone = await client.delete("/apis/apps/v1/namespaces/default/replicasets/nope")
    assert (gone.status, (await gone.json())["message"]) == (
        404,
        'replicasets.apps "nope" not found',
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "reason"),
    [
        ("GET", "/api/v1/nothing", 404, "NotFound"),
        ("GET", "/apis/apps/v1/namespaces/default/nothing", 404, "NotFound"),
        ("GET", "/apis/nothing", 404, "NotFound"),
        ("POST", "/api/v1/namespaces/default/pods", 405, "MethodNotAllowed"),
        ("PUT", POD, 405, "MethodNotAllowed"),
        ("GET", "/api/v1/pods?labelSelector=a%3E1", 400, "BadRequest"),
    ],
    ids=["unknown-resource", "unknown-apps-resource", "unknown-group", "post", "put", "selector"],
)
async def test_every_api_error_is_a_status(
    client: TestClient[Any, Any], method: str, path: str, status: int, reason: str
) -> None:
    response = await client.request(method, path)
    body = await response.json()
    assert (response.status, body["kind"], body["reason"], body["code"]) == (
        status,
        "Status",
        reason,
        status,
    )


async def test_paths_outside_the_api_keep_their_plain_answers(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/nothing")
    assert response.status == 404
    assert response.content_type != "application/json"


async def test_pods_list_delete_in_discovery(client: TestClient[Any, Any]) -> None:
    resources = (await (await client.get("/api/v1")).json())["resources"]
    pods = next(r for r in resources if r["name"] == "pods")
    assert "delete" in pods["verbs"]
