"""ConfigMap and Secret from manifest dicts: keys, base64, types, sizes, and no value in errors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.api.configdata import secret_to_k8s, with_values
from controller.model.configdata import MAX_CONFIG_BYTES
from controller.model.identity import object_uid
from controller.serde import ManifestInvalid, structure_config_map, structure_pod, structure_secret


def _cm(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, **fields}


def _secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, **fields}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _errors(structure: Any, doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestInvalid) as caught:
        structure(doc)
    return [str(e) for e in caught.value.errors]


def test_config_map_data_and_binary_data() -> None:
    cm = structure_config_map(_cm(data={"a.conf": "x=1"}, binaryData={"blob": _b64("\x00\x01")}))
    assert cm.payload() == {"a.conf": b"x=1", "blob": b"\x00\x01"}
    assert "x=1" not in repr(cm)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a/b", "a valid config key must consist of alphanumeric characters"),
        ("..x", "must not start with '..'"),
        ("..", "must not be '..'"),
        ("k" * 254, "must be no more than 253 characters"),
    ],
    ids=["slash", "dotdot-prefix", "dotdot", "too-long"],
)
def test_config_keys_follow_kubernetes(key: str, problem: str) -> None:
    errors = _errors(structure_config_map, _cm(data={key: "v"}))
    assert len(errors) == 1
    assert problem in errors[0]


def test_a_key_in_data_and_binary_data_is_a_duplicate() -> None:
    errors = _errors(structure_config_map, _cm(data={"k": "v"}, binaryData={"k": _b64("v")}))
    assert errors == ['binaryData.k: Invalid value: "k": duplicate of key present in data']


def test_too_big_is_refused() -> None:
    errors = _errors(structure_config_map, _cm(data={"k": "x" * (MAX_CONFIG_BYTES + 1)}))
    assert errors == [f"Too long: may not be more than {MAX_CONFIG_BYTES} bytes"]


def test_secret_data_is_base64_and_string_data_wins() -> None:
    secret = structure_secret(
        _secret(data={"user": _b64("app"), "pw": _b64("old")}, stringData={"pw": "new"})
    )
    assert secret.payload() == {"user": b"app", "pw": b"new"}
    assert secret.type == "Opaque"
    assert "new" not in repr(secret)
    assert "app" not in repr(secret).replace("Secret(", "")


def test_bad_base64_is_refused_without_showing_the_value() -> None:
    errors = _errors(structure_secret, _secret(data={"token": "not-base64!"}))
    assert errors == ["data.token: Invalid value: <redacted>: illegal base64 data"]


def test_a_wrongly_typed_secret_value_is_not_shown() -> None:
    errors = _errors(structure_secret, _secret(stringData={"pin": 12345}))
    assert errors == ["stringData.pin: Invalid value: <redacted>: must be a string"]


@pytest.mark.parametrize(
    ("type_", "data", "expected"),
    [
        ("kubernetes.io/tls", {"tls.crt": "c"}, ["data[tls.key]: Required value"]),
        ("kubernetes.io/ssh-auth", {}, ["data[ssh-privatekey]: Required value"]),
        (
            "kubernetes.io/basic-auth",
            {"other": "x"},
            ["data[username]: Required value: or data[password]"],
        ),
        ("kubernetes.io/basic-auth", {"password": "x"}, []),
        (
            "kubernetes.io/dockerconfigjson",
            {".dockerconfigjson": "{not json"},
            ["data[.dockerconfigjson]: Invalid value: <redacted>: not valid JSON"],
        ),
        ("example.com/custom", {"anything": "x"}, []),
    ],
    ids=["tls", "ssh", "basic-none", "basic-ok", "dockerconfigjson", "custom-is-opaque"],
)
def test_secret_types(type_: str, data: dict[str, str], expected: list[str]) -> None:
    doc = _secret(type=type_, stringData=data)
    if expected:
        assert _errors(structure_secret, doc) == expected
    else:
        assert structure_secret(doc).type == type_


def _pod(container: dict[str, Any], volumes: list[Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "a", "image": "x:1", **container}]}
    if volumes is not None:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (
            _pod(
                {
                    "env": [
                        {
                            "name": "A",
                            "value": "x",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        }
                    ]
                }
            ),
            'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when '
            "`value` is not empty",
        ),
        (
            _pod(
                {
                    "env": [
                        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a/b"}}}
                    ]
                }
            ),
            'spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Invalid value: "a/b"',
        ),
        (
            _pod(
                {"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIPs"}}}]}
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: not supported",
        ),
        (
            _pod({"envFrom": [{"configMapRef": {"name": "c"}, "secretRef": {"name": "s"}}]}),
            'spec.containers[0].envFrom[0]: Invalid value: "": may not have more than one field',
        ),
        (
            _pod(
                {},
                [
                    {
                        "name": "v",
                        "configMap": {"name": "c", "items": [{"key": "k", "path": "../x"}]},
                    }
                ],
            ),
            "spec.volumes[0].configMap.items[0].path: Invalid value: \"../x\": must not contain '..'",
        ),
        (
            _pod({}, [{"name": "v", "secret": {"secretName": "s", "defaultMode": 1000}}]),
            "spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 "
            "and 0777",
        ),
        (
            _pod({}, [{"name": "v", "secret": {"secretName": "s"}, "emptyDir": {}}]),
            "spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type",
        ),
    ],
    ids=[
        "value-and-valueFrom",
        "bad-key",
        "hostIPs",
        "two-refs",
        "dotdot-path",
        "mode",
        "two-types",
    ],
)
def test_pod_references_are_validated(pod: dict[str, Any], expected: str) -> None:
    errors = _errors(structure_pod, pod)
    assert any(e.startswith(expected) for e in errors), errors


def test_one_secrets_full_object_carries_its_values_in_base64() -> None:
    secret = structure_secret(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"a": base64.b64encode(b"from data").decode()},
            "stringData": {"b": "from stringData"},
        }
    )
    listed = secret_to_k8s(secret)
    assert "data" not in listed
    full = with_values(listed, secret)
    decoded = {k: base64.b64decode(v) for k, v in full["data"].items()}
    assert decoded == {"a": b"from data", "b": b"from stringData"}
    assert "stringData" not in full
    assert full["metadata"] == listed["metadata"]
    assert listed["metadata"]["uid"] == object_uid("Secret", "default", "creds")
