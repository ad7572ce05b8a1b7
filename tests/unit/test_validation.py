from collections.abc import Callable
from typing import Any

import attrs
import pytest

from controller.model.meta import ObjectMeta
from controller.model.pod import (
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    EnvVar,
    HostPathVolumeSource,
    Pod,
    PodSpec,
    PortProtocol,
    ResourceList,
    ResourceRequirements,
    RestartPolicy,
    Volume,
    VolumeMount,
)
from controller.model.quantity import Quantity
from controller.model.validation.meta import (
    FieldError,
    dns1123_label_problems,
    port_name_problems,
    qualified_name_problems,
)
from controller.model.validation.pod import validate_pod
from controller.model.validation.workloads import (
    MAX_DEPLOYMENT_NAME,
    MAX_REPLICASET_NAME,
    validate_deployment,
    validate_replicaset,
)
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


def container(**changes: Any) -> Container:
    return attrs.evolve(Container(name="web", image="nginx:1.27"), **changes)


def pod(*containers: Container, name: str = "web", **spec: Any) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name),
        spec=PodSpec(containers=containers or (container(),), **spec),
    )


def errors(p: Pod) -> dict[str, str]:
    found = validate_pod(p)
    return {e.path: e.message for e in found}


def q(text: str) -> Quantity:
    return Quantity.parse(text)


def test_valid_pod_has_no_errors() -> None:
    data = Volume("data", empty_dir=EmptyDirVolumeSource(size_limit=q("1Gi")))
    host = Volume("host", host_path=HostPathVolumeSource("/srv/web"))
    web = container(
        ports=(
            ContainerPort(80, host_port=8080, name="http"),
            ContainerPort(53, protocol=PortProtocol.UDP),
        ),
        env=(EnvVar("MY_VAR.x-1", "v"),),
        resources=ResourceRequirements(
            requests=ResourceList(cpu=q("100m"), memory=q("64Mi")),
            limits=ResourceList(cpu=q("1"), memory=q("128Mi")),
        ),
        volume_mounts=(VolumeMount("data", "/data"), VolumeMount("host", "/srv", sub_path="a/b")),
        working_dir="/app",
    )
    p = Pod(
        metadata=ObjectMeta(
            name="web.example",
            namespace="team-a",
            labels={"app.kubernetes.io/name": "web", "tier": ""},
            annotations={"example.com/note": "anything at all"},
        ),
        spec=PodSpec(
            containers=(web, container(name="side")), volumes=(data, host), hostname="web-0"
        ),
    )
    assert validate_pod(p) == []


def test_field_error_str() -> None:
    assert str(FieldError("metadata.name", "Required value")) == "metadata.name: Required value"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("web", True),
        ("web-1.example", True),
        ("Web", False),
        ("-web", False),
        ("web_1", False),
        ("a" * 253, True),
        ("a" * 254, False),
        ("web.", False),
    ],
)
def test_pod_name_is_a_dns_subdomain(name: str, ok: bool) -> None:
    assert ("metadata.name" not in errors(pod(name=name))) is ok


def test_pod_name_required() -> None:
    assert errors(pod(name="")) == {"metadata.name": "Required value"}


def test_namespace_is_a_label() -> None:
    p = attrs.evolve(pod(), metadata=ObjectMeta(name="web", namespace="a.b"))
    assert errors(p)["metadata.namespace"].startswith(
        'Invalid value: "a.b": a lowercase RFC 1123 label'
    )


def test_dns_label_length() -> None:
    assert dns1123_label_problems("a" * 63) == []
    assert dns1123_label_problems("a" * 64) == ["must be no more than 63 characters"]


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("app", True),
        ("example.com/app", True),
        ("a/b/c", False),
        ("/app", False),
        ("Example.com/app", False),
        ("example.com/", False),
        ("a" * 64, False),
        ("-app", False),
    ],
)
def test_label_keys(key: str, ok: bool) -> None:
    assert (qualified_name_problems(key) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("v1.2_3-x", True), ("-x", False), ("a b", False), ("a" * 64, False)],
)
def test_label_values(value: str, ok: bool) -> None:
    p = attrs.evolve(pod(), metadata=ObjectMeta(name="web", labels={"k": value}))
    assert ("metadata.labels" not in errors(p)) is ok


