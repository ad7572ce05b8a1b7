"""kubectl's tables: rows for ReplicaSets and Deployments, selectors, and the column layout."""

from typing import Any

from controller.api.tables import (
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_WIDE_COLUMNS,
    REPLICASET_COLUMNS,
    REPLICASET_WIDE_COLUMNS,
    deployment_row,
    format_selector,
    parse_time,
    pod_row,
    render,
    replicaset_row,
)
from controller.model.workload_status import DeploymentStatus, ReplicaSetStatus
from controller.render import deployment_view_to_k8s, replicaset_view_to_k8s
from tests.unit.test_render import deployment_view, epoch, rs_view

CREATED = "2026-11-23T11:00:00Z"
NOW = epoch(CREATED) + 3 * 60 + 12


def test_column_layout_is_kubectls() -> None:
    assert REPLICASET_COLUMNS == ("NAME", "DESIRED", "CURRENT", "READY", "AGE")
    assert REPLICASET_WIDE_COLUMNS[5:] == ("CONTAINERS", "IMAGES", "SELECTOR")
    assert DEPLOYMENT_COLUMNS == ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
    assert DEPLOYMENT_WIDE_COLUMNS[5:] == ("CONTAINERS", "IMAGES", "SELECTOR")


def test_replicaset_rows() -> None:
    ready = replicaset_view_to_k8s(
        rs_view(
            status=ReplicaSetStatus(replicas=3, ready_replicas=3, available_replicas=3),
            created_at=epoch(CREATED),
        )
    )
    assert replicaset_row(ready, NOW) == ["echo", "3", "3", "3", "3m12s"]
    assert replicaset_row(ready, NOW, wide=True) == [
        "echo",
        "3",
        "3",
        "3",
        "3m12s",
        "echo",
        "busybox:1",
        "app=echo",
    ]
    starting = replicaset_view_to_k8s(rs_view(status=ReplicaSetStatus(replicas=1)))
    assert replicaset_row(starting, NOW) == ["echo", "3", "1", "0", "<unknown>"]


def test_deployment_rows() -> None:
    rolling = deployment_view_to_k8s(
        deployment_view(
            status=DeploymentStatus(
                replicas=4,
                updated_replicas=1,
                ready_replicas=3,
                available_replicas=3,
                unavailable_replicas=1,
            ),
            created_at=epoch(CREATED),
        )
    )
    assert deployment_row(rolling, NOW) == ["hello", "3/3", "1", "3", "3m12s"]
    assert deployment_row(rolling, NOW, wide=True)[5:] == ["echo", "busybox:1", "app=echo"]
    fresh = deployment_view_to_k8s(deployment_view())
    assert deployment_row(fresh, NOW) == ["hello", "0/3", "0", "0", "<unknown>"]


def test_several_containers_are_joined_with_commas() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "x", "creationTimestamp": CREATED},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1.27"},
                        {"name": "side", "image": "busybox:1"},
                    ]
                }
            },
        },
        "status": {"replicas": 2},
    }
    assert replicaset_row(obj, NOW, wide=True)[5:] == [
        "web,side",
        "nginx:1.27,busybox:1",
        "app=x",
    ]


def test_selectors_read_like_kubectls() -> None:
    assert format_selector(None) == "<none>"
    assert format_selector({}) == "<none>"
    assert format_selector({"matchLabels": {"tier": "web", "app": "shop"}}) == "app=shop,tier=web"
    selector = {
        "matchLabels": {"app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "blue", "operator": "Exists"},
        ],
    }
    assert format_selector(selector) == "app=shop,blue,!canary,env in (dev,prod),zone notin (b)"


def test_pod_rows_still_use_the_same_age() -> None:
    pod = {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running", "containerStatuses": [{"ready": True}]},
    }
    assert pod_row(pod, NOW) == ["web", "1/1", "Running", "0", "3m12s"]
    assert parse_time(CREATED) == epoch(CREATED)


def test_render_pads_like_kubectl() -> None:
    out = render(REPLICASET_COLUMNS, [["echo", "3", "3", "3", "3m12s"]])
    assert out.splitlines() == [
        "NAME   DESIRED   CURRENT   READY   AGE",
        "echo   3         3         3       3m12s",
    ]
