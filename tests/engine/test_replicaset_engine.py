"""ReplicaSets on the fake engine: counts follow the spec, failures are replaced, restarts are safe."""

from __future__ import annotations

import attrs

from controller.engine.replicasets import rs_key
from controller.model.meta import ObjectMeta
from controller.model.observed import RunState
from controller.model.plan import ContainerConfig
from controller.model.pod import PodSpec, RestartPolicy
from controller.model.status import PodPhase
from controller.model.workloads import (
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)
from controller.runtime.fake import Exit
from tests.engine.conftest import Harness
from tests.factories import container


def replicaset(
    name: str = "web", replicas: int = 3, policy: RestartPolicy = RestartPolicy.ALWAYS
) -> ReplicaSet:
    labels = {"app": name}
    return ReplicaSet(
        metadata=ObjectMeta(name=name),
        spec=ReplicaSetSpec(
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(
                TemplateMeta(labels=labels),
                PodSpec(containers=(container("c"),), restart_policy=policy),
            ),
            replicas=replicas,
        ),
    )


def scaled(rs: ReplicaSet, replicas: int) -> ReplicaSet:
    return attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=replicas))


def running_pods(h: Harness) -> set[str]:
    return {
        r.config.identity.pod.name
        for r in h.runtime.containers.values()
        if r.config.identity.container_name == "c" and r.state is RunState.RUNNING
    }


async def start(h: Harness, rs: ReplicaSet) -> None:
    h.engine.set_replicasets([(rs, "rs.yaml")])
    await h.start([])
    await h.advance(1)


async def test_replicas_follow_the_spec(harness: Harness) -> None:
    rs = replicaset(replicas=3)
    await start(harness, rs)
    pods = running_pods(harness)
    assert len(pods) == 3
    assert all(name.startswith("web-") and len(name) == len("web-") + 5 for name in pods)
    views = {v.pod.metadata.name: v for v in harness.engine.pod_views()}
    assert all(views[n].owner == "ReplicaSet/web" for n in pods)
    assert all(views[n].pod.metadata.labels["app"] == "web" for n in pods)

    harness.engine.set_replicasets([(scaled(rs, 5), "rs.yaml")])
    await harness.advance(1)
    assert len(running_pods(harness)) == 5
    assert pods <= running_pods(harness)

    harness.engine.set_replicasets([(scaled(rs, 2), "rs.yaml")])
    await harness.advance(1)
    assert len(running_pods(harness)) == 2
    status = harness.engine.replicasets.status[rs_key("default", "web")]
    assert (status.replicas, status.ready_replicas, status.observed_generation) == (2, 2, 3)


async def test_scale_down_removes_the_not_ready_pod_first(harness: Harness) -> None:
    rs = replicaset(replicas=3)
    await start(harness, rs)
    victim = sorted(running_pods(harness))[0]
    [record] = [
        r for r in harness.runtime.find("c", running=True) if r.config.identity.pod.name == victim
    ]
    harness.runtime.behaviour = lambda c: (
        Exit(1, 1) if c.identity.pod.name == victim and c.identity.container_name == "c" else None
    )
    harness.runtime.exit(record.id, 1)  # crash-looping from now on: not ready
    await harness.advance(3)
    harness.engine.set_replicasets([(scaled(rs, 2), "rs.yaml")])
    await harness.advance(1)
    assert victim not in {v.pod.metadata.name for v in harness.engine.pod_views()}
    assert len(running_pods(harness)) == 2


async def test_deleting_the_replicaset_deletes_its_pods(harness: Harness) -> None:
    await start(harness, replicaset(replicas=3))
    harness.engine.set_replicasets([])
    await harness.advance(1)
    assert harness.runtime.containers == {}
    assert harness.engine.pod_views() == []


async def test_a_pod_that_fails_for_good_is_replaced(harness: Harness) -> None:
    def behaviour(config: ContainerConfig) -> Exit | None:
        if config.identity.container_name == "c" and not harness.runtime.find("c", running=False):
            return Exit(2, 1)  # the very first container fails once; the rest run
        return None

    harness.runtime.behaviour = behaviour
    await start(harness, replicaset(replicas=2, policy=RestartPolicy.NEVER))
    await harness.advance(5)
    phases = sorted(v.status.phase.value for v in harness.engine.pod_views())
    assert phases == [
        "Failed",
        "Running",
        "Running",
    ]  # replaced, and the failed one kept to inspect
    assert len(running_pods(harness)) == 2


async def test_controller_restart_restores_the_pods_without_creating_more(harness: Harness) -> None:
    rs = replicaset(replicas=3)
    await start(harness, rs)
    before = running_pods(harness)
    ids = set(harness.runtime.containers)
    await harness.engine.stop()
    harness.runtime._events = __import__("asyncio").Queue()
    harness.engine = harness._new_engine()
    harness.engine.set_replicasets([(rs, "rs.yaml")])
    harness.runtime.calls.clear()
    await harness.engine.start()
    await harness.advance(1)
    assert running_pods(harness) == before
    assert set(harness.runtime.containers) == ids
    assert not [c for c in harness.runtime.calls if c.startswith(("create", "stop", "remove"))]
    assert all(v.status.phase is PodPhase.RUNNING for v in harness.engine.pod_views())


async def test_pods_that_cannot_be_created_are_a_replica_failure(harness: Harness) -> None:
    rs = replicaset(replicas=2)
    bad = attrs.evolve(
        rs,
        spec=attrs.evolve(
            rs.spec,
            template=attrs.evolve(
                rs.spec.template,
                spec=PodSpec(containers=(container("c", image="localhost:5999/missing:1"),)),
            ),
        ),
    )
    await start(harness, bad)
    status = harness.engine.replicasets.status[rs_key("default", "web")]
    failure = status.condition("ReplicaFailure")
    assert failure is not None
    assert failure.status
    assert "ErrImagePull" in failure.message or "ImagePullBackOff" in failure.message
    assert status.replicas == 2  # the pods exist; their containers cannot be made


async def test_each_pod_is_made_once_while_relists_race_the_creates(harness: Harness) -> None:
    """The start-up relist reads the engine while the first pods are being made; installing that
    older snapshot must not hide them, or each would be made again under a new uid."""
    await start(harness, replicaset(replicas=4))
    scheduled = [e for e in harness.engine.events.list() if e.reason == "Scheduled"]
    assert len(scheduled) == 4, [e.message for e in scheduled]
    assert not [e for e in harness.engine.events.list() if e.reason == "Killing"]
    assert len(harness.runtime.find("POD")) == 4
