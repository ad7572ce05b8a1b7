"""Namespaces in the read API (declared, in use, and `default`), discovery as a real cluster lists
each resource, and the kubeconfig `podyard kubeconfig` prints."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.api.aggregated import version_discovery
from controller.api.server import make_app
from controller.cli import main
from controller.kubeconfig import kubeconfig
from controller.model.configdata import ConfigMap
from controller.model.manifests import Namespace
from controller.model.meta import ObjectMeta
from controller.model.nodes import NodeView

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    declared = [
        Namespace(ObjectMeta("shop", labels={"pod-security.kubernetes.io/enforce": "baseline"}))
    ]
    app = make_app(
        lambda: [],
        lambda: True,
        configs=lambda: [ConfigMap(ObjectMeta("settings", "tools"), data={"a": "1"})],
        namespaces=lambda: declared,
    )
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_namespaces_are_the_declared_the_used_and_default(
    client: TestClient[Any, Any],
) -> None:
    body = await (await client.get("/api/v1/namespaces")).json()
    assert body["kind"] == "NamespaceList"
    by_name = {ns["metadata"]["name"]: ns for ns in body["items"]}
    assert list(by_name) == ["default", "shop", "tools"]
    shop = by_name["shop"]
    assert shop["kind"] == "Namespace"
    assert shop["status"] == {"phase": "Active"}
    assert "namespace" not in shop["metadata"], "namespaces are cluster-scoped"
    assert shop["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "kubernetes.io/metadata.name": "shop",
    }
    assert by_name["tools"]["metadata"]["labels"] == {"kubernetes.io/metadata.name": "tools"}
    assert shop["metadata"]["creationTimestamp"].endswith("Z")


async def test_one_namespace_its_404_selectors_and_table(client: TestClient[Any, Any]) -> None:
    shop = await (await client.get("/api/v1/namespaces/shop")).json()
    assert shop["metadata"]["name"] == "shop"
    missing = await client.get("/api/v1/namespaces/nowhere")
    assert missing.status == 404
    assert (await missing.json())["message"] == 'namespaces "nowhere" not found'
    selected = await client.get(
        "/api/v1/namespaces", params={"labelSelector": "pod-security.kubernetes.io/enforce"}
    )
    assert [n["metadata"]["name"] for n in (await selected.json())["items"]] == ["shop"]
    by_name = await client.get(
        "/api/v1/namespaces", params={"fieldSelector": "metadata.name=tools"}
    )
    assert [n["metadata"]["name"] for n in (await by_name.json())["items"]] == ["tools"]
    table = await (await client.get("/api/v1/namespaces", headers={"Accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert [r["cells"][:2] for r in table["rows"]] == [
        ["default", "Active"],
        ["shop", "Active"],
        ["tools", "Active"],
    ]
    # The namespaced routes under the same prefix still answer.
    config = await client.get("/api/v1/namespaces/tools/configmaps/settings")
    assert config.status == 200


async def test_discovery_lists_each_resource_as_a_real_cluster(
    client: TestClient[Any, Any],
) -> None:
    core = await (await client.get("/api/v1")).json()
    apps = await (await client.get("/apis/apps/v1")).json()
    listed = {r["name"]: r for r in [*core["resources"], *apps["resources"]]}
    expected = {
        "pods": (True, "Pod", ["po"], ["all"]),
        "events": (True, "Event", ["ev"], None),
        "nodes": (False, "Node", ["no"], None),
        "namespaces": (False, "Namespace", ["ns"], None),
        "configmaps": (True, "ConfigMap", ["cm"], None),
        "secrets": (True, "Secret", None, None),
        "persistentvolumeclaims": (True, "PersistentVolumeClaim", ["pvc"], None),
        "replicasets": (True, "ReplicaSet", ["rs"], ["all"]),
        "deployments": (True, "Deployment", ["deploy"], ["all"]),
        "resourcequotas": (True, "ResourceQuota", ["quota"], None),
        "limitranges": (True, "LimitRange", ["limits"], None),
    }
    for name, (namespaced, kind, short, categories) in expected.items():
        resource = listed[name]
        assert resource["namespaced"] is namespaced, name
        assert resource["kind"] == kind, name
        assert resource["singularName"] == kind.lower(), name
        assert resource.get("shortNames") == short, name
        assert resource.get("categories") == categories, name
        assert {"get", "list", "watch"} <= set(resource["verbs"]), name


def test_kubeconfig_names_one_cluster_user_and_context() -> None:
    config = kubeconfig("http://127.0.0.1:9180/", namespace="shop", context="yard")
    assert config["kind"] == "Config"
    assert config["current-context"] == "yard"
    assert config["clusters"] == [{"name": "yard", "cluster": {"server": "http://127.0.0.1:9180"}}]
    assert config["contexts"] == [
        {"name": "yard", "context": {"cluster": "yard", "user": "yard", "namespace": "shop"}}
    ]
    assert config["users"] == [{"name": "yard", "user": {}}]


def test_podyard_kubeconfig_prints_the_api_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kubeconfig", "--api", "http://127.0.0.1:9555", "-n", "shop"]) == 0
    out = capsys.readouterr().out
    assert "server: http://127.0.0.1:9555" in out
    assert "namespace: shop" in out
    assert "current-context: podyard" in out


async def test_config_maps_are_aged_from_when_first_seen(client: TestClient[Any, Any]) -> None:
    table = await (await client.get("/api/v1/configmaps", headers={"Accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    name, data, age = table["rows"][0]["cells"]
    assert (name, data) == ("settings", "1")
    assert age.endswith("s"), "an age, as a real cluster prints it, not <unknown>"
    first = await (await client.get("/api/v1/namespaces/tools/configmaps/settings")).json()
    again = await (await client.get("/api/v1/namespaces/tools/configmaps/settings")).json()
    assert first["metadata"]["creationTimestamp"] == again["metadata"]["creationTimestamp"]


async def test_each_node_has_a_lease_renewed_at_its_heartbeat() -> None:
    view = NodeView(
        name="n1", uid="u1", created_at=1_700_000_000.0, host_ip="127.0.0.1",
        ready=True, last_heartbeat=1_700_000_042.5,
    )  # fmt: skip
    app = make_app(lambda: [], lambda: True, nodes=lambda: [view])
    async with TestClient(TestServer(app)) as c:
        lease = await (
            await c.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1")
        ).json()
        assert lease["spec"] == {
            "holderIdentity": "n1",
            "renewTime": "2023-11-14T22:14:02.500000Z",
        }
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
        missing = await c.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/x")
        assert missing.status == 404
        names = await (await c.get("/api/v1/namespaces")).json()
        assert [n["metadata"]["name"] for n in names["items"]] == ["default", "kube-node-lease"]
        group = await (await c.get("/apis/coordination.k8s.io/v1")).json()
        assert [r["name"] for r in group["resources"]] == ["leases"]


V2 = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


async def test_aggregated_discovery_matches_the_per_version_lists(
    client: TestClient[Any, Any],
) -> None:
    core = await client.get("/api", headers={"Accept": V2})
    assert core.headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    body = await core.json(content_type=None)
    assert body["kind"] == "APIGroupDiscoveryList"
    (item,) = body["items"]
    (v1,) = item["versions"]
    legacy = await (await client.get("/api/v1")).json()
    by_name = {r["resource"]: r for r in v1["resources"]}
    assert set(by_name) == {r["name"] for r in legacy["resources"] if "/" not in r["name"]}
    assert by_name["pods"]["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert by_name["pods"]["categories"] == ["all"]
    assert by_name["namespaces"]["scope"] == "Cluster"
    assert by_name["namespaces"]["shortNames"] == ["ns"]
    assert "shortNames" not in by_name["secrets"]
    groups = await (await client.get("/apis", headers={"Accept": V2})).json(content_type=None)
    assert [g["metadata"]["name"] for g in groups["items"]] == ["apps", "coordination.k8s.io"]
    apps = {r["resource"]: r for r in groups["items"][0]["versions"][0]["resources"]}
    assert apps["deployments"]["shortNames"] == ["deploy"]
    assert apps["deployments"]["scope"] == "Namespaced"
    plain = await (await client.get("/api")).json()
    assert plain["kind"] == "APIVersions", "a client that does not ask gets the plain document"


async def test_quotas_and_limit_ranges_are_served_empty(client: TestClient[Any, Any]) -> None:
    for plural, kind in (("resourcequotas", "ResourceQuota"), ("limitranges", "LimitRange")):
        listed = await (await client.get(f"/api/v1/namespaces/shop/{plural}")).json()
        assert listed["kind"] == f"{kind}List"
        assert listed["items"] == []
        one = await client.get(f"/api/v1/namespaces/shop/{plural}/any")
        assert one.status == 404


async def test_namespaces_are_watched(client: TestClient[Any, Any]) -> None:
    answer = await client.get("/api/v1/namespaces", params={"watch": "1", "timeoutSeconds": "1"})
    events = [line for line in (await answer.text()).splitlines() if line]
    assert len(events) == 3
    assert all('"type":"ADDED"' in line and '"kind":"Namespace"' in line for line in events)


def test_a_subresource_joins_its_parent_in_aggregated_discovery() -> None:
    entries = [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["get"], "shortNames": ["po"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
         "verbs": ["get"]},
    ]  # fmt: skip
    (pods,) = version_discovery("", "v1", entries)["resources"]
    assert pods["subresources"] == [
        {"subresource": "log", "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
         "verbs": ["get"]},
    ]  # fmt: skip


async def test_a_namespace_keeps_the_time_it_was_first_seen(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AGE grows: the creation time is the first sighting, not the time of each request."""
    import controller.api.namespaces as module

    first = await (await client.get("/api/v1/namespaces")).json()

    class Later:
        @staticmethod
        def time() -> float:
            return 4_000_000_000.0

    monkeypatch.setattr(module, "time", Later)
    again = await (await client.get("/api/v1/namespaces")).json()
    one = await (await client.get("/api/v1/namespaces/tools")).json()
    created = {ns["metadata"]["name"]: ns["metadata"]["creationTimestamp"] for ns in first["items"]}
    assert {n["metadata"]["name"]: n["metadata"]["creationTimestamp"] for n in again["items"]} == (
        created
    )
    assert one["metadata"]["creationTimestamp"] == created["tools"]


async def test_a_namespace_is_as_old_as_its_oldest_object() -> None:
    """Right after a restart, `kubectl get ns` shows the age of what the namespace holds, not the
    time of the first request (which read 0s)."""
    from controller.model.meta import NodeName, PodRef, PodUid
    from controller.model.status import PodPhase, PodStatus, PodView
    from tests.factories import pod

    created = {"web": 1_800_000_000.0, "db": 1_700_000_000.0}
    views = [
        PodView(
            pod=pod(name, namespace="shop"),
            ref=PodRef("shop", name, PodUid(f"uid-{name}")),
            node=NodeName("node-a"),
            status=PodStatus(phase=PodPhase.RUNNING),
            created_at=at,
        )
        for name, at in created.items()
    ]
    app = make_app(lambda: views, lambda: True)
    async with TestClient(TestServer(app)) as client:
        shop = await (await client.get("/api/v1/namespaces/shop")).json()
        default = await (await client.get("/api/v1/namespaces/default")).json()
    assert shop["metadata"]["creationTimestamp"] == "2023-11-14T22:13:20Z"  # the db pod's
    assert default["metadata"]["creationTimestamp"] > "2026-01-01T00:00:00Z"  # nothing in it
