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
    Volume,
    VolumeMount,
)
from controller.model.quantity import Quantity
from controller.model.validation import (
    FieldError,
    dns1123_label_problems,
    port_name_problems,
    qualified_name_problems,
    validate_pod,
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
