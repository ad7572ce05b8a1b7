"""Container probes in manifests: structure, Kubernetes' validation rules with their paths, round
trips and spec hashes."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.model.meta import ObjectMeta
from controller.model.pod import Container, ContainerPort, Pod, PodSpec
from controller.model.probes import (
    ExecAction,
    HTTPGetAction,
    HTTPHeader,
    PortRef,
    Probe,
    TCPSocketAction,
    URIScheme,
)
from controller.serde import (
    ManifestInvalid,
    container_spec_hash,
    pod_spec_hash,
    structure_pod,
    structure_replicaset,
    unstructure_pod,
)

Doc = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
C0 = "spec.containers[0]"


def base(**probes: Doc) -> Doc:
    """A pod whose one container names its port `http` and carries `probes` (camelCase keys)."""
    container: Doc = {
        "name": "app",
        "image": "busybox:1.36",
        "ports": [
            {"name": "http", "containerPort": 8080},
            {"name": "admin", "containerPort": 9090},
        ],
        **probes,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app"},
        "spec": {"containers": [container]},
    }


def errors(doc: object) -> dict[str, str]:
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(doc)
    return {e.path: e.message for e in info.value.errors}


def liveness(doc: Doc) -> Probe:
    probe = structure_pod(doc).spec.containers[0].liveness_probe
    assert probe is not None
    return probe


EXEC: Doc = {"exec": {"command": ["true"]}}
TCP: Doc = {"tcpSocket": {"port": 8080}}

# --- a sample pod ---------------------------------------------------------------------------------

SAMPLE = """
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  containers:
    - name: web
      image: localhost/podyard-busybox:1
      ports:
        - name: http
          containerPort: 8080
      startupProbe:
        httpGet:
          path: /started
          port: http
          host: 127.0.0.1
          scheme: HTTPS
          httpHeaders:
            - name: X-Probe
              value: startup
        periodSeconds: 2
        failureThreshold: 30
      readinessProbe:
        exec:
          command: ["test", "-f", "/tmp/ready"]
        initialDelaySeconds: 3
        timeoutSeconds: 2
        periodSeconds: 5
        successThreshold: 2
        failureThreshold: 1
      livenessProbe:
        tcpSocket:
          port: 8080
        terminationGracePeriodSeconds: 7
