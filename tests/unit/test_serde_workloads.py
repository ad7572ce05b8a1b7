"""ReplicaSet and Deployment manifests: structure, errors with their paths, round trips, hashes."""

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.model.meta import ObjectMeta
from controller.model.pod import Container, Pod, PodSpec, RestartPolicy
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    IntOrPercent,
    LabelSelector,
    LabelSelectorRequirement,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdate,
    SelectorOperator,
    StrategyType,
    TemplateMeta,
)
from controller.serde import (
    OBJECT_KINDS,
    ManifestInvalid,
    structure_deployment,
    structure_object,
    structure_replicaset,
    template_hash,
    unstructure_deployment,
    unstructure_replicaset,
    workload_spec_hash,
)
from tests.unit.test_serde import label, pods

Doc = dict[str, Any]


def rs_doc() -> Doc:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "echo"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "echo"}},
            "template": {
                "metadata": {"labels": {"app": "echo"}},
                "spec": {"containers": [{"name": "echo", "image": "busybox:1"}]},
            },
        },
    }


def deploy_doc() -> Doc:
    doc = rs_doc()
    doc["kind"] = "Deployment"
    doc["metadata"]["name"] = "hello"
    return doc


def errors(doc: object) -> dict[str, str]:
    with pytest.raises(ManifestInvalid) as info:
        structure_object(doc)
    found: dict[str, str] = {}
    for e in info.value.errors:
        found.setdefault(e.path, e.message)
    return found


def mutate(doc: Doc, change: Callable[[Doc], object]) -> Doc:
    change(doc)
    return doc


def tspec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


TEMPLATE = PodTemplateSpec(
    metadata=TemplateMeta(labels={"app": "echo"}),
    spec=PodSpec(containers=(Container(name="echo", image="busybox:1"),)),
)


def test_minimal_replicaset() -> None:
    assert structure_replicaset(rs_doc()) == ReplicaSet(
        metadata=ObjectMeta(name="echo"),
        spec=ReplicaSetSpec(
            selector=LabelSelector(match_labels={"app": "echo"}), template=TEMPLATE, replicas=3
        ),
    )


def test_minimal_deployment_has_kubernetes_defaults() -> None:
    doc = deploy_doc()
    del doc["spec"]["replicas"]
    deployment = structure_deployment(doc)
    assert deployment == Deployment(
        metadata=ObjectMeta(name="hello"),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels={"app": "echo"}), template=TEMPLATE
        ),
    )
    spec = deployment.spec
    assert (spec.replicas, spec.revision_history_limit, spec.progress_deadline_seconds) == (
        1,
        10,
        600,
    )
    assert spec.strategy == DeploymentStrategy(StrategyType.ROLLING_UPDATE, None)
    assert spec.strategy.surge_and_unavailable(4) == (1, 1)


def test_structure_object_dispatches_on_kind() -> None:
    assert isinstance(structure_object(rs_doc()), ReplicaSet)
    assert isinstance(structure_object(deploy_doc()), Deployment)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }
    assert isinstance(structure_object(pod), Pod)
    namespace = structure_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    )
    assert namespace.kind == "Namespace"
    assert list(OBJECT_KINDS) == [
        "Pod",
        "ReplicaSet",
        "Deployment",
        "Namespace",
        "ConfigMap",
        "Secret",
        "PersistentVolumeClaim",
    ]


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        (
            {"kind": "Job"},
            "kind",
            'Unsupported value: "Job": supported values: "Pod", "ReplicaSet", "Deployment", '
            '"Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim"',
        ),
        ({"apiVersion": "v1"}, "kind", "Required value"),
        ({"kind": ""}, "kind", "Required value"),
        ({"kind": 3}, "kind", "Invalid value: 3: must be a string"),
        (["Pod"], "", 'Invalid value: ["Pod"]: must be an object'),
    ],
)
def test_structure_object_refuses_what_has_no_kind(doc: object, path: str, message: str) -> None:
    assert errors(doc) == {path: message}


