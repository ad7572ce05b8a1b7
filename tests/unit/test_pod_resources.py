"""Pod-level resources: the pod's effective requests, and the validation against containers."""

from __future__ import annotations

from fractions import Fraction

import pytest

from controller.model.pod import Container, PodSpec, ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from tests.factories import container

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
