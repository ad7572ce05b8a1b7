"""Knowledge before action on the fake engine: a node that answers late, a node lost after start,
and a folder not yet applied against the pods found running decide nothing."""

from __future__ import annotations

import asyncio

from controller.decide.pods import compute_pod_plan
from controller.engine.baseline import running_baseline
from controller.engine.podfactory import desired_from_pod
from controller.model.manifests import RunningObject
from controller.model.meta import ObjectKey
from tests.engine.conftest import Harness
from tests.engine.test_deployment_engine import deployment
from tests.engine.test_replicaset_engine import replicaset, running_pods, scaled, start
from tests.factories import pod

DESTRUCTIVE = ("create", "stop", "remove")


def changes(h: Harness) -> list[str]:
    return [c for c in h.runtime.calls if c.startswith(DESTRUCTIVE)]


def new_engine(h: Harness) -> None:
    """Throw the controller away (the pods keep running) and make a new one, not started."""
    h.runtime._events = asyncio.Queue()
    h.engine = h._new_engine()
    h.runtime.calls.clear()


async def test_a_replicaset_on_an_engine_that_answers_late_keeps_its_pods(
    harness: Harness,
) -> None:
    rs = replicaset(replicas=3)
    await start(harness, rs)
    before, ids = running_pods(harness), set(harness.runtime.containers)
    await harness.engine.stop()
    new_engine(harness)
    harness.engine.set_replicasets([(rs, "rs.yaml")])
    harness.runtime.down = True
    await harness.engine.start()
    await harness.advance(10)
    assert not harness.engine.desired.all(), "pods were made while no node was listed"
    harness.runtime.down = False
    assert await harness.engine.watchers[0].relist()
    await harness.advance(1)
    assert running_pods(harness) == before
    assert set(harness.runtime.containers) == ids
    assert changes(harness) == []
    assert len(harness.engine.desired.all()) == 3


async def test_nothing_is_touched_until_the_folder_was_applied_against_the_baseline(
    harness: Harness,
) -> None:
    await harness.start([desired_from_pod(pod("web"), source="web.yaml")])
    await harness.engine.stop()
    new_engine(harness)
    baselines: list[tuple[RunningObject, ...]] = []
    harness.engine.on_baseline = baselines.append
    harness.engine.set_desired([])  # the folder is empty now
    await harness.engine.start()
    await harness.advance(10)
    assert baselines == [(RunningObject(ObjectKey("Pod", "default", "web"), "web.yaml", 1),)]
    assert changes(harness) == []
    harness.engine.settle()  # the folder was applied against it, with nothing held
    await harness.advance(31)
    assert "stop" in " ".join(changes(harness))
    assert not harness.runtime.containers


async def test_a_node_lost_after_start_gets_no_teardown_until_it_is_listed_again(
    harness: Harness,
) -> None:
    await harness.start([desired_from_pod(pod("web"), source="web.yaml")])
    harness.runtime.down = True
    assert not await harness.engine.watchers[0].relist()
    harness.engine.set_desired([])
    await harness.advance(10)
    plan = compute_pod_plan(harness.engine.reconciler.inputs(harness.key()))
    assert plan.empty, "a teardown decided on a node that is not known"
    harness.runtime.down = False
    harness.runtime.calls.clear()
    assert await harness.engine.watchers[0].relist()
    await harness.advance(31)
    assert "stop" in " ".join(changes(harness))


async def test_a_pod_deleted_while_its_node_was_away_is_not_restored_when_it_returns(
    harness: Harness,
) -> None:
    rs = replicaset(replicas=3)
    await start(harness, rs)
    harness.runtime.down = True
    assert not await harness.engine.watchers[0].relist()
    harness.engine.set_replicasets([(scaled(rs, 2), "rs.yaml")])
    await harness.advance(10)
    assert len(running_pods(harness)) == 3  # the scale-down waits for the node
    assert len(harness.engine.desired.all()) == 2
    harness.runtime.down = False
    harness.runtime.calls.clear()
    assert await harness.engine.watchers[0].relist()
    assert len(harness.engine.desired.all()) == 2, "the pod being deleted was restored"
    await harness.advance(31)
    assert len(harness.engine.desired.all()) == 2
    assert len(running_pods(harness)) == 2
    assert not [c for c in harness.runtime.calls if c.startswith("create")]


async def test_the_baseline_names_each_declaring_object_with_its_file_and_pods(
    harness: Harness,
) -> None:
    harness.engine.set_replicasets([(replicaset("web", replicas=2), "rs.yaml")])
    harness.engine.set_deployments([(deployment(replicas=3), "d.yaml")])
    await harness.start([desired_from_pod(pod("solo"), source="solo.yaml")])
    await harness.advance(2)
    assert running_baseline(harness.engine.cache) == (
        RunningObject(ObjectKey("Deployment", "default", "hello"), "d.yaml", 3),
        RunningObject(ObjectKey("Pod", "default", "solo"), "solo.yaml", 1),
        RunningObject(ObjectKey("ReplicaSet", "default", "web"), "rs.yaml", 2),
    )