@pytest.mark.parametrize(
    ("kind", "api_version", "wanted"),
    [
        ("ReplicaSet", "v1", "apps/v1"),
        ("ReplicaSet", "extensions/v1beta1", "apps/v1"),
        ("Deployment", "apps/v1beta2", "apps/v1"),
        ("Pod", "apps/v1", "v1"),
    ],
)
def test_api_version_must_match_the_kind(kind: str, api_version: str, wanted: str) -> None:
    doc = rs_doc() if kind != "Pod" else {"metadata": {"name": "p"}, "spec": {"containers": []}}
    doc.update(kind=kind, apiVersion=api_version)
    assert errors(doc)["apiVersion"] == (
        f'Unsupported value: "{api_version}": supported values: "{wanted}"'
    )


def test_missing_api_version() -> None:
    doc = rs_doc()
    del doc["apiVersion"]
    assert errors(doc) == {"apiVersion": "Required value"}


WRONG = [
    (lambda d: d["spec"].pop("selector"), "spec.selector", "Required value"),
    (lambda d: d["spec"].update(selector=None), "spec.selector", "Required value"),
    (lambda d: d["spec"].pop("template"), "spec.template", "Required value"),
    (lambda d: d["spec"]["template"].pop("spec"), "spec.template.spec", "Required value"),
    (lambda d: d.pop("spec"), "spec", "Required value"),
    (
        lambda d: d["spec"].update(replicas="3"),
        "spec.replicas",
        'Invalid value: "3": must be an integer',
    ),
    (
        lambda d: d["spec"].update(replicas=-1),
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        lambda d: d["spec"].update(minReadySeconds=1.5),
        "spec.minReadySeconds",
        "Invalid value: 1.5: must be an integer",
    ),
    (
        lambda d: d["spec"]["selector"]["matchLabels"].update(app=1),
        "spec.selector.matchLabels.app",
        "Invalid value: 1: must be a string",
    ),
    (
        lambda d: d["spec"]["selector"].update(matchLabels=["app"]),
        "spec.selector.matchLabels",
        'Invalid value: ["app"]: must be an object',
    ),
    (
        lambda d: d["spec"]["selector"].update(
            matchExpressions=[{"key": "app", "operator": "Equals", "values": ["echo"]}]
        ),
        "spec.selector.matchExpressions[0].operator",
        'Invalid value: "Equals": not a valid selector operator',
    ),
    (
        lambda d: d["spec"]["selector"].update(matchExpressions=[{"key": "app"}]),
        "spec.selector.matchExpressions[0].operator",
        "Required value",
    ),
    (
        lambda d: d["spec"]["selector"].update(
            matchExpressions=[{"operator": "Exists", "value": "x"}]
        ),
        "spec.selector.matchExpressions[0].value",
        "unknown field",
    ),
    (
        lambda d: d["spec"]["selector"].update(
            matchExpressions=[{"key": "app", "operator": "In", "values": "echo"}]
        ),
        "spec.selector.matchExpressions[0].values",
        'Invalid value: "echo": must be a list',
    ),
    (lambda d: d["spec"].update(replica=3), "spec.replica", "unknown field"),
    (lambda d: d["spec"]["selector"].update(app="echo"), "spec.selector.app", "unknown field"),
    (
        lambda d: d["spec"]["template"]["metadata"].update(name="echo"),
        "spec.template.metadata.name",
        "not supported",
    ),
    (
        lambda d: d["spec"]["template"]["metadata"].update(namespace="default"),
        "spec.template.metadata.namespace",
        "not supported",
    ),
    (
        lambda d: d["spec"]["template"]["metadata"].update(generateName="echo-"),
        "spec.template.metadata.generateName",
        "not supported",
    ),
    (
        lambda d: d["spec"]["template"]["metadata"].update(labelz={}),
        "spec.template.metadata.labelz",
        "unknown field",
    ),
    (lambda d: d["spec"]["template"].update(status={}), "spec.template.status", "unknown field"),
    (
        lambda d: tspec(d)["containers"][0].update(ports=[{"containerPort": "80"}]),
        "spec.template.spec.containers[0].ports[0].containerPort",
        'Invalid value: "80": must be an integer',
    ),
    (
        lambda d: tspec(d)["containers"][0].update(
            securityContext={"windowsOptions": {"runAsUserName": "u"}}
        ),
        "spec.template.spec.containers[0].securityContext.windowsOptions",
        "not supported",
    ),
    (lambda d: tspec(d).update(bogus=1), "spec.template.spec.bogus", "unknown field"),
    (
        lambda d: tspec(d).update(restartPolicy="Sometimes"),
        "spec.template.spec.restartPolicy",
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ),
    (
        lambda d: tspec(d)["containers"][0].update(resources={"limits": {"memory": "1Mi"}}),
        "spec.template.spec.containers[0].resources.limits.memory",
        'Invalid value: "1Mi": must be at least 6Mi (Docker: Minimum memory limit allowed is 6MB)',
    ),
    (
        lambda d: tspec(d)["containers"].append({"name": "echo", "image": "x"}),
        "spec.template.spec.containers[1].name",
        'Duplicate value: "echo"',
    ),
    (lambda d: tspec(d).update(containers=[]), "spec.template.spec.containers", "Required value"),
    (
        lambda d: d["spec"]["template"]["metadata"]["labels"].update(app="other"),
        "spec.template.metadata.labels",
        'Invalid value: {"app": "other"}: `selector` does not match template `labels`',
    ),
    (
        lambda d: d["spec"].update(selector={}),
        "spec.selector",
        "Invalid value: {}: empty selector is invalid for deployment",
    ),
    (
        lambda d: d["metadata"].update(name="x" * 58),
        "metadata.name",
        None,
    ),
]


