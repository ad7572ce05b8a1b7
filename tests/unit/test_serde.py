import calendar
import copy
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.model.identity import object_uid
from controller.model.meta import NodeName, ObjectMeta, PodRef, PodUid
from controller.model.pod import (
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    EnvVar,
    HostPathType,
    HostPathVolumeSource,
    Pod,
    PodSpec,
    PortProtocol,
    PullPolicy,
    ResourceList,
    ResourceRequirements,
    RestartPolicy,
    StorageMedium,
    Volume,
    VolumeMount,
)
from controller.model.quantity import Quantity
from controller.model.status import (
    ConditionType,
    ContainerStatus,
    PodCondition,
    PodPhase,
    PodStatus,
    PodView,
    Running,
    Terminated,
    Waiting,
)
from controller.serde import (
    FieldError,
    ManifestInvalid,
    container_spec_hash,
    field_path,
    k8s_name,
    pod_spec_hash,
    pod_view_to_k8s,
    rfc3339,
    structure_pod,
    unstructure_pod,
)

Doc = dict[str, Any]


def base() -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }


def errors(doc: object) -> dict[str, str]:
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(doc)
    return {e.path: e.message for e in info.value.errors}


def c0(doc: Doc) -> Doc:
    container: Doc = doc["spec"]["containers"][0]
    return container


def mutate(change: Callable[[Doc], object]) -> Doc:
    doc = base()
    change(doc)
    return doc


def test_minimal_pod() -> None:
    pod = structure_pod(base())
    assert pod == Pod(
        metadata=ObjectMeta(name="web"),
        spec=PodSpec(containers=(Container(name="web", image="nginx:1.27"),)),
    )


FULL: Doc = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "team-a",
        "labels": {"app": "web", "app.kubernetes.io/version": "1.2"},
        "annotations": {"example.com/owner": "ops"},
    },
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.27",
                "command": ["nginx"],
                "args": ["-g", "daemon off;"],
                "env": [{"name": "MODE", "value": "prod"}, {"name": "EMPTY"}],
                "workingDir": "/srv",
                "ports": [
                    {
                        "containerPort": 80,
                        "hostPort": 8080,
                        "hostIP": "127.0.0.1",
                        "name": "http",
                        "protocol": "TCP",
                    },
                    {"containerPort": 53, "protocol": "UDP"},
                ],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                    "limits": {"cpu": 1, "memory": "128Mi"},
                },
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data", "readOnly": True, "subPath": "web"},
                    {"name": "host", "mountPath": "/host"},
                ],
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            },
            {"name": "side", "image": "busybox", "command": ["sleep", "3600"]},
        ],
        "restartPolicy": "OnFailure",
        "hostname": "web-0",
        "volumes": [
            {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
            {"name": "host", "hostPath": {"path": "/srv/host", "type": "DirectoryOrCreate"}},
            {"name": "scratch", "emptyDir": {}},
        ],
        "terminationGracePeriodSeconds": 5,
        "shareProcessNamespace": True,
    },
}


def test_full_pod_structure() -> None:
    pod = structure_pod(copy.deepcopy(FULL))
    web = pod.spec.containers[0]
    assert pod.metadata == ObjectMeta(
        name="web",
        namespace="team-a",
        labels={"app": "web", "app.kubernetes.io/version": "1.2"},
        annotations={"example.com/owner": "ops"},
    )
    assert web.env == (EnvVar("MODE", "prod"), EnvVar("EMPTY", ""))
    assert web.ports == (
        ContainerPort(80, host_port=8080, host_ip="127.0.0.1", name="http"),
        ContainerPort(53, protocol=PortProtocol.UDP),
    )
    assert web.resources == ResourceRequirements(
        requests=ResourceList(cpu=Quantity.parse("250m"), memory=Quantity.parse("64Mi")),
        limits=ResourceList(cpu=Quantity.parse(1), memory=Quantity.parse("128Mi")),
    )
    assert web.volume_mounts == (
        VolumeMount("data", "/data", read_only=True, sub_path="web"),
        VolumeMount("host", "/host"),
    )
    assert web.image_pull_policy is PullPolicy.IF_NOT_PRESENT
    assert web.command == ("nginx",)
    assert web.args == ("-g", "daemon off;")
    assert pod.spec.restart_policy is RestartPolicy.ON_FAILURE
    assert pod.spec.volumes == (
        Volume("data", empty_dir=EmptyDirVolumeSource(StorageMedium.MEMORY, Quantity.parse("1Gi"))),
        Volume(
            "host", host_path=HostPathVolumeSource("/srv/host", HostPathType.DIRECTORY_OR_CREATE)
        ),
        Volume("scratch", empty_dir=EmptyDirVolumeSource()),
    )
    assert pod.spec.termination_grace_period_seconds == 5
    assert pod.spec.share_process_namespace is True