def test_container_rules() -> None:
    p = pod(
        container(name="Web", image=""),
        container(name="b", image=" nginx"),
        container(name="b", working_dir="app"),
    )
    found = errors(p)
    assert found["spec.containers[0].name"].startswith('Invalid value: "Web": a lowercase RFC 1123')
    assert found["spec.containers[0].image"] == "Required value"
    assert found["spec.containers[1].image"] == (
        'Invalid value: " nginx": must not have leading or trailing whitespace'
    )
    assert found["spec.containers[2].name"] == 'Duplicate value: "b"'
    assert found["spec.containers[2].workingDir"].startswith(
        'Invalid value: "app": must be an absolute'
    )


def test_at_least_one_container() -> None:
    p = Pod(metadata=ObjectMeta(name="web"), spec=PodSpec(containers=()))
    assert errors(p) == {"spec.containers": "Required value"}


def test_ports() -> None:
    web = container(
        ports=(
            ContainerPort(0),
            ContainerPort(80, host_port=70000),
            ContainerPort(81, name="http-web-server-1"),
            ContainerPort(82, name="http"),
            ContainerPort(83, name="http"),
            ContainerPort(84, host_port=8080, host_ip="1.2.3"),
            ContainerPort(85, name="--"),
        )
    )
    found = errors(pod(web))
    assert found["spec.containers[0].ports[0].containerPort"] == (
        "Invalid value: 0: must be between 1 and 65535, inclusive"
    )
    assert found["spec.containers[0].ports[1].hostPort"] == (
        "Invalid value: 70000: must be between 1 and 65535, inclusive"
    )
    assert found["spec.containers[0].ports[2].name"] == (
        'Invalid value: "http-web-server-1": must be no more than 15 characters'
    )
    assert found["spec.containers[0].ports[4].name"] == 'Duplicate value: "http"'
    assert found["spec.containers[0].ports[5].hostIP"].startswith(
        'Invalid value: "1.2.3": must be a valid IP address'
    )
    assert "spec.containers[0].ports[6].name" in found


def test_port_name_rules() -> None:
    assert port_name_problems("http") == []
    assert "must contain at least one letter (a-z)" in port_name_problems("8080")
    assert "must not contain consecutive hyphens" in port_name_problems("a--b")
    assert "must not begin or end with a hyphen" in port_name_problems("-ab")


def test_host_ports_unique_per_protocol_and_ip_across_the_pod() -> None:
    a = container(
        name="a",
        ports=(
            ContainerPort(80, host_port=8080),
            ContainerPort(53, host_port=5353, protocol=PortProtocol.UDP),
        ),
    )
    b = container(
        name="b",
        ports=(
            ContainerPort(80, host_port=8080),  # same as a: conflict
            ContainerPort(53, host_port=5353),  # TCP vs UDP: fine
            ContainerPort(81, host_port=9090, host_ip="10.0.0.1"),
            ContainerPort(82, host_port=9090, host_ip="10.0.0.2"),  # other address: fine
            ContainerPort(83, host_port=9090, host_ip="0.0.0.0"),  # wildcard overlaps: conflict
        ),
    )
    found = errors(pod(a, b))
    assert found == {
        "spec.containers[1].ports[0].hostPort": 'Duplicate value: "8080/TCP"',
        "spec.containers[1].ports[4].hostPort": 'Duplicate value: "9090/TCP"',
    }


def test_env_names() -> None:
    web = container(env=(EnvVar("OK_1"), EnvVar("1BAD"), EnvVar(""), EnvVar("a b")))
    found = errors(pod(web))
    assert set(found) == {
        "spec.containers[0].env[1].name",
        "spec.containers[0].env[2].name",
        "spec.containers[0].env[3].name",
    }
    assert found["spec.containers[0].env[2].name"] == "Required value"
    assert "a valid environment variable name" in found["spec.containers[0].env[1].name"]


