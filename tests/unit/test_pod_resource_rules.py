"""Pod-level resources: the pod's effective requests, and the validation against containers."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import attrs
import pytest

from controller.cli import main
from controller.decide import containers as cfg
from controller.model.meta import PodRef, PodUid
from controller.model.pod import Container, PodSpec, ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from controller.model.validation.resources import pod_resource_errors
from controller.serde.unstructure import pod_spec_hash
from tests.factories import container, desired, pod

Q = Quantity.parse


def _asks(
    requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> ResourceRequirements:
    def listed(values: dict[str, str] | None) -> ResourceList:
        values = values or {}
        return ResourceList(
            cpu=Q(values["cpu"]) if "cpu" in values else None,
            memory=Q(values["memory"]) if "memory" in values else None,
        )

    return ResourceRequirements(requests=listed(requests), limits=listed(limits))


def _spec(*containers: Container, pod: ResourceRequirements | None = None) -> PodSpec:
    return PodSpec(containers=containers, resources=pod)


def _values(resources: ResourceList) -> tuple[Fraction | None, Fraction | None]:
    cpu, memory = resources.cpu, resources.memory
    return (cpu.value if cpu else None, memory.value if memory else None)


def test_without_pod_level_resources_the_pod_requests_the_sum_of_its_containers() -> None:
    spec = _spec(
        container("a", resources=_asks({"cpu": "250m"}, {"memory": "64Mi"})),
        container("b", resources=_asks({"cpu": "500m", "memory": "32Mi"})),
        container("c"),
    )
    requests = spec.effective_requests()
    assert _values(requests) == (Fraction(3, 4), Fraction(96 * 2**20))
    assert (str(requests.cpu), str(requests.memory)) == ("750m", "96Mi")


def test_nothing_asked_is_none() -> None:
    assert _values(_spec(container("a")).effective_requests()) == (None, None)


def test_pod_level_requests_win_over_the_containers() -> None:
    spec = _spec(
        container("a", resources=_asks({"cpu": "100m", "memory": "16Mi"})),
        pod=_asks({"cpu": "1", "memory": "128Mi"}, {"cpu": "2", "memory": "256Mi"}),
    )
    assert _values(spec.effective_requests()) == (Fraction(1), Fraction(128 * 2**20))


def test_a_pod_limit_alone_defaults_the_request_to_the_containers_sum_or_else_the_limit() -> None:
    # Kubernetes' defaulting of pod-level requests: the containers' aggregate when any asks,
    # else the pod's limit.
    spec = _spec(
        container("a", resources=_asks({"cpu": "200m"})),
        container("b"),
        pod=_asks(limits={"cpu": "1", "memory": "64Mi"}),
    )
    assert _values(spec.effective_requests()) == (Fraction(1, 5), Fraction(64 * 2**20))


def test_a_resource_left_out_at_pod_level_is_the_containers_sum() -> None:
    spec = _spec(
        container("a", resources=_asks({"cpu": "300m"})),
        pod=_asks(limits={"memory": "64Mi"}),
    )
    assert _values(spec.effective_requests()) == (Fraction(3, 10), Fraction(64 * 2**20))


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(1), "1"), (Fraction(3, 2), "1500m"), (Fraction(1, 4), "250m")],
)
def test_cpu_prints_as_kubernetes_does(value: Fraction, text: str) -> None:
    assert Quantity.of_cpu(value).text == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(2**30, "1Gi"), (96 * 2**20, "96Mi"), (1536, "1536"), (3 * 2**10, "3Ki"), (1000, "1000")],
)
def test_memory_prints_as_kubernetes_does(value: int, text: str) -> None:
    assert Quantity.of_bytes(Fraction(value)).text == text


def _errors(spec: PodSpec) -> dict[str, str]:
    return {e.path: e.message for e in pod_resource_errors("spec", spec)}


def test_containers_within_the_pod_pass() -> None:
    spec = _spec(
        container("a", resources=_asks({"cpu": "100m", "memory": "16Mi"}, {"memory": "64Mi"})),
        container("b", resources=_asks({"cpu": "100m"})),
        pod=_asks({"cpu": "500m", "memory": "32Mi"}, {"cpu": "1", "memory": "64Mi"}),
    )
    assert _errors(spec) == {}
    assert _errors(_spec(container("a"), pod=_asks(limits={"memory": "64Mi"}))) == {}


def test_container_requests_above_the_pods_are_refused_with_kubernetes_words() -> None:
    spec = _spec(
        container("a", resources=_asks({"cpu": "300m", "memory": "64Mi"})),
        container("b", resources=_asks({"cpu": "300m", "memory": "32Mi"})),
        pod=_asks({"cpu": "500m", "memory": "64Mi"}),
    )
    assert _errors(spec) == {
        "spec.resources.requests.cpu": (
            'Invalid value: "500m": must be greater than or equal to aggregate container '
            "requests of 600m"
        ),
        "spec.resources.requests.memory": (
            'Invalid value: "64Mi": must be greater than or equal to aggregate container '
            "requests of 96Mi"
        ),
    }


def test_a_container_limit_above_the_pods_is_refused() -> None:
    spec = _spec(
        container("a"),
        container("b", resources=_asks(limits={"cpu": "2", "memory": "128Mi"})),
        pod=_asks(limits={"cpu": "1", "memory": "64Mi"}),
    )
    found = _errors(spec)
    assert found["spec.containers[1].resources.limits.cpu"] == (
        'Invalid value: "2": must be less than or equal to pod limits of 1'
    )
    assert found["spec.containers[1].resources.limits.memory"] == (
        'Invalid value: "128Mi": must be less than or equal to pod limits of 64Mi'
    )


def test_a_pod_request_above_its_limit_is_refused_even_when_defaulted() -> None:
    explicit = _spec(container("a"), pod=_asks({"cpu": "2"}, {"cpu": "1"}))
    assert _errors(explicit) == {
        "spec.resources.requests.cpu": (
            'Invalid value: "2": must be less than or equal to cpu limit of 1'
        )
    }
    # no pod request: the API server defaults it to the containers' 96Mi, above the limit
    defaulted = _spec(
        container("a", resources=_asks({"memory": "48Mi"})),
        container("b", resources=_asks({"memory": "48Mi"})),
        pod=_asks(limits={"memory": "64Mi"}),
    )
    assert _errors(defaulted) == {
        "spec.resources.requests.memory": (
            'Invalid value: "96Mi": must be less than or equal to memory limit of 64Mi'
        )
    }


def test_the_pods_limits_meet_dockers_minimums() -> None:
    found = _errors(_spec(container("a"), pod=_asks(limits={"cpu": "5m", "memory": "4Mi"})))
    assert "Docker's smallest CPU limit" in found["spec.resources.limits.cpu"]
    assert "Minimum memory limit allowed is 6MB" in found["spec.resources.limits.memory"]


POD_YAML = """apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  resources:
    limits:
      memory: 64Mi
  containers:
    - name: a
      image: busybox:1
    - name: b
      image: busybox:1
      resources:
        limits:
          memory: 128Mi