def test_full_pod_round_trip() -> None:
    pod = structure_pod(copy.deepcopy(FULL))
    out = unstructure_pod(pod)
    expected = copy.deepcopy(FULL)
    # Unset and default values are omitted; quantities come back as their text.
    expected["spec"]["containers"][0]["env"][1] = {"name": "EMPTY"}
    expected["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1"
    expected["spec"]["containers"][1]["command"] = ["sleep", "3600"]
    assert out == expected
    assert list(out) == ["apiVersion", "kind", "metadata", "spec"]
    assert structure_pod(json.loads(json.dumps(out))) == pod


def test_unstructure_minimal_keeps_kubernetes_defaults_that_matter() -> None:
    doc = base()
    c0(doc)["ports"] = [{"containerPort": 80}]
    assert unstructure_pod(structure_pod(doc)) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
    }


def test_unstructure_returns_plain_json_types() -> None:
    out = unstructure_pod(structure_pod(copy.deepcopy(FULL)))
    assert json.loads(json.dumps(out)) == out

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(type(k) is str and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return type(value) in (str, int, bool)

    assert plain(out)


WRONG_TYPES = [
    (
        lambda d: c0(d).update(ports=[{"containerPort": "80"}]),
        "spec.containers[0].ports[0].containerPort",
        'Invalid value: "80": must be an integer',
    ),
    (
        lambda d: c0(d).update(ports=[{"containerPort": True}]),
        "spec.containers[0].ports[0].containerPort",
        "Invalid value: true: must be an integer",
    ),
    (
        lambda d: c0(d).update(ports=[{"containerPort": 80.0}]),
        "spec.containers[0].ports[0].containerPort",
        "Invalid value: 80.0: must be an integer",
    ),
    (
        lambda d: c0(d).update(ports=[{"containerPort": 80, "hostPort": "8080"}]),
        "spec.containers[0].ports[0].hostPort",
        'Invalid value: "8080": must be an integer',
    ),
    (
        lambda d: c0(d).update(ports=[{"containerPort": 80, "hostIP": 127}]),
        "spec.containers[0].ports[0].hostIP",
        "Invalid value: 127: must be a string",
    ),
    (
        lambda d: c0(d).update(image=3),
        "spec.containers[0].image",
        "Invalid value: 3: must be a string",
    ),
    (
        lambda d: c0(d).update(env=[{"name": "PORT", "value": 8080}]),
        "spec.containers[0].env[0].value",
        "Invalid value: 8080: must be a string",
    ),
    (
        lambda d: c0(d).update(env=[{"name": "ON", "value": True}]),
        "spec.containers[0].env[0].value",
        "Invalid value: true: must be a string",
    ),
    (
        lambda d: c0(d).update(volumeMounts=[{"name": "v", "mountPath": "/v", "readOnly": "yes"}]),
        "spec.containers[0].volumeMounts[0].readOnly",
        'Invalid value: "yes": must be a boolean (true or false)',
    ),
    (
        lambda d: d["spec"].update(shareProcessNamespace=1),
        "spec.shareProcessNamespace",
        "Invalid value: 1: must be a boolean (true or false)",
    ),
    (
        lambda d: d["spec"].update(terminationGracePeriodSeconds="30"),
        "spec.terminationGracePeriodSeconds",
        'Invalid value: "30": must be an integer',
    ),
    (
        lambda d: c0(d).update(command="sleep 1"),
        "spec.containers[0].command",
        'Invalid value: "sleep 1": must be a list',
    ),
    (
        lambda d: c0(d).update(args=[1]),
        "spec.containers[0].args[0]",
        "Invalid value: 1: must be a string",
    ),
    (
        lambda d: d["spec"].update(containers={"name": "web"}),
        "spec.containers",
        'Invalid value: {"name": "web"}: must be a list',
    ),
    (lambda d: d.update(metadata="web"), "metadata", 'Invalid value: "web": must be an object'),
    (
        lambda d: d["spec"]["containers"].append("side"),
        "spec.containers[1]",
        'Invalid value: "side": must be an object',
    ),
    (
        lambda d: d["metadata"].update(labels={"version": 1}),
        "metadata.labels.version",
        "Invalid value: 1: must be a string",
    ),
    (
        lambda d: d["metadata"].update(labels={"app.kubernetes.io/version": 1.2}),
        "metadata.labels[app.kubernetes.io/version]",
        "Invalid value: 1.2: must be a string",
    ),
    (
        lambda d: d["metadata"].update(labels=["app"]),
        "metadata.labels",
        'Invalid value: ["app"]: must be an object',
    ),
    (
        lambda d: c0(d).update(resources={"limits": {"cpu": True}}),
        "spec.containers[0].resources.limits.cpu",
        "Invalid value: true: must be a quantity (a string or a number)",
    ),
    (
        lambda d: c0(d).update(resources={"limits": {"memory": "abc"}}),
        "spec.containers[0].resources.limits.memory",
        'Invalid value: "abc": quantities must match the regular expression '
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ),
    (
        lambda d: c0(d).update(resources={"requests": {"cpu": "-1"}}),
        "spec.containers[0].resources.requests.cpu",
        None,
    ),
]


@pytest.mark.parametrize(("change", "path", "message"), WRONG_TYPES)
def test_wrong_types_are_errors(
    change: Callable[[Doc], object], path: str, message: str | None
) -> None:
    found = errors(mutate(change))
    assert path in found, found
    if message is not None:
        assert found[path] == message


NOT_SUPPORTED = [
    (
        lambda d: d["spec"]["containers"].append(
            {"name": "b", "image": "x", "securityContext": {"seLinuxOptions": {"type": "t"}}}
        ),
        "spec.containers[1].securityContext.seLinuxOptions",
    ),
    (
        lambda d: c0(d).update(livenessProbe={"grpc": {"port": 9000}}),
        "spec.containers[0].livenessProbe.grpc",
    ),
    (
        lambda d: c0(d).update(readinessProbe={"grpc": {"port": 9000, "service": "ready"}}),
        "spec.containers[0].readinessProbe.grpc",
    ),
    (
        lambda d: c0(d).update(lifecycle={"preStop": {"tcpSocket": {"port": 80}}}),
        "spec.containers[0].lifecycle.preStop.tcpSocket",
    ),
    (
        lambda d: c0(d).update(lifecycle={"stopSignal": "SIGUSR1"}),
        "spec.containers[0].lifecycle.stopSignal",
    ),
    (lambda d: c0(d).update(stdin=True), "spec.containers[0].stdin"),
    (lambda d: c0(d).update(tty=True), "spec.containers[0].tty"),
    (
        lambda d: c0(d).update(volumeDevices=[{"name": "x", "devicePath": "/dev/x"}]),
        "spec.containers[0].volumeDevices",
    ),
    (
        lambda d: c0(d).update(
            env=[{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]
        ),
        "spec.containers[0].env[0].valueFrom.resourceFieldRef",
    ),
    (
        lambda d: c0(d).update(resources={"limits": {"ephemeral-storage": "1Gi"}}),
        "spec.containers[0].resources.limits[ephemeral-storage]",
    ),
    (
        lambda d: c0(d).update(resources={"limits": {"nvidia.com/gpu": 1}}),
        "spec.containers[0].resources.limits[nvidia.com/gpu]",
    ),
    (
        lambda d: c0(d).update(resources={"requests": {"hugepages-2Mi": "2Mi"}}),
        "spec.containers[0].resources.requests[hugepages-2Mi]",
    ),
    (
        lambda d: c0(d).update(resources={"claims": [{"name": "gpu"}]}),
        "spec.containers[0].resources.claims",
    ),
    (
        lambda d: d["spec"].update(ephemeralContainers=[{"name": "i", "image": "x"}]),
        "spec.ephemeralContainers",
    ),
    (lambda d: d["spec"].update(affinity={"podAffinity": {"x": {}}}), "spec.affinity.podAffinity"),
    (lambda d: d["spec"].update(hostUsers=False), "spec.hostUsers"),
    (lambda d: d["spec"].update(dnsPolicy="None"), "spec.dnsPolicy"),
    (lambda d: d["spec"].update(serviceAccountName="builder"), "spec.serviceAccountName"),
    (lambda d: d["spec"].update(priorityClassName="high"), "spec.priorityClassName"),
    (
        lambda d: d["spec"].update(securityContext={"fsGroupChangePolicy": "Always"}),
        "spec.securityContext.fsGroupChangePolicy",
    ),
    (lambda d: d["metadata"].update(generateName="web-"), "metadata.generateName"),
    (
        lambda d: d["spec"].update(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}]),
        "spec.volumes[0].nfs",
    ),
    (
        lambda d: c0(d).update(
            volumeMounts=[{"name": "v", "mountPath": "/v", "mountPropagation": "Bidirectional"}]
        ),
        "spec.containers[0].volumeMounts[0].mountPropagation",
    ),
]