def test_resources() -> None:
    web = container(
        resources=ResourceRequirements(
            requests=ResourceList(cpu=q("2"), memory=q("1Gi")),
            limits=ResourceList(cpu=q("1"), memory=q("4Mi")),
        )
    )
    found = errors(pod(web))
    path = "spec.containers[0].resources"
    assert found[f"{path}.requests.cpu"] == (
        'Invalid value: "2": must be less than or equal to cpu limit of 1'
    )
    assert found[f"{path}.requests.memory"] == (
        'Invalid value: "1Gi": must be less than or equal to memory limit of 4Mi'
    )
    assert "Minimum memory limit allowed is 6MB" in found[f"{path}.limits.memory"]
    assert found[f"{path}.limits.memory"].startswith('Invalid value: "4Mi"')


@pytest.mark.parametrize(("memory", "ok"), [("6Mi", True), ("6291455", False), ("0", False)])
def test_memory_limit_minimum(memory: str, ok: bool) -> None:
    web = container(resources=ResourceRequirements(limits=ResourceList(memory=q(memory))))
    assert (errors(pod(web)) == {}) is ok


@pytest.mark.parametrize(
    ("cpu", "ok"), [("10m", True), ("0.01", True), ("9m", False), ("0", False)]
)
def test_cpu_limit_minimum(cpu: str, ok: bool) -> None:
    web = container(resources=ResourceRequirements(limits=ResourceList(cpu=q(cpu))))
    assert (errors(pod(web)) == {}) is ok


def test_request_without_limit_is_fine() -> None:
    web = container(
        resources=ResourceRequirements(requests=ResourceList(cpu=q("8"), memory=q("1")))
    )
    assert errors(pod(web)) == {}


def test_volumes() -> None:
    volumes = (
        Volume("data", empty_dir=EmptyDirVolumeSource()),
        Volume("data", empty_dir=EmptyDirVolumeSource(size_limit=q("0"))),
        Volume("none"),
        Volume("both", empty_dir=EmptyDirVolumeSource(), host_path=HostPathVolumeSource("/x")),
        Volume("rel", host_path=HostPathVolumeSource("srv")),
        Volume("Bad_Name", empty_dir=EmptyDirVolumeSource()),
    )
    found = errors(pod(volumes=volumes))
    assert found["spec.volumes[1].name"] == 'Duplicate value: "data"'
    assert (
        found["spec.volumes[1].emptyDir.sizeLimit"]
        == 'Invalid value: "0": must be greater than zero'
    )
    assert found["spec.volumes[2]"] == "Required value: must specify a volume type"
    assert found["spec.volumes[3].hostPath"] == "Forbidden: may not specify more than 1 volume type"
    assert (
        found["spec.volumes[4].hostPath.path"] == 'Invalid value: "srv": must be an absolute path'
    )
    assert "spec.volumes[5].name" in found
    assert len(found) == 6


def test_volume_mounts() -> None:
    web = container(
        volume_mounts=(
            VolumeMount("data", "/data"),
            VolumeMount("missing", "/m"),
            VolumeMount("data", "/data/"),
            VolumeMount("data", "relative"),
            VolumeMount("data", "/a", sub_path="/abs"),
            VolumeMount("data", "/b", sub_path="x/../../etc"),
            VolumeMount("data", "/"),
            VolumeMount("", ""),
        )
    )
    found = errors(pod(web, volumes=(Volume("data", empty_dir=EmptyDirVolumeSource()),)))
    path = "spec.containers[0].volumeMounts"
    assert found == {
        f"{path}[1].name": 'Not found: "missing"',
        f"{path}[2].mountPath": 'Invalid value: "/data/": must be unique',
        f"{path}[3].mountPath": 'Invalid value: "relative": must be an absolute path',
        f"{path}[4].subPath": 'Invalid value: "/abs": must be a relative path',
        f"{path}[5].subPath": "Invalid value: \"x/../../etc\": must not contain '..'",
        f"{path}[6].mountPath": "Invalid value: \"/\": must not be '/'",
        f"{path}[7].name": "Required value",
        f"{path}[7].mountPath": "Required value",
    }


def test_spec_rules() -> None:
    found = errors(pod(termination_grace_period_seconds=-1, hostname="Not_A_Label"))
    assert found["spec.terminationGracePeriodSeconds"] == (
        "Invalid value: -1: must be greater than or equal to 0"
    )
    assert found["spec.hostname"].startswith('Invalid value: "Not_A_Label"')