"""

SAMPLE_POD = Pod(
    metadata=ObjectMeta(name="probed"),
    spec=PodSpec(
        containers=(
            Container(
                name="web",
                image="localhost/podyard-busybox:1",
                ports=(ContainerPort(container_port=8080, name="http"),),
                startup_probe=Probe(
                    http_get=HTTPGetAction(
                        port=PortRef("http"),
                        path="/started",
                        host="127.0.0.1",
                        scheme=URIScheme.HTTPS,
                        http_headers=(HTTPHeader(name="X-Probe", value="startup"),),
                    ),
                    period_seconds=2,
                    failure_threshold=30,
                ),
                readiness_probe=Probe(
                    exec=ExecAction(command=("test", "-f", "/tmp/ready")),
                    initial_delay_seconds=3,
                    timeout_seconds=2,
                    period_seconds=5,
                    success_threshold=2,
                    failure_threshold=1,
                ),
                liveness_probe=Probe(
                    tcp_socket=TCPSocketAction(port=PortRef(8080)),
                    termination_grace_period_seconds=7,
                ),
            ),
        )
    ),
)


def test_a_yaml_pod_with_all_three_probes_structures_to_the_expected_objects() -> None:
    assert structure_pod(yaml.safe_load(SAMPLE)) == SAMPLE_POD


def test_the_sample_pod_unstructures_to_kubernetes_json_with_defaults_omitted() -> None:
    container = unstructure_pod(SAMPLE_POD)["spec"]["containers"][0]
    assert container["startupProbe"] == {
        "httpGet": {
            "port": "http",
            "path": "/started",
            "host": "127.0.0.1",
            "scheme": "HTTPS",
            "httpHeaders": [{"name": "X-Probe", "value": "startup"}],
        },
        "periodSeconds": 2,
        "failureThreshold": 30,
    }
    assert container["readinessProbe"] == {
        "exec": {"command": ["test", "-f", "/tmp/ready"]},
        "initialDelaySeconds": 3,
        "timeoutSeconds": 2,
        "periodSeconds": 5,
        "successThreshold": 2,
        "failureThreshold": 1,
    }
    assert container["livenessProbe"] == {
        "tcpSocket": {"port": 8080},
        "terminationGracePeriodSeconds": 7,
    }


def test_probes_round_trip_through_kubernetes_json() -> None:
    again = structure_pod(unstructure_pod(SAMPLE_POD))
    assert again == SAMPLE_POD
    assert pod_spec_hash(again.spec) == pod_spec_hash(SAMPLE_POD.spec)


def test_the_example_manifest_carries_all_three_probes() -> None:
    pod = structure_pod(yaml.safe_load((ROOT / "manifests" / "probes.yaml").read_text()))
    container = pod.spec.containers[0]
    assert container.image == "localhost/podyard-busybox:1"
    assert container.startup_probe is not None
    assert container.readiness_probe is not None
    assert container.liveness_probe is not None


# --- hashes ---------------------------------------------------------------------------------------

# The pod of manifests/web.yaml, copied here so that editing the example cannot move the pin.
WEB: Doc = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "terminationGracePeriodSeconds": 5,
        "volumes": [{"name": "site", "emptyDir": {}}],
        "containers": [
            {
                "name": "web",
                "image": "localhost/podyard-busybox:1",
                "command": ["httpd", "-f", "-v", "-p", "8080", "-h", "/site"],
                "ports": [{"containerPort": 8080, "hostPort": 18080}],
                "volumeMounts": [{"name": "site", "mountPath": "/site", "readOnly": True}],
                "resources": {"limits": {"cpu": "250m", "memory": "32Mi"}},
            },
            {
                "name": "content",
                "image": "localhost/podyard-busybox:1",
                "command": ["sh", "-c"],
                "args": [
                    "trap 'exit 0' TERM\n"
                    "while true; do\n"
                    '  echo "<h1>Hello from pod $(hostname)</h1><p>$(date -u)</p>"'
                    " > /site/index.html\n"
                    "  # the sidecar reaches the web server over the pod's shared localhost\n"
                    "  wget -q -O /dev/null http://127.0.0.1:8080/"
                    ' && echo "web answers on localhost"\n'
                    "  sleep 10 & wait $!\n"
                    "done\n"
                ],
                "volumeMounts": [{"name": "site", "mountPath": "/site"}],
                "resources": {"requests": {"cpu": "50m", "memory": "8Mi"}},
            },
        ],
    },
}


def test_pods_without_probes_keep_the_hashes_they_had_before_probes_existed() -> None:
    """The spec hash is on every running container's labels: a changed hash restarts the container.

    These values were computed by the code before probes existed. Unset probes are omitted from
    the canonical JSON the hash is taken of, so adding the fields must not change them; if it did,
    every pod would be restarted when the controller is upgraded.
    """
    pod = structure_pod(copy.deepcopy(WEB))
    assert pod_spec_hash(pod.spec) == "d3280eb6fab9aea9"
    assert [container_spec_hash(c) for c in pod.spec.containers] == [
        "28b6920f4ca26358",
        "3f0233fe53b7ee52",
    ]


def test_a_probe_is_part_of_the_container_and_pod_hashes() -> None:
    plain = structure_pod(base())
    probed = structure_pod(base(livenessProbe=EXEC))
    slower = structure_pod(base(livenessProbe={**EXEC, "periodSeconds": 20}))
    readiness = structure_pod(base(readinessProbe=EXEC))
    hashes = [container_spec_hash(p.spec.containers[0]) for p in (plain, probed, slower, readiness)]
    assert len(set(hashes)) == 4
    pod_hashes = [pod_spec_hash(p.spec) for p in (plain, probed, slower, readiness)]
    assert len(set(pod_hashes)) == 4


def test_explicit_defaults_hash_as_unset() -> None:
    written_out = {
        **EXEC,
        "initialDelaySeconds": 0,
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    zeros = {**EXEC, "timeoutSeconds": 0, "periodSeconds": 0, "failureThreshold": 0}
    expected = container_spec_hash(structure_pod(base(livenessProbe=EXEC)).spec.containers[0])
    for probe in (written_out, zeros):
        container = structure_pod(base(livenessProbe=probe)).spec.containers[0]
        assert container_spec_hash(container) == expected


# --- structure ------------------------------------------------------------------------------------


def test_zero_timings_mean_kubernetes_defaults() -> None:
    probe = liveness(
        base(
            livenessProbe={
                **EXEC,
                "timeoutSeconds": 0,
                "periodSeconds": 0,
                "successThreshold": 0,
                "failureThreshold": 0,
            }
        )
    )
    assert (probe.timeout_seconds, probe.period_seconds) == (1, 10)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)


def test_kubernetes_defaults_when_unset() -> None:
    probe = liveness(base(livenessProbe={"httpGet": {"port": 8080}}))
    assert probe == Probe(http_get=HTTPGetAction(port=PortRef(8080)))
    assert probe.http_get is not None
    assert (probe.http_get.path, probe.http_get.scheme) == ("/", URIScheme.HTTP)
    assert (probe.initial_delay_seconds, probe.timeout_seconds, probe.period_seconds) == (0, 1, 10)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)


@pytest.mark.parametrize(
    ("port", "expected"), [(8080, PortRef(8080)), ("http", PortRef("http"))], ids=["number", "name"]
)
def test_port_is_a_number_or_a_name(port: object, expected: PortRef) -> None:
    probe = structure_pod(base(readinessProbe={"tcpSocket": {"port": port}})).spec.containers[0]
    assert probe.readiness_probe is not None
    assert probe.readiness_probe.tcp_socket is not None
    assert probe.readiness_probe.tcp_socket.port == expected


def test_a_number_within_a_string_is_a_port_name_and_names_need_a_letter() -> None:
    """No coercion: Kubernetes keeps "8080" a string, then refuses it as a port name."""
    assert errors(base(readinessProbe={"tcpSocket": {"port": "8080"}})) == {
        f"{C0}.readinessProbe.tcpSocket.port": (
            'Invalid value: "8080": must contain at least one letter (a-z)'
        )
    }


@pytest.mark.parametrize(
    ("port", "message"),
    [
        (True, "Invalid value: true: must be a port number or the name of a container port"),
        ("", 'Invalid value: "": must be a port number or the name of a container port'),
        (80.5, "Invalid value: 80.5: must be a port number or the name of a container port"),
        ([80], "Invalid value: [80]: must be a port number or the name of a container port"),
        (2**40, "Invalid value: 1099511627776: must be a 32-bit integer"),
        (None, "Required value"),
    ],
    ids=["bool", "empty", "float", "list", "huge", "null"],
)
def test_port_of_a_wrong_type_is_refused(port: object, message: str) -> None:
    assert errors(base(livenessProbe={"httpGet": {"port": port}})) == {
        f"{C0}.livenessProbe.httpGet.port": message
    }


def test_port_ref_unstructures_to_the_plain_value() -> None:
    pod = structure_pod(base(livenessProbe={"tcpSocket": {"port": "http"}}, readinessProbe=TCP))
    container = unstructure_pod(pod)["spec"]["containers"][0]
    assert container["livenessProbe"] == {"tcpSocket": {"port": "http"}}
    assert container["readinessProbe"] == {"tcpSocket": {"port": 8080}}


@pytest.mark.parametrize(
    ("probe", "path", "message"),
    [
        (
            {**EXEC, "timeoutSeconds": "1"},
            "timeoutSeconds",
            'Invalid value: "1": must be an integer',
        ),
        (
            {**EXEC, "periodSeconds": True},
            "periodSeconds",
            "Invalid value: true: must be an integer",
        ),
        (
            {**EXEC, "failureThreshold": 1.5},
            "failureThreshold",
            "Invalid value: 1.5: must be an integer",
        ),
        (
            {**EXEC, "terminationGracePeriodSeconds": "30"},
            "terminationGracePeriodSeconds",
            'Invalid value: "30": must be an integer',
        ),
        ({"exec": {"command": "true"}}, "exec.command", 'Invalid value: "true": must be a list'),
        ({"exec": {"command": [1]}}, "exec.command[0]", "Invalid value: 1: must be a string"),
        (
            {"httpGet": {"port": 80, "httpHeaders": [{"name": "X-A", "value": 1}]}},
            "httpGet.httpHeaders[0].value",
            "Invalid value: 1: must be a string",
        ),
        (
            {"httpGet": {"port": 80, "httpHeaders": [{"value": "v"}]}},
            "httpGet.httpHeaders[0].name",
            "Required value",
        ),
        (
            {"httpGet": {"port": 80, "scheme": "ftp"}},
            "httpGet.scheme",
            'Unsupported value: "ftp": supported values: "HTTP", "HTTPS"',
        ),
        ({"tcpSocket": {}}, "tcpSocket.port", "Required value"),
        ({"exec": ["true"]}, "exec", 'Invalid value: ["true"]: must be an object'),
        ({**EXEC, "bogus": 1}, "bogus", "unknown field"),
        ({"grpc": {"port": 9000}}, "grpc", "not supported"),
        ({**EXEC, "grpc": {"port": 9000, "service": "x"}}, "grpc", "not supported"),
    ],
    ids=[
        "timeout-as-string",
        "period-as-bool",
        "threshold-as-float",
        "grace-period-as-string",
        "command-as-string",
        "command-item-as-number",
        "header-value-as-number",
        "header-without-name",
        "unknown-scheme",
        "tcp-without-port",
        "exec-as-list",
        "unknown-field",
        "grpc",
        "grpc-besides-exec",
    ],
)
def test_structure_is_strict(probe: Doc, path: str, message: str) -> None:
    assert errors(base(livenessProbe=probe)) == {f"{C0}.livenessProbe.{path}": message}


def test_a_probe_that_is_not_an_object_is_refused() -> None:
    assert errors(base(startupProbe="exec true")) == {
        f"{C0}.startupProbe": 'Invalid value: "exec true": must be an object'
    }


@pytest.mark.parametrize("grpc", [None, {}], ids=["null", "empty"])
def test_an_empty_grpc_asks_nothing(grpc: object) -> None:
    assert liveness(base(livenessProbe={**EXEC, "grpc": grpc})) == Probe(
        exec=ExecAction(command=("true",))
    )


def test_null_probes_are_unset() -> None:
    container = structure_pod(base(livenessProbe=None, readinessProbe=None)).spec.containers[0]
    assert container.liveness_probe is None
    assert container.readiness_probe is None


# --- validation: refused --------------------------------------------------------------------------

LP = f"{C0}.livenessProbe"
RP = f"{C0}.readinessProbe"
SP = f"{C0}.startupProbe"

REFUSED: list[tuple[str, Doc, dict[str, str]]] = [
    ("no-handler", {"livenessProbe": {}}, {LP: "Required value: must specify a handler type"}),
    (
        "timings-only",
        {"readinessProbe": {"periodSeconds": 5}},
        {RP: "Required value: must specify a handler type"},
    ),
    (
        "two-handlers",
        {"livenessProbe": {**EXEC, **TCP}},
        {f"{LP}.tcpSocket": "Forbidden: may not specify more than 1 handler type"},
    ),
    (
        "three-handlers",
        {"startupProbe": {**EXEC, "httpGet": {"port": 0}, "tcpSocket": {"port": 0}}},
        {
            f"{SP}.httpGet": "Forbidden: may not specify more than 1 handler type",
            f"{SP}.tcpSocket": "Forbidden: may not specify more than 1 handler type",
        },
    ),
    (
        "empty-command",
        {"livenessProbe": {"exec": {"command": []}}},
        {f"{LP}.exec.command": "Required value"},
    ),
    ("empty-exec", {"readinessProbe": {"exec": {}}}, {f"{RP}.exec.command": "Required value"}),
    *[
        (
            f"negative-{key}",
            {"readinessProbe": {**EXEC, key: -1}},
            {f"{RP}.{key}": "Invalid value: -1: must be greater than or equal to 0"},
        )
        for key in (
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        )
    ],
    (
        "liveness-success-threshold",
        {"livenessProbe": {**EXEC, "successThreshold": 2}},
        {f"{LP}.successThreshold": "Invalid value: 2: must be 1"},
    ),
    (
        "startup-success-threshold",
        {"startupProbe": {**EXEC, "successThreshold": 3}},
        {f"{SP}.successThreshold": "Invalid value: 3: must be 1"},
    ),
    (
        "readiness-grace-period",
        {"readinessProbe": {**EXEC, "terminationGracePeriodSeconds": 10}},
        {
            f"{RP}.terminationGracePeriodSeconds": (
                "Invalid value: 10: must not be set for readinessProbes"
            )
        },
    ),
    (
        "liveness-zero-grace-period",
        {"livenessProbe": {**EXEC, "terminationGracePeriodSeconds": 0}},
        {f"{LP}.terminationGracePeriodSeconds": "Invalid value: 0: must be greater than 0"},
    ),
    (
        "startup-negative-grace-period",
        {"startupProbe": {**EXEC, "terminationGracePeriodSeconds": -5}},
        {f"{SP}.terminationGracePeriodSeconds": "Invalid value: -5: must be greater than 0"},
    ),
    (
        "port-zero",
        {"livenessProbe": {"httpGet": {"port": 0}}},
        {f"{LP}.httpGet.port": "Invalid value: 0: must be between 1 and 65535, inclusive"},
    ),
    (
        "port-too-high",
        {"readinessProbe": {"tcpSocket": {"port": 65536}}},
        {f"{RP}.tcpSocket.port": "Invalid value: 65536: must be between 1 and 65535, inclusive"},
    ),
    (
        "port-name-with-a-capital",
        {"livenessProbe": {"tcpSocket": {"port": "Web"}}},
        {
            f"{LP}.tcpSocket.port": (
                'Invalid value: "Web": must contain only alpha-numeric characters (a-z, 0-9), '
                "and hyphens (-)"
            )
        },
    ),
    (
        "port-name-too-long",
        {"livenessProbe": {"httpGet": {"port": "a-very-long-port-name"}}},
        {
            f"{LP}.httpGet.port": (
                'Invalid value: "a-very-long-port-name": must be no more than 15 characters'
            )
        },
    ),
    (
        "port-name-unknown",
        {"startupProbe": {"httpGet": {"port": "metrics"}}},
        {
            f"{SP}.httpGet.port": (
                'Not found: "metrics": must be a port number or the name of one of this '
                'container\'s ports (its named ports are "admin", "http")'
            )
        },
    ),
    (
        "relative-path",
        {"readinessProbe": {"httpGet": {"port": 8080, "path": "healthz"}}},
        {
            f"{RP}.httpGet.path": (
                "Invalid value: \"healthz\": must be an absolute path (start with '/')"
            )
        },
    ),
    (
        "header-name",
        {
            "livenessProbe": {
                "httpGet": {
                    "port": 8080,
                    "httpHeaders": [
                        {"name": "X-Good", "value": "1"},
                        {"name": "X_Bad", "value": "2"},
                    ],
                }
            }
        },
        {
            f"{LP}.httpGet.httpHeaders[1].name": (
                'Invalid value: "X_Bad": a valid HTTP header must consist of alphanumeric '
                "characters or '-' (e.g. 'X-Header-Name', regex used for validation is "
                "'[-A-Za-z0-9]+')"
            )
        },
    ),
]


@pytest.mark.parametrize(
    ("probes", "expected"), [(p, e) for _, p, e in REFUSED], ids=[i for i, _, _ in REFUSED]
)
def test_kubernetes_probe_rules_refuse(probes: Doc, expected: dict[str, str]) -> None:
    assert errors(base(**probes)) == expected


def test_a_named_port_on_a_container_without_named_ports() -> None:
    doc = base(livenessProbe={"tcpSocket": {"port": "http"}})
    doc["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    assert errors(doc) == {
        f"{LP}.tcpSocket.port": (
            'Not found: "http": must be a port number or the name of one of this container\'s '
            "ports (it names none of its ports)"
        )
    }


def test_a_named_port_of_another_container_is_not_found() -> None:
    doc = base()
    doc["spec"]["containers"].append(
        {"name": "side", "image": "busybox:1.36", "readinessProbe": {"tcpSocket": {"port": "http"}}}
    )
    found = errors(doc)
    assert list(found) == ["spec.containers[1].readinessProbe.tcpSocket.port"]
    assert found["spec.containers[1].readinessProbe.tcpSocket.port"].startswith('Not found: "http"')


def test_probe_errors_of_a_template_carry_the_template_path() -> None:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "rs"}},
            "template": {
                "metadata": {"labels": {"app": "rs"}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "busybox:1.36", "livenessProbe": {"exec": {}}}
                    ]
                },
            },
        },
    }
    with pytest.raises(ManifestInvalid) as info:
        structure_replicaset(doc)
    assert [str(e) for e in info.value.errors] == [
        "spec.template.spec.containers[0].livenessProbe.exec.command: Required value"
    ]


# --- validation: accepted -------------------------------------------------------------------------

ACCEPTED: list[tuple[str, Doc]] = [
    ("exec", {"livenessProbe": EXEC}),
    ("tcp-number", {"readinessProbe": {"tcpSocket": {"port": 1}}}),
    ("tcp-highest-port", {"readinessProbe": {"tcpSocket": {"port": 65535}}}),
    ("tcp-named", {"livenessProbe": {"tcpSocket": {"port": "admin"}}}),
    ("http-named", {"startupProbe": {"httpGet": {"port": "http", "path": "/healthz"}}}),
    ("http-empty-path-is-the-default", {"readinessProbe": {"httpGet": {"port": 8080, "path": ""}}}),
    (
        "http-full",
        {
            "readinessProbe": {
                "httpGet": {
                    "port": 8080,
                    "path": "/ready?deep=1",
                    "host": "127.0.0.1",
                    "scheme": "HTTPS",
                    "httpHeaders": [
                        {"name": "X-Custom-Header", "value": "ok"},
                        {"name": "Accept", "value": ""},
                    ],
                }
            }
        },
    ),
    ("readiness-success-threshold", {"readinessProbe": {**EXEC, "successThreshold": 3}}),
    ("liveness-zero-success-threshold", {"livenessProbe": {**EXEC, "successThreshold": 0}}),
    ("liveness-grace-period", {"livenessProbe": {**EXEC, "terminationGracePeriodSeconds": 1}}),
    ("startup-grace-period", {"startupProbe": {**EXEC, "terminationGracePeriodSeconds": 60}}),
    ("zero-initial-delay", {"livenessProbe": {**EXEC, "initialDelaySeconds": 0}}),
    ("all-three", {"livenessProbe": EXEC, "readinessProbe": TCP, "startupProbe": EXEC}),
]


@pytest.mark.parametrize("probes", [p for _, p in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_kubernetes_probe_rules_accept(probes: Doc) -> None:
    container = structure_pod(base(**probes)).spec.containers[0]
    set_probes = [container.liveness_probe, container.readiness_probe, container.startup_probe]
    assert sum(p is not None for p in set_probes) == len(probes)