@pytest.mark.parametrize(("change", "path"), NOT_SUPPORTED)
def test_kubernetes_fields_podyard_lacks_are_not_supported(
    change: Callable[[Doc], object], path: str
) -> None:
    assert errors(mutate(change))[path] == "not supported"


@pytest.mark.parametrize(
    ("value", "supported"),
    [("File", True), ("Socket", True), ("BlockDevice", True), ("Directory", True), ("Dir", False)],
)
def test_host_path_types(value: str, supported: bool) -> None:
    doc = base()
    doc["spec"]["volumes"] = [{"name": "h", "hostPath": {"path": "/h", "type": value}}]
    message = errors(doc)["spec.volumes[0].hostPath.type"]
    assert message.startswith(f'Unsupported value: "{value}": ')
    assert ("not supported" in message) is supported
    assert message.endswith('supported values: "", "DirectoryOrCreate"')


def test_hugepages_medium_not_supported() -> None:
    doc = base()
    doc["spec"]["volumes"] = [{"name": "h", "emptyDir": {"medium": "HugePages-2Mi"}}]
    assert errors(doc)["spec.volumes[0].emptyDir.medium"] == (
        'Unsupported value: "HugePages-2Mi": not supported; supported values: "", "Memory"'
    )


UNKNOWN = [
    (lambda d: c0(d).update(imagee="x"), "spec.containers[0].imagee"),
    (lambda d: d["spec"].update(foo=1), "spec.foo"),
    (lambda d: d.update(extra={}), "extra"),
    (
        lambda d: c0(d).update(resources={"limits": {"cpus": 1}}),
        "spec.containers[0].resources.limits.cpus",
    ),
    (
        lambda d: c0(d).update(ports=[{"containerPort": 80, "hostport": 80}]),
        "spec.containers[0].ports[0].hostport",
    ),
    (
        lambda d: d["spec"].update(volumes=[{"name": "v", "emptyDir": {"size": "1Gi"}}]),
        "spec.volumes[0].emptyDir.size",
    ),
]