@pytest.mark.parametrize("make", [rs_doc, deploy_doc], ids=["ReplicaSet", "Deployment"])
@pytest.mark.parametrize(("change", "path", "message"), WRONG)
def test_workload_errors_have_their_paths(
    make: Callable[[], Doc], change: Callable[[Doc], object], path: str, message: str | None
) -> None:
    found = errors(mutate(make(), change))
    assert path in found, found
    if message is not None:
        assert found[path] == message


DEPLOYMENT_WRONG = [
    (
        lambda s: s.update(strategy={"type": "Canary"}),
        "spec.strategy.type",
        'Unsupported value: "Canary": supported values: "RollingUpdate", "Recreate"',
    ),
    (
        lambda s: s.update(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        "spec.strategy.rollingUpdate",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ),
    (
        lambda s: s.update(strategy={"type": "Recreate", "rollingUpdate": {}}),
        "spec.strategy.rollingUpdate",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": "25"}}),
        "spec.strategy.rollingUpdate.maxSurge",
        'Invalid value: "25": a valid percent string must be a numeric string followed by an '
        "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": "25%\n"}}),
        "spec.strategy.rollingUpdate.maxSurge",
        None,
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": "-5%"}}),
        "spec.strategy.rollingUpdate.maxSurge",
        None,
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxUnavailable": 1.5}}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: 1.5: must be an integer or a percentage (e.g. '5%')",
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxUnavailable": True}}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: true: must be an integer or a percentage (e.g. '5%')",
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": 2**31}}),
        "spec.strategy.rollingUpdate.maxSurge",
        "Invalid value: 2147483648: must be a 32-bit integer",
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": "9" * 40 + "%"}}),
        "spec.strategy.rollingUpdate.maxSurge",
        None,
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        'Invalid value: "0%": may not be 0 when `maxSurge` is 0',
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxUnavailable": "101%"}}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        'Invalid value: "101%": must not be greater than 100%',
    ),
    (
        lambda s: s.update(strategy={"rollingUpdate": {"maxUnavailable": -1}}),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (lambda s: s.update(strategy={"kind": "x"}), "spec.strategy.kind", "unknown field"),
    (lambda s: s.update(paused=True), "spec.paused", "not supported"),
    (
        lambda s: s.update(podReplacementPolicy="TerminationComplete"),
        "spec.podReplacementPolicy",
        "not supported",
    ),
    (lambda s: s.update(rollbackTo={"revision": 1}), "spec.rollbackTo", "unknown field"),
    (
        lambda s: s.update(revisionHistoryLimit=-1),
        "spec.revisionHistoryLimit",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        lambda s: s.update(minReadySeconds=600),
        "spec.progressDeadlineSeconds",
        "Invalid value: 600: must be greater than minReadySeconds",
    ),
    (
        lambda s: s.update(progressDeadlineSeconds="600"),
        "spec.progressDeadlineSeconds",
        'Invalid value: "600": must be an integer',
    ),
    (
        lambda d: d.update(minReadySeconds=-1),
        "spec.minReadySeconds",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (lambda d: d["template"].update(metadata={"name": "x"}), "spec.template.metadata.name", None),
]


@pytest.mark.parametrize(("change", "path", "message"), DEPLOYMENT_WRONG)
def test_deployment_errors_have_their_paths(
    change: Callable[[Doc], object], path: str, message: str | None
) -> None:
    doc = deploy_doc()
    change(doc["spec"])
    found = errors(doc)
    assert path in found, found
    if message is not None:
        assert found[path] == message


def test_replicaset_has_no_strategy() -> None:
    doc = rs_doc()
    doc["spec"]["strategy"] = {"type": "Recreate"}
    doc["spec"]["paused"] = False
    assert errors(doc) == {"spec.strategy": "unknown field", "spec.paused": "unknown field"}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ({"type": "Recreate"}, DeploymentStrategy(StrategyType.RECREATE)),
        ({"type": "Recreate", "rollingUpdate": None}, DeploymentStrategy(StrategyType.RECREATE)),
        ({}, DeploymentStrategy()),
        ({"type": ""}, DeploymentStrategy()),
        ({"rollingUpdate": {}}, DeploymentStrategy(rolling_update=RollingUpdate())),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            DeploymentStrategy(
                rolling_update=RollingUpdate(IntOrPercent(1), IntOrPercent(0)),
            ),
        ),
        (
            {"rollingUpdate": {"maxSurge": "200%", "maxUnavailable": "0%"}},
            DeploymentStrategy(
                rolling_update=RollingUpdate(IntOrPercent(200, True), IntOrPercent(0, True)),
            ),
        ),
        (
            {"rollingUpdate": {"maxUnavailable": "100%"}},
            DeploymentStrategy(
                rolling_update=RollingUpdate(max_unavailable=IntOrPercent(100, True))
            ),
        ),
    ],
)
def test_strategies(strategy: Doc, expected: DeploymentStrategy) -> None:
    doc = deploy_doc()
    doc["spec"]["strategy"] = strategy
    assert structure_deployment(doc).spec.strategy == expected


