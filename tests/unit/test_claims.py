"""PersistentVolumeClaim: structure, validation wording, the pod's claim volumes and mounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.decide.containers import app_config
from controller.engine.podfactory import desired_from_pod
from controller.model.claims import AccessMode, docker_volume_name
from controller.model.meta import PodRef, PodUid
from controller.serde import ManifestInvalid, structure_claim, structure_pod
from controller.source.loader import load_directory


def claim(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    base.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {k: v for k, v in base.items() if v is not None},
    }


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestInvalid) as caught:
        structure_claim(data)
    return [str(e) for e in caught.value.errors]


def test_a_claim_structures_with_kubernetes_fields() -> None:
    got = structure_claim(claim(storageClassName="local", volumeMode="Filesystem"))
    assert got.spec.access_modes == (AccessMode.READ_WRITE_ONCE,)
    assert got.spec.resources.requests.storage is not None
    assert got.spec.resources.requests.storage.value == 1024**3
    assert got.spec.storage_class_name == "local"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"accessModes": None},
            "spec.accessModes: Required value: at least 1 access mode is required",
        ),
        ({"resources": None}, "spec.resources[storage]: Required value"),
        (
            {"resources": {"requests": {"storage": "0"}}},
            'spec.resources[storage]: Invalid value: "0": must be greater than zero',
        ),
        (
            {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"]},
            "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
        ),
        ({"volumeMode": "Block"}, 'spec.volumeMode: Unsupported value: "Block"'),
        ({"volumeName": "pv-1"}, "spec.volumeName: not supported"),
        ({"bogus": 1}, "spec.bogus: unknown field"),
    ],
    ids=["no-access-mode", "no-storage", "zero-storage", "rwop-mixed", "block", "pv", "unknown"],
)
def test_claim_errors_use_kubernetes_wording(spec: dict[str, Any], expected: str) -> None:
    found = errors(claim(**spec))
    assert any(e.startswith(expected) for e in found), found


def pod_with_claim(claim_name: str, read_only: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "team"},
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "busybox:1",
                    "volumeMounts": [{"name": "d", "mountPath": "/data"}],
                }
            ],
            "volumes": [
                {
                    "name": "d",
                    "persistentVolumeClaim": {"claimName": claim_name, "readOnly": read_only},
                }
            ],
        },
    }


def test_a_pod_mounts_its_claim_as_the_claims_named_volume() -> None:
    pod = structure_pod(pod_with_claim("data", read_only=True))
    assert pod.spec.claim_names() == ("data",)
    desired = desired_from_pod(pod)
    config = app_config(
        desired, PodRef("team", "p", PodUid("u1")), 0.0, pod.spec.containers[0], 0, 0, 0.0
    )
    (mount,) = config.mounts
    assert mount.kind == "volume"
    assert mount.source == docker_volume_name("team", "data")
    assert mount.claim == "team/data"
    assert mount.read_only, "the volume source's readOnly makes the mount read-only"
    assert "u1" not in mount.source, "a claim's volume is not the pod's: another pod finds it"


def test_a_pod_claim_name_must_be_an_object_name() -> None:
    with pytest.raises(ManifestInvalid) as caught:
        structure_pod(pod_with_claim("Not_A_Name"))
    assert [e.path for e in caught.value.errors] == [
        "spec.volumes[0].persistentVolumeClaim.claimName"
    ]


def test_claim_volume_names_are_distinct_and_within_dockers_limits() -> None:
    assert docker_volume_name("a-b", "c") != docker_volume_name("a", "b-c")
    assert docker_volume_name("default", "data").startswith("podyard-pvc-default-data-")
    assert len(docker_volume_name("n" * 63, "x" * 253)) <= 128


def test_a_claims_file_loads_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n"
        "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
        "      storage: 1Gi\n  volumeMode: Block\n"
    )
    result = load_directory(tmp_path)
    assert result.objects == []
    assert [str(e) for e in result.errors] == [
        'c.yaml:10: spec.volumeMode: Unsupported value: "Block": supported values: '
        '"Filesystem" (a claim is a Docker volume, a directory)'
    ]