def test_termination_message_policy() -> None:
    found = errors(pod(container(termination_message_policy="Sometimes")))
    assert found["spec.containers[0].terminationMessagePolicy"] == (
        'Unsupported value: "Sometimes": supported values: "File", "FallbackToLogsOnError"'
    )


def test_annotations_total_size() -> None:
    p = attrs.evolve(pod(), metadata=ObjectMeta(name="web", annotations={"a": "x" * 300_000}))
    assert errors(p) == {"metadata.annotations": "Too long: must have at most 262144 bytes"}


def test_all_errors_reported_in_document_order() -> None:
    p = pod(container(name="", image=""), name="")
    assert [e.path for e in validate_pod(p)] == [
        "metadata.name",
        "spec.containers[0].name",
        "spec.containers[0].image",
    ]


# --- ReplicaSet and Deployment -------------------------------------------------------------------

APP = {"app": "echo"}


def template(labels: dict[str, str] | None = None, **spec: Any) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=TemplateMeta(labels=APP if labels is None else labels),
        spec=PodSpec(containers=spec.pop("containers", (container(),)), **spec),
    )


def replicaset(
    name: str = "echo",
    selector: LabelSelector | None = None,
    tmpl: PodTemplateSpec | None = None,
    **spec: Any,
) -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(name=name),
        spec=ReplicaSetSpec(
            selector=LabelSelector(match_labels=APP) if selector is None else selector,
            template=tmpl or template(),
            **spec,
        ),
    )


def deployment(
    name: str = "hello",
    selector: LabelSelector | None = None,
    tmpl: PodTemplateSpec | None = None,
    **spec: Any,
) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name=name),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels=APP) if selector is None else selector,
            template=tmpl or template(),
            **spec,
        ),
    )


def rs_errors(rs: ReplicaSet) -> dict[str, str]:
    return {e.path: e.message for e in validate_replicaset(rs)}


def d_errors(d: Deployment) -> dict[str, str]:
    return {e.path: e.message for e in validate_deployment(d)}


def req(key: str, operator: str, *values: str) -> LabelSelectorRequirement:
    return LabelSelectorRequirement(key, SelectorOperator(operator), values)


def test_valid_workloads_have_no_errors() -> None:
    selector = LabelSelector(
        match_labels=APP,
        match_expressions=(
            req("tier", "In", "web", "api"),
            req("track", "NotIn", "canary"),
            req("app", "Exists"),
            req("canary", "DoesNotExist"),
        ),
    )
    tmpl = template({"app": "echo", "tier": "web"})
    assert validate_replicaset(replicaset(selector=selector, tmpl=tmpl, replicas=0)) == []
    assert validate_deployment(deployment(selector=selector, tmpl=tmpl, replicas=5)) == []


@pytest.mark.parametrize("policy", list(RestartPolicy))
def test_any_template_restart_policy_is_accepted(policy: RestartPolicy) -> None:
    tmpl = template(restart_policy=policy)
    assert validate_replicaset(replicaset(tmpl=tmpl)) == []
    assert validate_deployment(deployment(tmpl=tmpl)) == []


@pytest.mark.parametrize(
    ("make", "limit"), [(replicaset, MAX_REPLICASET_NAME), (deployment, MAX_DEPLOYMENT_NAME)]
)
def test_workload_names_leave_room_for_the_generated_names(
    make: Callable[..., ReplicaSet | Deployment], limit: int
) -> None:
    validate = validate_replicaset if make is replicaset else validate_deployment
    assert (MAX_REPLICASET_NAME, MAX_DEPLOYMENT_NAME) == (57, 46)
    assert validate(make(name="a" * limit)) == []  # type: ignore[operator]
    [error] = validate(make(name="a" * (limit + 1)))  # type: ignore[operator]
    assert error.path == "metadata.name"
    assert error.message.startswith(
        f'Invalid value: "{"a" * (limit + 1)}": must be no more than {limit} characters: '
    )
    assert "63 characters" in error.message
    # The generated names then fit in a DNS label: <rs>-<5> and <deployment>-<10>-<5>.
    assert limit + (1 + 5 if make is replicaset else 1 + 10 + 1 + 5) == 63


def test_workload_names_are_subdomains() -> None:
    assert rs_errors(replicaset(name="Echo"))["metadata.name"].startswith(
        'Invalid value: "Echo": a lowercase RFC 1123 subdomain'
    )
    assert d_errors(deployment(name=""))["metadata.name"] == "Required value"
    assert validate_deployment(deployment(name="hello.v2")) == []