def test_harmless_and_empty_fields_are_accepted() -> None:
    doc = deploy_doc()
    doc["spec"].update(paused=False, replicas=None, minReadySeconds=None)
    doc["spec"]["template"]["metadata"].update(creationTimestamp=None, name="", namespace=None)
    doc["status"] = {"replicas": 7, "conditions": [{"type": "Available"}]}
    assert structure_deployment(doc).spec.replicas == 1


def test_template_metadata_may_be_absent() -> None:
    doc = rs_doc()
    del doc["spec"]["template"]["metadata"]
    doc["spec"]["selector"] = {"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}
    rs = structure_replicaset(doc)
    assert rs.spec.template.metadata == TemplateMeta()
    assert unstructure_replicaset(rs)["spec"]["template"]["metadata"] == {}
    doc["spec"]["selector"] = {"matchLabels": {"app": "echo"}}
    assert errors(doc) == {
        "spec.template.metadata.labels": (
            "Invalid value: {}: `selector` does not match template `labels`"
        )
    }


def test_status_is_ignored() -> None:
    doc = rs_doc()
    doc["status"] = {"replicas": 2, "anything": [1]}
    assert structure_replicaset(doc) == structure_replicaset(rs_doc())


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_every_template_restart_policy_is_accepted(policy: str) -> None:
    for make in (rs_doc, deploy_doc):
        doc = make()
        tspec(doc)["restartPolicy"] = policy
        obj = structure_object(doc)
        assert isinstance(obj, ReplicaSet | Deployment)
        assert obj.spec.template.spec.restart_policy is RestartPolicy(policy)


def test_all_errors_are_collected() -> None:
    doc = deploy_doc()
    doc["apiVersion"] = "extensions/v1beta1"
    doc["spec"]["paused"] = True
    doc["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": "x"}}
    tspec(doc)["containers"][0]["tty"] = True
    with pytest.raises(ManifestInvalid) as info:
        structure_object(doc)
    assert sorted(str(e) for e in info.value.errors) == [
        'apiVersion: Unsupported value: "extensions/v1beta1": supported values: "apps/v1"',
        "spec.paused: not supported",
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "x": a valid percent string must '
        "be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
        "validation is '[0-9]+%')",
        "spec.template.spec.containers[0].tty: not supported",
    ]