@pytest.mark.parametrize(("change", "path"), UNKNOWN)
def test_unknown_fields(change: Callable[[Doc], object], path: str) -> None:
    assert errors(mutate(change))[path] == "unknown field"


REQUIRED = [
    (lambda d: d["metadata"].pop("name"), "metadata.name"),
    (lambda d: d.pop("metadata"), "metadata"),
    (lambda d: d.pop("spec"), "spec"),
    (lambda d: d["spec"].pop("containers"), "spec.containers"),
    (lambda d: c0(d).pop("name"), "spec.containers[0].name"),
    (lambda d: c0(d).pop("image"), "spec.containers[0].image"),
    (lambda d: c0(d).update(image=None), "spec.containers[0].image"),
    (lambda d: c0(d).update(ports=[{"name": "http"}]), "spec.containers[0].ports[0].containerPort"),
    (lambda d: c0(d).update(env=[{"value": "x"}]), "spec.containers[0].env[0].name"),
    (
        lambda d: c0(d).update(volumeMounts=[{"mountPath": "/v"}]),
        "spec.containers[0].volumeMounts[0].name",
    ),
    (
        lambda d: c0(d).update(volumeMounts=[{"name": "v"}]),
        "spec.containers[0].volumeMounts[0].mountPath",
    ),
    (lambda d: d["spec"].update(volumes=[{"emptyDir": {}}]), "spec.volumes[0].name"),
    (
        lambda d: d["spec"].update(volumes=[{"name": "h", "hostPath": {}}]),
        "spec.volumes[0].hostPath.path",
    ),
    (lambda d: d.pop("apiVersion"), "apiVersion"),
    (lambda d: d.pop("kind"), "kind"),
]