def test_empty_selector() -> None:
    message = "Invalid value: {}: empty selector is invalid for deployment"
    assert rs_errors(replicaset(selector=LabelSelector())) == {"spec.selector": message}
    assert d_errors(deployment(selector=LabelSelector())) == {"spec.selector": message}


def test_selector_must_match_the_template_labels() -> None:
    tmpl = template({"app": "other", "tier": "web"})
    expected = {
        "spec.template.metadata.labels": (
            'Invalid value: {"app": "other", "tier": "web"}: '
            "`selector` does not match template `labels`"
        )
    }
    assert rs_errors(replicaset(tmpl=tmpl)) == expected
    assert d_errors(deployment(tmpl=tmpl)) == expected
    excluded = LabelSelector(match_expressions=(req("tier", "NotIn", "web"),))
    assert "spec.template.metadata.labels" in rs_errors(replicaset(selector=excluded, tmpl=tmpl))


def test_selector_requirements() -> None:
    selector = LabelSelector(
        match_labels={"Bad Key": "ok", "app": "-bad-"},
        match_expressions=(
            req("app", "In"),
            req("app", "NotIn"),
            req("app", "Exists", "echo"),
            req("app", "DoesNotExist", "echo"),
            req("-key", "Exists"),
            req("app", "In", "echo", "not valid"),
        ),
    )
    found = rs_errors(replicaset(selector=selector))
    path = "spec.selector.matchExpressions"
    in_message = "Required value: must be specified when `operator` is 'In' or 'NotIn'"
    exists_message = "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    assert found[f"{path}[0].values"] == in_message
    assert found[f"{path}[1].values"] == in_message
    assert found[f"{path}[2].values"] == exists_message
    assert found[f"{path}[3].values"] == exists_message
    assert found[f"{path}[4].key"].startswith('Invalid value: "-key": name part must consist')
    assert found[f"{path}[5].values[1]"].startswith(
        'Invalid value: "not valid": a valid label must be an empty string'
    )
    label_messages = [
        e.message
        for e in validate_replicaset(replicaset(selector=selector))
        if e.path == "spec.selector.matchLabels"
    ]
    assert [m.split(":")[1] for m in label_messages] == [' "Bad Key"', ' "-bad-"']
    # An unsound selector does not also report a mismatch: its own errors say it all.
    assert "spec.template.metadata.labels" not in found


def test_negative_counts() -> None:
    found = d_errors(
        deployment(
            replicas=-1,
            min_ready_seconds=-1,
            revision_history_limit=-1,
            progress_deadline_seconds=-5,
        )
    )
    negative = "must be greater than or equal to 0"
    assert found["spec.replicas"] == f"Invalid value: -1: {negative}"
    assert found["spec.minReadySeconds"] == f"Invalid value: -1: {negative}"
    assert found["spec.revisionHistoryLimit"] == f"Invalid value: -1: {negative}"
    messages = [
        e.message
        for e in validate_deployment(deployment(progress_deadline_seconds=-5))
        if e.path == "spec.progressDeadlineSeconds"
    ]
    assert messages == [
        f"Invalid value: -5: {negative}",
        "Invalid value: -5: must be greater than minReadySeconds",
    ]
    found = rs_errors(replicaset(replicas=-2, min_ready_seconds=-3))
    assert found == {
        "spec.replicas": f"Invalid value: -2: {negative}",
        "spec.minReadySeconds": f"Invalid value: -3: {negative}",
    }


@pytest.mark.parametrize(
    ("min_ready", "deadline", "ok"), [(0, 1, True), (0, 0, False), (30, 30, False), (30, 31, True)]
)
def test_progress_deadline_must_exceed_min_ready(min_ready: int, deadline: int, ok: bool) -> None:
    found = d_errors(deployment(min_ready_seconds=min_ready, progress_deadline_seconds=deadline))
    assert (found == {}) is ok
    if not ok:
        assert found == {
            "spec.progressDeadlineSeconds": (
                f"Invalid value: {deadline}: must be greater than minReadySeconds"
            )
        }