# --- unstructure ---------------------------------------------------------------------------------


def test_unstructure_replicaset_shape() -> None:
    assert unstructure_replicaset(structure_replicaset(rs_doc())) == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "echo"}},
            "template": {
                "metadata": {"labels": {"app": "echo"}},
                "spec": {
                    "containers": [{"name": "echo", "image": "busybox:1"}],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
    }


def test_unstructure_deployment_shows_kubernetes_defaults() -> None:
    doc = deploy_doc()
    del doc["spec"]["replicas"]
    out = unstructure_deployment(structure_deployment(doc))
    assert list(out) == ["apiVersion", "kind", "metadata", "spec"]
    spec = out["spec"]
    assert list(spec) == [
        "replicas",
        "selector",
        "template",
        "strategy",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate"}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)


FULL_DEPLOYMENT: Doc = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "hello",
        "namespace": "team-a",
        "labels": {"app": "hello"},
        "annotations": {"example.com/owner": "ops"},
    },
    "spec": {
        "replicas": 0,
        "selector": {
            "matchLabels": {"app": "hello"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["web", "api"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        },
        "template": {
            "metadata": {
                "labels": {"app": "hello", "tier": "web"},
                "annotations": {"example.com/build": "42"},
            },
            "spec": {
                "containers": [
                    {
                        "name": "hello",
                        "image": "busybox:1",
                        "command": ["sh", "-c", "sleep 3600"],
                        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    }
                ],
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 5,
            },
        },
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "50%"},
        },
        "minReadySeconds": 5,
        "revisionHistoryLimit": 3,
        "progressDeadlineSeconds": 120,
    },
}


def test_full_deployment_round_trip() -> None:
    deployment = structure_deployment(copy.deepcopy(FULL_DEPLOYMENT))
    assert deployment.spec.strategy.rolling_update == RollingUpdate(
        IntOrPercent(1), IntOrPercent(50, percent=True)
    )
    assert deployment.spec.selector.match_expressions == (
        LabelSelectorRequirement("tier", SelectorOperator.IN, ("web", "api")),
        LabelSelectorRequirement("canary", SelectorOperator.DOES_NOT_EXIST),
    )
    out = unstructure_deployment(deployment)
    assert out == FULL_DEPLOYMENT
    assert json.loads(json.dumps(out)) == out
    assert structure_deployment(json.loads(json.dumps(out))) == deployment


# --- generated workloads ---------------------------------------------------------------------------

label_values = st.sampled_from(["", "a", "v1.2", "web"])