@pytest.mark.parametrize(("change", "path"), REQUIRED)
def test_missing_required_fields(change: Callable[[Doc], object], path: str) -> None:
    assert errors(mutate(change))[path] == "Required value"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda d: d["spec"].update(restartPolicy="Sometimes"),
            "spec.restartPolicy",
            'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
        (
            lambda d: c0(d).update(imagePullPolicy="always"),
            "spec.containers[0].imagePullPolicy",
            'Unsupported value: "always": supported values: "Always", "IfNotPresent", "Never"',
        ),
        (
            lambda d: c0(d).update(ports=[{"containerPort": 80, "protocol": "tcp"}]),
            "spec.containers[0].ports[0].protocol",
            'Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"',
        ),
        (
            lambda d: d.update(apiVersion="apps/v1"),
            "apiVersion",
            'Unsupported value: "apps/v1": supported values: "v1"',
        ),
        (
            lambda d: d.update(kind="Deployment"),
            "kind",
            'Unsupported value: "Deployment": supported values: "Pod"',
        ),
    ],
)
def test_unsupported_values(change: Callable[[Doc], object], path: str, message: str) -> None:
    assert errors(mutate(change))[path] == message


def test_validation_errors_carry_kubernetes_paths() -> None:
    doc = base()
    c0(doc)["ports"] = [{"containerPort": 80}, {"containerPort": 0}]
    c0(doc)["resources"] = {"limits": {"memory": "1Mi"}}
    found = errors(doc)
    assert found["spec.containers[0].ports[1].containerPort"] == (
        "Invalid value: 0: must be between 1 and 65535, inclusive"
    )
    assert found["spec.containers[0].resources.limits.memory"].startswith('Invalid value: "1Mi"')


def test_all_errors_of_a_document_are_collected() -> None:
    doc = base()
    doc["apiVersion"] = "v2"
    doc["spec"]["restartPolicy"] = "Sometimes"
    doc["spec"]["containers"] = [
        {"name": "a", "ports": [{"containerPort": "80"}]},
        {"name": "b", "image": "x", "securityContext": {}, "livenessProbe": {"grpc": {"port": 1}}},
        {"image": "y", "bogus": 1},
    ]
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(doc)
    assert sorted(info.value.errors, key=lambda e: e.path) == [
        FieldError("apiVersion", 'Unsupported value: "v2": supported values: "v1"'),
        FieldError("spec.containers[0].image", "Required value"),
        FieldError(
            "spec.containers[0].ports[0].containerPort", 'Invalid value: "80": must be an integer'
        ),
        FieldError("spec.containers[1].livenessProbe.grpc", "not supported"),
        FieldError("spec.containers[2].bogus", "unknown field"),
        FieldError("spec.containers[2].name", "Required value"),
        FieldError(
            "spec.restartPolicy",
            'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
    ]


def test_manifest_invalid_str() -> None:
    doc = base()
    c0(doc).pop("image")
    c0(doc)["tty"] = True
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(doc)
    assert str(info.value) == (
        "spec.containers[0].image: Required value\nspec.containers[0].tty: not supported"
    )


def test_not_an_object() -> None:
    assert errors([]) == {"": "Invalid value: []: must be an object"}
    assert errors("Pod") == {"": 'Invalid value: "Pod": must be an object'}


def test_status_is_ignored() -> None:
    doc = base()
    doc["status"] = {"phase": "Running", "anything": [1, 2]}
    assert structure_pod(doc) == structure_pod(base())


def test_null_and_empty_optional_fields_mean_unset() -> None:
    doc = base()
    doc["spec"].update(
        hostname=None, volumes=None, restartPolicy="", terminationGracePeriodSeconds=None
    )
    c0(doc).update(workingDir=None, imagePullPolicy="", ports=[{"containerPort": 80, "hostIP": ""}])
    doc["metadata"]["namespace"] = ""
    pod = structure_pod(doc)
    assert pod.spec.restart_policy is RestartPolicy.ALWAYS
    assert pod.spec.termination_grace_period_seconds == 30
    assert pod.metadata.namespace == "default"
    assert pod.spec.containers[0].image_pull_policy is None
    assert pod.spec.containers[0].ports[0].host_ip is None


def test_kubectl_dry_run_output_is_accepted() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"creationTimestamp": None, "labels": {"run": "nginx"}, "name": "nginx"},
        "spec": {
            "containers": [{"image": "nginx", "name": "nginx", "resources": {}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "hostNetwork": False,
            "securityContext": {},
            "tolerations": [],
        },
        "status": {},
    }
    pod = structure_pod(doc)
    assert pod.metadata.labels == {"run": "nginx"}
    assert pod.spec.containers[0].resources == ResourceRequirements()


@pytest.mark.parametrize(
    ("value", "text", "millis"),
    [(1, "1", 1000), (0.5, "0.5", 500), ("250m", "250m", 250), ("1.5", "1.5", 1500)],
)
def test_cpu_quantities_may_be_numbers_or_strings(value: object, text: str, millis: int) -> None:
    doc = base()
    c0(doc)["resources"] = {"limits": {"cpu": value, "memory": 10_000_000}}
    limits = structure_pod(doc).spec.containers[0].resources.limits
    assert limits.cpu is not None
    assert limits.memory is not None
    assert (limits.cpu.text, limits.cpu.millis()) == (text, millis)
    assert limits.memory.whole() == 10_000_000
    assert unstructure_pod(structure_pod(doc))["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": text, "memory": "10000000"}
    }