"""


def test_validate_names_the_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "shared.yaml"
    manifest.write_text(POD_YAML)
    assert main(["validate", str(manifest)]) == 1
    lines = capsys.readouterr().out.splitlines()
    # b's request defaults to its limit, so the pod's request (defaulted to the containers' sum)
    # is above the pod's limit too: Kubernetes reports both
    assert lines[:2] == [
        f'{manifest}:6: spec.resources.requests.memory: Invalid value: "128Mi": '
        "must be less than or equal to memory limit of 64Mi",
        f'{manifest}:16: spec.containers[1].resources.limits.memory: Invalid value: "128Mi": '
        "must be less than or equal to pod limits of 64Mi",
    ]


def test_pod_level_resources_change_the_pods_spec_hash() -> None:
    plain = _spec(container("a"))
    limited = _spec(container("a"), pod=_asks(limits={"memory": "64Mi"}))
    other = _spec(container("a"), pod=_asks(limits={"memory": "128Mi"}))
    assert len({pod_spec_hash(plain), pod_spec_hash(limited), pod_spec_hash(other)}) == 3


def test_the_sandbox_config_carries_the_pods_limits_and_every_config_the_flag() -> None:
    p = pod("web", [container("a", resources=_asks(limits={"memory": "32Mi"})), container("b")])
    spec = attrs.evolve(p.spec, resources=_asks({"cpu": "250m"}, {"cpu": "1", "memory": "64Mi"}))
    wanted = desired(attrs.evolve(p, spec=spec))
    ref = PodRef("default", "web", PodUid("u1"))
    sandbox = cfg.sandbox_config(wanted, ref, 1.0, 0, "pause:1")
    assert (sandbox.memory_limit_bytes, sandbox.cpu_limit_millis, sandbox.cpu_request_millis) == (
        64 * 2**20,
        1000,
        250,
    )
    assert sandbox.pod_cgroup
    apps = [cfg.app_config(wanted, ref, 1.0, c, 0, 0, 0.0) for c in spec.containers]
    assert all(a.pod_cgroup for a in apps)
    assert [a.memory_limit_bytes for a in apps] == [32 * 2**20, None]  # their own, as before


def test_without_pod_level_resources_nothing_changes_for_the_sandbox() -> None:
    wanted = desired(pod("web", [container("a")]))
    ref = PodRef("default", "web", PodUid("u1"))
    sandbox = cfg.sandbox_config(wanted, ref, 1.0, 0, "pause:1")
    assert (sandbox.memory_limit_bytes, sandbox.cpu_limit_millis, sandbox.pod_cgroup) == (
        None,
        None,
        False,
    )