@st.composite
def labels_and_selectors(draw: st.DrawFn) -> tuple[dict[str, str], LabelSelector]:
    """Template labels and a non-empty selector that matches them, built from every operator."""
    labels = draw(st.dictionaries(label, label_values, min_size=1, max_size=4))
    keys = sorted(labels)
    chosen = draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True))
    expressions: list[LabelSelectorRequirement] = []
    for operator in draw(st.lists(st.sampled_from(SelectorOperator), max_size=3)):
        if operator is SelectorOperator.IN:
            key = draw(st.sampled_from(keys))
            others = draw(st.lists(label_values, max_size=2))
            values = tuple(dict.fromkeys([*others, labels[key]]))
        elif operator is SelectorOperator.NOT_IN:
            key = draw(label)
            values = tuple(
                v
                for v in draw(st.lists(label_values, min_size=1, max_size=3))
                if v != labels.get(key)
            ) or ("never-a-value",)
        elif operator is SelectorOperator.EXISTS:
            key, values = draw(st.sampled_from(keys)), ()
        else:
            key, values = draw(label.filter(lambda k: k not in labels)), ()
        expressions.append(LabelSelectorRequirement(key, operator, values))
    match_labels = {k: labels[k] for k in chosen}
    if not match_labels and not expressions:
        match_labels = {keys[0]: labels[keys[0]]}
    return labels, LabelSelector(match_labels, tuple(expressions))


@st.composite
def templates(draw: st.DrawFn, labels: dict[str, str]) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=TemplateMeta(
            labels=labels,
            annotations=draw(st.dictionaries(label, st.text(max_size=10), max_size=2)),
        ),
        spec=draw(pods()).spec,
    )


def metas(draw: st.DrawFn) -> ObjectMeta:
    return ObjectMeta(
        name=draw(label),
        namespace=draw(st.sampled_from(["default", "team-a"])),
        labels=draw(st.dictionaries(label, label_values, max_size=2)),
    )


@st.composite
def replicasets(draw: st.DrawFn) -> ReplicaSet:
    labels, selector = draw(labels_and_selectors())
    return ReplicaSet(
        metadata=metas(draw),
        spec=ReplicaSetSpec(
            selector=selector,
            template=draw(templates(labels)),
            replicas=draw(st.integers(0, 50)),
            min_ready_seconds=draw(st.integers(0, 100)),
        ),
    )


int_or_percent = st.builds(IntOrPercent, st.integers(0, 10), st.booleans()) | st.builds(
    IntOrPercent, st.integers(1, 100), st.just(True)
)


@st.composite
def deployments(draw: st.DrawFn) -> Deployment:
    labels, selector = draw(labels_and_selectors())
    strategy_type = draw(st.sampled_from(StrategyType))
    rolling: RollingUpdate | None = None
    if strategy_type is StrategyType.ROLLING_UPDATE and draw(st.booleans()):
        surge = draw(int_or_percent)
        unavailable = draw(int_or_percent.filter(lambda u: u.value or surge.value))
        rolling = RollingUpdate(surge, unavailable)
    min_ready = draw(st.integers(0, 100))
    return Deployment(
        metadata=metas(draw),
        spec=DeploymentSpec(
            selector=selector,
            template=draw(templates(labels)),
            replicas=draw(st.integers(0, 50)),
            strategy=DeploymentStrategy(strategy_type, rolling),
            min_ready_seconds=min_ready,
            revision_history_limit=draw(st.integers(0, 20)),
            progress_deadline_seconds=draw(st.integers(min_ready + 1, 3600)),
        ),
    )


@settings(max_examples=150)
@given(replicasets())
def test_replicaset_structure_of_unstructure_is_identity(rs: ReplicaSet) -> None:
    data = json.loads(json.dumps(unstructure_replicaset(rs)))
    again = structure_object(data)
    assert again == rs
    assert workload_spec_hash(again) == workload_spec_hash(rs)
    assert template_hash(again.spec.template) == template_hash(rs.spec.template)


@settings(max_examples=150)
@given(deployments())
def test_deployment_structure_of_unstructure_is_identity(deployment: Deployment) -> None:
    data = json.loads(json.dumps(unstructure_deployment(deployment)))
    again = structure_object(data)
    assert again == deployment
    assert workload_spec_hash(again) == workload_spec_hash(deployment)


@settings(max_examples=100)
@given(labels_and_selectors())
def test_a_matching_selector_is_valid_and_survives_serde(
    case: tuple[dict[str, str], LabelSelector],
) -> None:
    labels, selector = case
    assert selector.matches(labels)
    rs = ReplicaSet(
        ObjectMeta("x"),
        ReplicaSetSpec(selector, attrs.evolve(TEMPLATE, metadata=TemplateMeta(labels))),
    )
    again = structure_replicaset(json.loads(json.dumps(unstructure_replicaset(rs))))
    assert again.spec.selector == selector