def test_names() -> None:
    assert k8s_name("host_ip") == "hostIP"
    assert k8s_name("termination_grace_period_seconds") == "terminationGracePeriodSeconds"
    assert k8s_name("api_version") == "apiVersion"
    assert field_path("", "spec") == "spec"
    assert field_path("spec.containers", 2) == "spec.containers[2]"
    assert field_path("metadata.labels", "app.kubernetes.io/name") == (
        "metadata.labels[app.kubernetes.io/name]"
    )


# --- hashing ---------------------------------------------------------------------------------


def test_spec_hash_is_sha256_of_canonical_json() -> None:
    spec = structure_pod(base()).spec
    canonical = (
        '{"containers":[{"image":"nginx:1.27","name":"web"}],"restartPolicy":"Always",'
        '"terminationGracePeriodSeconds":30}'
    )
    assert pod_spec_hash(spec) == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    container = spec.containers[0]
    expected = hashlib.sha256(b'{"image":"nginx:1.27","name":"web"}').hexdigest()[:16]
    assert container_spec_hash(container) == expected


def test_hash_ignores_metadata_and_key_order_but_not_spec() -> None:
    pod = structure_pod(copy.deepcopy(FULL))
    relabelled = copy.deepcopy(FULL)
    relabelled["metadata"]["labels"] = {"other": "x"}
    reordered = json.loads(json.dumps(FULL, sort_keys=True))
    assert pod_spec_hash(structure_pod(relabelled).spec) == pod_spec_hash(pod.spec)
    assert pod_spec_hash(structure_pod(reordered).spec) == pod_spec_hash(pod.spec)
    changed = copy.deepcopy(FULL)
    changed["spec"]["containers"][1]["image"] = "busybox:1.36"
    other = structure_pod(changed)
    assert pod_spec_hash(other.spec) != pod_spec_hash(pod.spec)
    assert container_spec_hash(other.spec.containers[0]) == container_spec_hash(
        pod.spec.containers[0]
    )
    assert container_spec_hash(other.spec.containers[1]) != container_spec_hash(
        pod.spec.containers[1]
    )
    assert len(pod_spec_hash(pod.spec)) == 16


def test_quantity_text_is_part_of_the_hash() -> None:
    one, thousand = base(), base()
    c0(one)["resources"] = {"limits": {"cpu": "1"}}
    c0(thousand)["resources"] = {"limits": {"cpu": "1000m"}}
    # Same value, different text: the manifest changed, so the container is rebuilt (as Kubernetes
    # would, since the spec differs textually after a user edit).
    assert container_spec_hash(structure_pod(one).spec.containers[0]) != container_spec_hash(
        structure_pod(thousand).spec.containers[0]
    )


# --- generated pods ----------------------------------------------------------------------------

label = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
cpu_requests = st.sampled_from(["10m", "100m", "250m", "0.1", None])
cpu_limits = st.sampled_from(["500m", "1", "2", "1.5", None])
memory_requests = st.sampled_from(["6Mi", "64Mi", "1e6", None])
memory_limits = st.sampled_from(["128Mi", "1Gi", "1G", "268435456", None])


