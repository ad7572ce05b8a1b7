"""The placement fields' rules, read from manifests as users write them, with Kubernetes' paths."""

from __future__ import annotations

from typing import Any

import pytest

from controller.model.pod import Pod, PodSpec
from controller.model.validation.pod import validate_pod_spec
from controller.serde import ManifestInvalid, structure_pod

AFFINITY = "spec.affinity.nodeAffinity"
REQUIRED = f"{AFFINITY}.requiredDuringSchedulingIgnoredDuringExecution"
TERM = f"{REQUIRED}.nodeSelectorTerms[0]"


def problems(**spec: Any) -> list[str]:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1"}], **spec},
    }
    try:
        structure_pod(manifest)
    except ManifestInvalid as invalid:
        return [str(e) for e in invalid.errors]
    return []


def expressions(*requirements: dict[str, Any], fields: bool = False) -> dict[str, Any]:
    term = {"matchFields" if fields else "matchExpressions": list(requirements)}
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }


def test_valid_placement_has_no_errors() -> None:
    assert not problems(
        nodeName="n1.example",
        nodeSelector={"disktype": "ssd", "example.com/zone": "a"},
        tolerations=[
            {"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"},
            {"operator": "Exists"},
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 30,
            },
        ],
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "disk", "operator": "In", "values": ["ssd"]},
                                {"key": "cores", "operator": "Gt", "values": ["2"]},
                                {"key": "spot", "operator": "DoesNotExist"},
                            ]
                        },
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "NotIn", "values": ["n2"]}
                            ]
                        },
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
                    }
                ],
            }
        },
    )


def test_node_name_is_a_dns_subdomain() -> None:
    (error,) = problems(nodeName="Node_1")
    assert error.startswith(
        'spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain'
    )


def test_node_selector_keys_and_values_are_labels() -> None:
    found = problems(nodeSelector={"bad key": "ok", "disk": "-ssd"})
    assert [e.split(":")[0] for e in found] == ["spec.nodeSelector", "spec.nodeSelector"]
    assert 'Invalid value: "bad key"' in found[0]
    assert 'Invalid value: "-ssd"' in found[1]


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        (
            {"operator": "Equal", "value": "x"},
            'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when '
            '`key` is empty, which means "match all values and all keys"',
        ),
        (
            {"key": "gpu", "operator": "Exists", "value": "yes"},
            'spec.tolerations[0].operator: Invalid value: "Exists": value must be empty when '
            "`operator` is 'Exists'",
        ),
        (
            {"key": "gpu", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
            'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be '
            "'NoExecute' when `tolerationSeconds` is set",
        ),
        (
            {"key": "gpu", "operator": "Exists", "tolerationSeconds": 5},
            'spec.tolerations[0].effect: Invalid value: "": effect must be '
            "'NoExecute' when `tolerationSeconds` is set",
        ),
    ],
    ids=["empty-key-needs-exists", "exists-without-value", "seconds-need-noexecute", "no-effect"],
)
def test_toleration_rules(toleration: dict[str, Any], expected: str) -> None:
    assert problems(tolerations=[toleration]) == [expected]


def test_toleration_key_and_value_syntax() -> None:
    found = problems(tolerations=[{"key": "a/b/c", "value": "not ok!"}])
    assert [e.split(":")[0] for e in found] == [
        "spec.tolerations[0].key",
        "spec.tolerations[0].value",
    ]


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (
            {"key": "disk", "operator": "In"},
            f"{TERM}.matchExpressions[0].values: Required value: must be specified when "
            "`operator` is 'In' or 'NotIn'",
        ),
        (
            {"key": "disk", "operator": "Exists", "values": ["ssd"]},
            f"{TERM}.matchExpressions[0].values: Forbidden: may not be specified when "
            "`operator` is 'Exists' or 'DoesNotExist'",
        ),
        (
            {"key": "cores", "operator": "Gt", "values": ["1", "2"]},
            f"{TERM}.matchExpressions[0].values: Required value: must be specified single value "
            "when `operator` is 'Lt' or 'Gt'",
        ),
        (
            {"key": "cores", "operator": "Lt", "values": ["two"]},
            f'{TERM}.matchExpressions[0].values[0]: Invalid value: "two": must be an integer '
            "when `operator` is 'Lt' or 'Gt'",
        ),
    ],
    ids=["in-needs-values", "exists-no-values", "gt-one-value", "lt-integer"],
)
def test_match_expression_rules(requirement: dict[str, Any], expected: str) -> None:
    assert problems(affinity=expressions(requirement)) == [expected]


def test_match_expression_key_is_a_label_key() -> None:
    (error,) = problems(affinity=expressions({"key": "bad key", "operator": "Exists"}))
    assert error.startswith(f'{TERM}.matchExpressions[0].key: Invalid value: "bad key"')


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (
            {"key": "metadata.labels", "operator": "In", "values": ["a"]},
            f'{TERM}.matchFields[0].key: Invalid value: "metadata.labels": '
            "not a valid field selector key",
        ),
        (
            {"key": "metadata.name", "operator": "Exists"},
            f'{TERM}.matchFields[0].operator: Invalid value: "Exists": '
            "not a valid selector operator",
        ),
        (
            {"key": "metadata.name", "operator": "In", "values": ["n1", "n2"]},
            f"{TERM}.matchFields[0].values: Required value: must be only one value when "
            "`operator` is 'In' or 'NotIn' for node field selector",
        ),
    ],
    ids=["only-metadata-name", "in-or-notin", "one-value"],
)
def test_match_field_rules(requirement: dict[str, Any], expected: str) -> None:
    assert problems(affinity=expressions(requirement, fields=True)) == [expected]


def test_required_affinity_needs_a_term() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
        }
    }
    assert problems(affinity=affinity) == [
        f"{REQUIRED}.nodeSelectorTerms: Required value: must have at least one node selector term"
    ]


@pytest.mark.parametrize("weight", [0, 101])
def test_preferred_weight_is_1_to_100(weight: int) -> None:
    affinity = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": weight,
                    "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
                }
            ]
        }
    }
    assert problems(affinity=affinity) == [
        f"{AFFINITY}.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
        f"Invalid value: {weight}: must be in the range 1-100"
    ]


def test_a_template_is_held_to_the_same_rules() -> None:
    pod: Pod = structure_pod(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "x"},
            "spec": {"containers": [{"name": "a", "image": "b:1"}], "nodeName": "n1"},
        }
    )
    spec = PodSpec(containers=pod.spec.containers, node_name="UPPER")
    (error,) = validate_pod_spec("spec.template.spec", spec)
    assert error.path == "spec.template.spec.nodeName"