requirements = st.builds(
    LabelSelectorRequirement,
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(SelectorOperator),
    st.lists(label_values, min_size=1, max_size=2).map(tuple),
)


@given(requirements, st.dictionaries(st.sampled_from(["a", "b", "c"]), label_values))
def test_selector_operators_agree_with_each_other(
    requirement: LabelSelectorRequirement, labels: dict[str, str]
) -> None:
    def holds(operator: SelectorOperator) -> bool:
        return attrs.evolve(requirement, operator=operator).matches(labels)

    assert holds(SelectorOperator.EXISTS) is not holds(SelectorOperator.DOES_NOT_EXIST)
    assert holds(SelectorOperator.IN) is (
        holds(SelectorOperator.EXISTS) and not holds(SelectorOperator.NOT_IN)
    )
    assert holds(SelectorOperator.IN) is (labels.get(requirement.key) in requirement.values)


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), label_values),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), label_values, min_size=1),
)
def test_match_labels_is_a_subset_test(labels: dict[str, str], wanted: dict[str, str]) -> None:
    selector = LabelSelector(match_labels=wanted)
    assert selector.matches(labels) is (wanted.items() <= labels.items())
    assert selector.matches({**labels, **wanted})


# --- hashes ----------------------------------------------------------------------------------------

SAFE = set("bcdfghjklmnpqrstvwxz2456789")


def test_template_hash_is_pinned() -> None:
    # Pinned: a change here renames every Deployment's ReplicaSets (and restarts their pods).
    assert template_hash(TEMPLATE) == "77nl8p8q25"
    canonical = (
        '{"metadata":{"labels":{"app":"echo"}},"spec":{"containers":[{"image":"busybox:1",'
        '"name":"echo"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30}}'
    )
    number = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    expected = ""
    for _ in range(10):
        number, index = divmod(number, 27)
        expected += alphabet[index]
    assert template_hash(TEMPLATE) == expected


def test_template_hash_ignores_key_order_but_not_content() -> None:
    doc = rs_doc()
    reordered = json.loads(json.dumps(doc, sort_keys=True))
    base = template_hash(structure_replicaset(doc).spec.template)
    assert template_hash(structure_replicaset(reordered).spec.template) == base
    relabelled = mutate(
        rs_doc(), lambda d: d["spec"]["template"]["metadata"]["labels"].update(v="2")
    )
    assert template_hash(structure_replicaset(relabelled).spec.template) != base
    reimaged = mutate(rs_doc(), lambda d: tspec(d)["containers"][0].update(image="busybox:2"))
    assert template_hash(structure_replicaset(reimaged).spec.template) != base
    scaled = mutate(rs_doc(), lambda d: d["spec"].update(replicas=9))
    assert template_hash(structure_replicaset(scaled).spec.template) == base


@settings(max_examples=100)
@given(replicasets())
def test_template_hash_is_a_safe_name_part(rs: ReplicaSet) -> None:
    value = template_hash(rs.spec.template)
    assert len(value) == 10
    assert set(value) <= SAFE


def test_workload_spec_hash() -> None:
    rs = structure_replicaset(rs_doc())
    value = workload_spec_hash(rs)
    assert len(value) == 16
    assert int(value, 16) >= 0
    relabelled = mutate(rs_doc(), lambda d: d["metadata"].update(labels={"team": "a"}))
    assert workload_spec_hash(structure_replicaset(relabelled)) == value
    scaled = mutate(rs_doc(), lambda d: d["spec"].update(replicas=4))
    assert workload_spec_hash(structure_replicaset(scaled)) != value
    deployment = structure_deployment(deploy_doc())
    recreate = mutate(deploy_doc(), lambda d: d["spec"].update(strategy={"type": "Recreate"}))
    assert workload_spec_hash(structure_deployment(recreate)) != workload_spec_hash(deployment)
