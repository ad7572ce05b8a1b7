"""ReplicaSet and Deployment views as Kubernetes JSON; ownerReferences on pods; stable uids."""

import calendar
import json
import time
from typing import Any

from controller.engine.replicasets import object_uid as engine_object_uid
from controller.model.identity import object_uid, owner_reference
from controller.model.meta import ObjectKey
from controller.model.workload_status import (
    DeploymentStatus,
    DeploymentView,
    ReplicaSetStatus,
    ReplicaSetView,
    WorkloadCondition,
)
from controller.render import deployment_view_to_k8s, replicaset_view_to_k8s
from controller.serde import (
    pod_view_to_k8s,
    structure_deployment,
    structure_replicaset,
    unstructure_deployment,
    unstructure_replicaset,
)
from tests.unit.test_serde import view


def epoch(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def rs_doc(name: str = "echo", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": {"app": "echo"}, **meta},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "echo"}},
            "template": {
                "metadata": {"labels": {"app": "echo"}},
                "spec": {"containers": [{"name": "echo", "image": "busybox:1"}]},
            },
        },
    }


def rs_view(**changes: Any) -> ReplicaSetView:
    fields: dict[str, Any] = {
        "replicaset": structure_replicaset(rs_doc()),
        "status": ReplicaSetStatus(),
        "uid": object_uid("ReplicaSet", "default", "echo"),
        "generation": 2,
    }
    fields.update(changes)
    return ReplicaSetView(**fields)


def deployment_view(**changes: Any) -> DeploymentView:
    doc = rs_doc("hello")
    doc["kind"] = "Deployment"
    fields: dict[str, Any] = {
        "deployment": structure_deployment(doc),
        "status": DeploymentStatus(),
        "uid": object_uid("Deployment", "default", "hello"),
        "generation": 1,
    }
    fields.update(changes)
    return DeploymentView(**fields)


def test_object_uid_agrees_with_the_engine() -> None:
    for kind, namespace, name in [
        ("ReplicaSet", "default", "echo"),
        ("Deployment", "team-a", "hello"),
        ("ReplicaSet", "default", "hello-bcdfghjklm"),
    ]:
        assert object_uid(kind, namespace, name) == engine_object_uid(
            ObjectKey(kind, namespace, name)
        )
    assert object_uid("ReplicaSet", "default", "a") != object_uid("Deployment", "default", "a")
    assert object_uid("ReplicaSet", "default", "a") != object_uid("ReplicaSet", "other", "a")


def test_owner_reference() -> None:
    assert owner_reference("ReplicaSet/web", "team-a") == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web",
        "uid": object_uid("ReplicaSet", "team-a", "web"),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    deployment = owner_reference("Deployment/hello", "default")
    assert deployment is not None
    assert deployment["kind"] == "Deployment"
    for owner in ("", "web", "ReplicaSet/", "/web", "Job/web", "ReplicaSet/a/b"):
        assert owner_reference(owner, "default") is None, owner


def test_replicaset_shape() -> None:
    v = rs_view(
        status=ReplicaSetStatus(
            replicas=3,
            fully_labeled_replicas=3,
            ready_replicas=2,
            available_replicas=1,
            observed_generation=2,
            conditions=(
                WorkloadCondition(
                    "ReplicaFailure",
                    True,
                    reason="FailedCreate",
                    message="no node",
                    last_transition_time=epoch("2026-11-23T11:47:21Z"),
                    last_update_time=epoch("2026-11-23T11:47:22Z"),
                ),
            ),
        ),
        created_at=epoch("2026-11-23T11:38:59Z"),
    )
    out = replicaset_view_to_k8s(v)
    assert json.loads(json.dumps(out)) == out
    assert list(out) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert out["apiVersion"] == "apps/v1"
    assert out["kind"] == "ReplicaSet"
    assert out["metadata"] == {
        "name": "echo",
        "namespace": "default",
        "uid": object_uid("ReplicaSet", "default", "echo"),
        "generation": 2,
        "creationTimestamp": "2026-11-23T11:38:59Z",
        "labels": {"app": "echo"},
    }
    assert out["spec"] == unstructure_replicaset(v.replicaset)["spec"]
    assert out["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": "2026-11-23T11:47:21Z",
                "reason": "FailedCreate",
                "message": "no node",
            }
        ],
    }


def test_replicaset_zero_counts_are_omitted_but_replicas() -> None:
    out = replicaset_view_to_k8s(rs_view(generation=0))
    assert out["status"] == {"replicas": 0}
    assert "creationTimestamp" not in out["metadata"]
    assert "generation" not in out["metadata"]
    assert "ownerReferences" not in out["metadata"]


def test_a_deployments_replicaset_names_its_owner() -> None:
    doc = rs_doc("hello-bcdfghjklm", annotations={"deployment.kubernetes.io/revision": "2"})
    out = replicaset_view_to_k8s(
        rs_view(replicaset=structure_replicaset(doc), owner="Deployment/hello")
    )
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}
    assert out["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "hello",
            "uid": deployment_view().uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_deployment_shape() -> None:
    v = deployment_view(
        status=DeploymentStatus(
            replicas=4,
            updated_replicas=2,
            ready_replicas=3,
            available_replicas=3,
            unavailable_replicas=1,
            observed_generation=1,
            conditions=(
                WorkloadCondition(
                    "Available",
                    True,
                    reason="MinimumReplicasAvailable",
                    message="Deployment has minimum availability.",
                    last_transition_time=epoch("2026-11-23T11:40:00Z"),
                    last_update_time=epoch("2026-11-23T11:41:00Z"),
                ),
                WorkloadCondition("Progressing", True, reason="ReplicaSetUpdated"),
            ),
        ),
        revision=3,
        created_at=epoch("2026-11-23T11:38:59Z"),
    )
    out = deployment_view_to_k8s(v)
    assert json.loads(json.dumps(out)) == out
    assert (out["apiVersion"], out["kind"]) == ("apps/v1", "Deployment")
    meta = out["metadata"]
    assert meta["uid"] == object_uid("Deployment", "default", "hello")
    assert meta["generation"] == 1
    assert meta["creationTimestamp"] == "2026-11-23T11:38:59Z"
    assert meta["annotations"] == {"deployment.kubernetes.io/revision": "3"}
    assert out["spec"] == unstructure_deployment(v.deployment)["spec"]
    assert out["status"] == {
        "observedGeneration": 1,
        "replicas": 4,
        "updatedReplicas": 2,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "unavailableReplicas": 1,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "lastUpdateTime": "2026-11-23T11:41:00Z",
                "lastTransitionTime": "2026-11-23T11:40:00Z",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        ],
    }


def test_deployment_zero_counts_and_no_revision_are_omitted() -> None:
    out = deployment_view_to_k8s(deployment_view())
    assert out["status"] == {}
    assert "annotations" not in out["metadata"]


def test_deployment_revision_joins_the_manifests_annotations() -> None:
    doc = rs_doc("hello", annotations={"team": "a", "deployment.kubernetes.io/revision": "9"})
    doc["kind"] = "Deployment"
    out = deployment_view_to_k8s(deployment_view(deployment=structure_deployment(doc), revision=2))
    assert out["metadata"]["annotations"] == {
        "team": "a",
        "deployment.kubernetes.io/revision": "2",
    }


def test_pods_of_a_replicaset_carry_its_owner_reference() -> None:
    out = pod_view_to_k8s(view(owner="ReplicaSet/web"))
    assert out["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web",
            "uid": engine_object_uid(ObjectKey("ReplicaSet", "default", "web")),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "ownerReferences" not in pod_view_to_k8s(view())["metadata"]