def pct(value: int) -> IntOrPercent:
    return IntOrPercent(value, percent=True)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (DeploymentStrategy(), {}),
        (DeploymentStrategy(StrategyType.RECREATE), {}),
        (
            DeploymentStrategy(StrategyType.RECREATE, RollingUpdate()),
            {
                "spec.strategy.rollingUpdate": (
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'"
                )
            },
        ),
        (DeploymentStrategy(rolling_update=RollingUpdate(IntOrPercent(1), IntOrPercent(0))), {}),
        (DeploymentStrategy(rolling_update=RollingUpdate(pct(0), pct(100))), {}),
        (DeploymentStrategy(rolling_update=RollingUpdate(pct(200), pct(0))), {}),
        (
            DeploymentStrategy(rolling_update=RollingUpdate(IntOrPercent(0), IntOrPercent(0))),
            {
                "spec.strategy.rollingUpdate.maxUnavailable": (
                    "Invalid value: 0: may not be 0 when `maxSurge` is 0"
                )
            },
        ),
        (
            DeploymentStrategy(rolling_update=RollingUpdate(pct(0), pct(0))),
            {
                "spec.strategy.rollingUpdate.maxUnavailable": (
                    'Invalid value: "0%": may not be 0 when `maxSurge` is 0'
                )
            },
        ),
        (
            DeploymentStrategy(rolling_update=RollingUpdate(pct(10), pct(101))),
            {
                "spec.strategy.rollingUpdate.maxUnavailable": (
                    'Invalid value: "101%": must not be greater than 100%'
                )
            },
        ),
        (
            DeploymentStrategy(rolling_update=RollingUpdate(IntOrPercent(-1), IntOrPercent(-2))),
            {
                "spec.strategy.rollingUpdate.maxSurge": (
                    "Invalid value: -1: must be greater than or equal to 0"
                ),
                "spec.strategy.rollingUpdate.maxUnavailable": (
                    "Invalid value: -2: must be greater than or equal to 0"
                ),
            },
        ),
    ],
)
def test_strategy(strategy: DeploymentStrategy, expected: dict[str, str]) -> None:
    assert d_errors(deployment(strategy=strategy)) == expected


def test_template_is_validated_like_a_pod() -> None:
    tmpl = PodTemplateSpec(
        metadata=TemplateMeta(
            labels={"app": "echo", "bad key": "v"},
            annotations={"a": "x" * 300_000},
        ),
        spec=PodSpec(
            containers=(container(), container(image="", ports=(ContainerPort(0),))),
            hostname="Not_A_Label",
            termination_grace_period_seconds=-1,
            volumes=(Volume("none"),),
        ),
    )
    found = rs_errors(replicaset(tmpl=tmpl))
    assert set(found) == {
        "spec.template.metadata.labels",
        "spec.template.metadata.annotations",
        "spec.template.spec.hostname",
        "spec.template.spec.terminationGracePeriodSeconds",
        "spec.template.spec.volumes[0]",
        "spec.template.spec.containers[1].name",
        "spec.template.spec.containers[1].image",
        "spec.template.spec.containers[1].ports[0].containerPort",
    }
    assert found["spec.template.spec.containers[1].name"] == 'Duplicate value: "web"'
    assert found["spec.template.metadata.annotations"] == (
        "Too long: must have at most 262144 bytes"
    )
    # The same spec in a Pod gives the same messages, under `spec`.
    pod_found = errors(Pod(metadata=ObjectMeta(name="web"), spec=tmpl.spec))
    assert {k.replace("spec.", "spec.template.spec.", 1): v for k, v in pod_found.items()} == {
        k: v for k, v in found.items() if k.startswith("spec.template.spec")
    }


def test_empty_template_containers() -> None:
    found = d_errors(deployment(tmpl=template(containers=())))
    assert found == {"spec.template.spec.containers": "Required value"}


def test_workload_errors_in_document_order() -> None:
    rs = replicaset(
        name="Bad",
        replicas=-1,
        selector=LabelSelector(match_labels={"app": "x"}),
        tmpl=template(containers=(container(image=""),)),
    )
    assert [e.path for e in validate_replicaset(rs)] == [
        "metadata.name",
        "spec.replicas",
        "spec.template.metadata.labels",
        "spec.template.spec.containers[0].image",
    ]