def quantity(text: str | None) -> Quantity | None:
    return None if text is None else Quantity.parse(text)


@st.composite
def containers(draw: st.DrawFn, name: str, volumes: tuple[Volume, ...]) -> Container:
    mounts: list[VolumeMount] = []
    for i, volume in enumerate(
        draw(st.lists(st.sampled_from(volumes), max_size=3) if volumes else st.just([]))
    ):
        mounts.append(
            VolumeMount(
                volume.name,
                f"/mnt/{i}",
                read_only=draw(st.booleans()),
                sub_path=draw(st.sampled_from(["", "a", "a/b"])),
            )
        )
    return Container(
        name=name,
        image=draw(st.from_regex(r"[a-z]{1,8}(:[a-z0-9.]{1,5})?", fullmatch=True)),
        command=tuple(draw(st.lists(st.text(max_size=8), max_size=3))),
        args=tuple(draw(st.lists(st.text(max_size=8), max_size=3))),
        env=tuple(
            EnvVar(n, v)
            for n, v in draw(
                st.dictionaries(
                    st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True),
                    st.text(max_size=8),
                    max_size=3,
                )
            ).items()
        ),
        working_dir=draw(st.sampled_from([None, "/", "/app"])),
        ports=tuple(
            ContainerPort(
                port,
                protocol=draw(st.sampled_from(PortProtocol)),
                name=draw(st.sampled_from([None, f"p{port}"])),
            )
            for port in draw(st.lists(st.integers(1, 65535), max_size=3, unique=True))
        ),
        resources=ResourceRequirements(
            requests=ResourceList(
                cpu=quantity(draw(cpu_requests)), memory=quantity(draw(memory_requests))
            ),
            limits=ResourceList(
                cpu=quantity(draw(cpu_limits)), memory=quantity(draw(memory_limits))
            ),
        ),
        volume_mounts=tuple(mounts),
        image_pull_policy=draw(st.sampled_from([None, *PullPolicy])),
    )


@st.composite
def pods(draw: st.DrawFn) -> Pod:
    volumes = tuple(
        Volume(
            name,
            empty_dir=EmptyDirVolumeSource(
                draw(st.sampled_from(StorageMedium)), quantity(draw(st.sampled_from([None, "1Gi"])))
            ),
        )
        if draw(st.booleans())
        else Volume(
            name,
            host_path=HostPathVolumeSource("/srv/" + name, draw(st.sampled_from(HostPathType))),
        )
        for name in draw(st.lists(label, max_size=3, unique=True))
    )
    names = draw(st.lists(label, min_size=1, max_size=3, unique=True))
    return Pod(
        metadata=ObjectMeta(
            name=draw(label),
            namespace=draw(st.sampled_from(["default", "team-a"])),
            labels=draw(st.dictionaries(label, st.sampled_from(["", "a", "v1.2"]), max_size=2)),
            annotations=draw(st.dictionaries(label, st.text(max_size=10), max_size=2)),
        ),
        spec=PodSpec(
            containers=tuple(draw(containers(name, volumes)) for name in names),
            restart_policy=draw(st.sampled_from(RestartPolicy)),
            hostname=draw(st.sampled_from([None, "host-1"])),
            volumes=volumes,
            termination_grace_period_seconds=draw(st.integers(0, 3600)),
            share_process_namespace=draw(st.booleans()),
        ),
    )


@settings(max_examples=200)
@given(pods())
def test_structure_of_unstructure_is_identity(pod: Pod) -> None:
    data = json.loads(json.dumps(unstructure_pod(pod)))
    again = structure_pod(data)
    assert again == pod
    assert pod_spec_hash(again.spec) == pod_spec_hash(pod.spec)
    assert [container_spec_hash(c) for c in again.spec.containers] == [
        container_spec_hash(c) for c in pod.spec.containers
    ]


# --- API view ----------------------------------------------------------------------------------


