"""Deployments on the fake engine: rolling-update bounds, a bad rollout, revert, restart."""

from __future__ import annotations

import asyncio

import attrs

from controller.model.meta import ObjectMeta
from controller.model.observed import RunState
from controller.model.pod import PodSpec
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    LabelSelector,
    PodTemplateSpec,
    TemplateMeta,
)
from tests.engine.conftest import Harness
from tests.factories import IMAGE, container


def deployment(image: str = IMAGE, replicas: int = 4, command: str = "v1") -> Deployment:
    labels = {"app": "hello"}
    spec = PodSpec(containers=(container("c", "sh", "-c", command, image=image),))
    return Deployment(
        metadata=ObjectMeta(name="hello"),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(TemplateMeta(labels=labels), spec),
            replicas=replicas,
        ),
    )


def pods(h: Harness) -> list[tuple[str, bool, bool]]:
    """(name, ready, terminating) of every pod the API would show."""
    return [
        (
            v.pod.metadata.name,
            v.status.phase.value == "Running" and all(s.ready for s in v.status.container_statuses),
            v.deleting,
        )
        for v in h.engine.pod_views()
    ]


def commands(h: Harness) -> set[str]:
    return {
        r.config.entrypoint[-1]
        for r in h.runtime.containers.values()
        if r.config.identity.container_name == "c"
        and r.state is RunState.RUNNING
        and r.config.entrypoint
    }


async def test_rolling_update_keeps_3_ready_and_at_most_5_pods(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(command="v1"), "d.yaml")])
    await harness.start([])
    await harness.advance(2)
    assert sum(ready for _, ready, _ in pods(harness)) == 4
    harness.engine.set_deployments([(deployment(command="v2"), "d.yaml")])
    worst_ready, worst_total = 4, 4
    for _ in range(400):
        await asyncio.sleep(0)
        current = pods(harness)
        live = [p for p in current if not p[2]]
        worst_ready = min(worst_ready, sum(ready for _, ready, _ in live))
        worst_total = max(worst_total, len(live))
    await harness.advance(5)
    assert worst_ready >= 3
    assert worst_total <= 5
    assert commands(harness) == {"v2"}
    assert sum(ready for _, ready, _ in pods(harness)) == 4
    [view] = harness.engine.deployments.views()
    assert (view.status.updated_replicas, view.status.available_replicas, view.revision) == (
        4,
        4,
        2,
    )


async def test_a_rollout_to_a_bad_image_stops_with_the_old_pods_serving(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(), "d.yaml")])
    await harness.start([])
    await harness.advance(2)
    harness.engine.set_deployments([(deployment(image="localhost:5999/missing:1"), "d.yaml")])
    await harness.advance(1300)  # beyond progressDeadlineSeconds after the last progress
    assert sum(ready for _, ready, _ in pods(harness)) == 3  # 4 - maxUnavailable(1)
    [view] = harness.engine.deployments.views()
    progressing = view.status.condition("Progressing")
    assert progressing is not None
    assert not progressing.status
    assert progressing.reason == "ProgressDeadlineExceeded"


async def test_reverting_the_template_reuses_the_old_replicaset(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(command="v1"), "d.yaml")])
    await harness.start([])
    await harness.advance(2)
    first = {e.rs.metadata.name for e in harness.engine.replicasets.declared.values()}
    harness.engine.set_deployments([(deployment(command="v2"), "d.yaml")])
    await harness.advance(5)
    harness.engine.set_deployments([(deployment(command="v1"), "d.yaml")])
    await harness.advance(5)
    assert commands(harness) == {"v1"}
    live = {
        e.rs.metadata.name
        for e in harness.engine.replicasets.declared.values()
        if e.rs.spec.replicas
    }
    assert live == first
    [view] = harness.engine.deployments.views()
    assert view.revision == 3


async def test_restart_in_the_middle_of_a_rollout_carries_on(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(command="v1"), "d.yaml")])
    await harness.start([])
    await harness.advance(2)
    harness.engine.set_deployments([(deployment(command="v2"), "d.yaml")])
    for _ in range(2000):  # stop the controller the moment both templates run
        await asyncio.sleep(0)
        if commands(harness) == {"v1", "v2"}:
            break
    assert commands(harness) == {"v1", "v2"}, "never caught the rollout half-way"
    await harness.engine.stop()
    harness.runtime._events = asyncio.Queue()
    harness.engine = harness._new_engine()
    harness.engine.set_deployments([(deployment(command="v2"), "d.yaml")])
    await harness.engine.start()
    await harness.advance(10)
    assert commands(harness) == {"v2"}
    assert sum(ready for _, ready, _ in pods(harness)) == 4
    assert len(pods(harness)) == 4


async def test_deleting_the_deployment_deletes_everything(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(), "d.yaml")])
    await harness.start([])
    await harness.advance(2)
    harness.engine.set_deployments([])
    await harness.advance(2)
    assert harness.runtime.containers == {}
    assert harness.engine.replicasets.declared == {}


def test_deployment_helpers_are_pure() -> None:
    d = deployment()
    assert attrs.evolve(d, spec=attrs.evolve(d.spec, replicas=2)).spec.replicas == 2