def epoch(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def test_rfc3339() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(epoch("2026-11-23T11:47:21Z") + 0.999) == "2026-11-23T11:47:21Z"
    assert rfc3339(epoch("2000-02-29T23:59:59Z")) == "2000-02-29T23:59:59Z"


def view(**changes: Any) -> PodView:
    pod = structure_pod(base())
    status = PodStatus(
        phase=PodPhase.RUNNING,
        conditions=(
            PodCondition(ConditionType.READY, True, epoch("2026-11-23T11:47:21Z")),
            PodCondition(ConditionType.CONTAINERS_READY, False, None, "ContainersNotReady", "x"),
        ),
        container_statuses=(
            ContainerStatus(
                "web",
                "nginx:1.27",
                Running(epoch("2026-11-23T11:47:21Z")),
                last_state=Terminated(
                    137,
                    "OOMKilled",
                    epoch("2026-11-23T11:40:00Z"),
                    epoch("2026-11-23T11:47:20Z"),
                    container_id="old",
                ),
                ready=True,
                started=True,
                restart_count=2,
                image_id="sha256:abc",
                container_id="0123abcd",
            ),
            ContainerStatus("side", "busybox", Waiting("CrashLoopBackOff", "back-off 10s")),
            ContainerStatus("new", "busybox", Waiting("ContainerCreating")),
        ),
        pod_ip="172.17.0.5",
        host_ip="10.0.0.7",
        start_time=epoch("2026-11-23T11:39:00Z"),
    )
    fields: dict[str, Any] = {
        "pod": pod,
        "ref": PodRef("default", "web", PodUid("uid-1")),
        "node": NodeName("node-a"),
        "status": status,
        "created_at": epoch("2026-11-23T11:38:59Z"),
    }
    fields.update(changes)
    return PodView(**fields)


def test_pod_view_to_k8s_shape() -> None:
    out = pod_view_to_k8s(view())
    assert json.loads(json.dumps(out)) == out
    assert out["apiVersion"] == "v1"
    assert out["kind"] == "Pod"
    assert out["metadata"] == {
        "name": "web",
        "namespace": "default",
        "uid": "uid-1",
        "creationTimestamp": "2026-11-23T11:38:59Z",
    }
    assert out["spec"]["nodeName"] == "node-a"
    assert out["spec"]["containers"] == [{"name": "web", "image": "nginx:1.27"}]
    status = out["status"]
    assert status["phase"] == "Running"
    assert status["conditions"] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-23T11:47:21Z"},
        {
            "type": "ContainersReady",
            "status": "False",
            "reason": "ContainersNotReady",
            "message": "x",
        },
    ]
    assert status["podIP"] == "172.17.0.5"
    assert status["podIPs"] == [{"ip": "172.17.0.5"}]
    assert status["hostIP"] == "10.0.0.7"
    assert status["startTime"] == "2026-11-23T11:39:00Z"
    assert "reason" not in status
    assert "message" not in status
    web, side, new = status["containerStatuses"]
    assert web == {
        "name": "web",
        "image": "nginx:1.27",
        "imageID": "sha256:abc",
        "containerID": "docker://0123abcd",
        "ready": True,
        "started": True,
        "restartCount": 2,
        "state": {"running": {"startedAt": "2026-11-23T11:47:21Z"}},
        "lastState": {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": "2026-11-23T11:40:00Z",
                "finishedAt": "2026-11-23T11:47:20Z",
                "containerID": "docker://old",
            }
        },
    }
    assert side["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}
    assert side["lastState"] == {}
    assert "containerID" not in side
    assert new["state"] == {"waiting": {"reason": "ContainerCreating"}}


def test_pod_view_deleting_and_pending() -> None:
    out = pod_view_to_k8s(
        view(
            deleting=True,
            ref=None,
            node=None,
            status=PodStatus(PodPhase.PENDING, reason="Unschedulable", message="no node"),
        ),
        deletion_timestamp=epoch("2026-11-23T12:00:00Z"),
    )
    assert out["metadata"]["deletionTimestamp"] == "2026-11-23T12:00:00Z"
    assert out["metadata"]["deletionGracePeriodSeconds"] == 30
    # not created yet: the declaration's uid stands in (Kubernetes' clients need one)
    assert out["metadata"]["uid"] == object_uid("Pod", "default", "web")
    assert "nodeName" not in out["spec"]
    assert out["status"] == {"phase": "Pending", "reason": "Unschedulable", "message": "no node"}


def test_pod_view_does_not_share_state_between_calls() -> None:
    v = view()
    first = pod_view_to_k8s(v)
    first["metadata"]["labels"] = {"mutated": "yes"}
    first["spec"]["containers"].clear()
    second = pod_view_to_k8s(v)
    assert "labels" not in second["metadata"]
    assert second["spec"]["containers"] == [{"name": "web", "image": "nginx:1.27"}]
