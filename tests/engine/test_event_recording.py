"""Events the engine records on the fake runtime: pods, ReplicaSets, Deployments and nodes."""

from __future__ import annotations

import attrs

from controller.config import NodeLifecycleSettings
from controller.model.events import Event, EventType
from controller.model.pod import PullPolicy
from controller.runtime.fake import Exit
from tests.engine.conftest import Harness
from tests.engine.test_deployment_engine import deployment
from tests.engine.test_replicaset_engine import replicaset, scaled
from tests.engine.test_replicaset_engine import start as start_replicaset
from tests.factories import container, desired, pod


def events(h: Harness, reason: str | None = None, kind: str | None = None) -> list[Event]:
    return [
        e
        for e in h.engine.events.list()
        if (reason is None or e.reason == reason) and (kind is None or e.involved.kind == kind)
    ]


def messages(h: Harness, reason: str) -> list[str]:
    return [e.message for e in events(h, reason)]


async def test_a_new_pod_is_scheduled_created_and_started(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a"), container("b")]))])
    uid = harness.view().ref.uid  # type: ignore[union-attr]
    assert messages(harness, "Scheduled") == ["Successfully assigned default/web to node-a"]
    assert sorted(messages(harness, "Created")) == ["Created container a", "Created container b"]
    assert sorted(messages(harness, "Started")) == ["Started container a", "Started container b"]
    for event in events(harness, kind="Pod"):
        assert event.involved.uid == uid
        assert event.type is EventType.NORMAL
        assert (event.source.component, event.source.host) == ("podyard", "node-a")
    assert messages(harness, "Pulling") == []  # IfNotPresent: whether it pulled is not known


async def test_always_pulls_and_says_so(harness: Harness) -> None:
    harness.runtime.pullable.add("busybox:latest")
    await harness.start([desired(pod(containers=[container("a", image="busybox:latest")]))])
    assert harness.view().pod.spec.containers[0].pull_policy() is PullPolicy.ALWAYS
    assert messages(harness, "Pulling") == ['Pulling image "busybox:latest"']
    assert messages(harness, "Pulled") == ['Successfully pulled image "busybox:latest"']


async def test_crash_loop_records_one_backoff_per_wait_and_killing_on_delete(
    harness: Harness,
) -> None:
    harness.runtime.behaviour = lambda c: None if c.identity.container_name == "POD" else Exit(1, 1)
    await harness.start([desired(pod())])
    await harness.advance(1)  # dies; the first restart is at once
    assert events(harness, "BackOff") == []
    await harness.advance(1)  # dies again; waits 10 s
    backoff = events(harness, "BackOff")
    assert len(backoff) == 1
    assert backoff[0].type is EventType.WARNING
    assert backoff[0].message == "Back-off restarting failed container app in pod web"
    await harness.advance(5)  # still the same wait, however often the pod is looked at
    harness.engine.queue.add(harness.key())
    await harness.settle()
    assert events(harness, "BackOff")[0].count == 1
    await harness.advance(5 + 1)  # restarted, dies, waits 20 s: a second wait
    assert events(harness, "BackOff")[0].count == 2  # one per wait, aggregated
    started = events(harness, "Started")
    assert [(e.message, e.count) for e in started] == [("Started container app", 3)]
    assert events(harness, "Killing") == []
    await harness.advance(20)  # restarted: running for its one second
    assert harness.runtime.find("app", running=True)
    harness.engine.set_desired([])
    await harness.settle()
    assert messages(harness, "Killing") == ["Stopping container app"]
    assert harness.runtime.containers == {}
    assert events(harness, "BackOff")[0].count == 2


async def test_deleting_a_running_pod_records_killing(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a"), container("b")]))])
    harness.engine.set_desired([])
    await harness.settle()
    assert sorted(messages(harness, "Killing")) == ["Stopping container a", "Stopping container b"]


async def test_image_pull_failure_records_failed_and_backoff(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a", image="nowhere/x:1")]))])
    failed = events(harness, "Failed")
    assert len(failed) == 1
    assert failed[0].type is EventType.WARNING
    assert failed[0].message.startswith("Error: ErrImagePull: pull access denied")
    assert messages(harness, "BackOff") == ['Back-off pulling image "nowhere/x:1"']


async def test_sandbox_death_records_sandbox_changed(harness: Harness) -> None:
    await harness.start([desired(pod())])
    (sandbox,) = harness.runtime.find("POD", running=True)
    harness.runtime.exit(sandbox.id, 137)
    await harness.settle()
    changed = events(harness, "SandboxChanged")
    assert [(e.message, e.count) for e in changed] == [
        ("Pod sandbox changed, it will be killed and re-created.", 1)
    ]
    assert "Stopping container app: the pod sandbox changed" in messages(harness, "Killing")
    assert len(messages(harness, "Scheduled")) == 1  # the same pod instance, not a new one


async def test_replicaset_scale_records_create_and_delete(harness: Harness) -> None:
    rs = replicaset(replicas=2)
    await start_replicaset(harness, rs)
    created = events(harness, "SuccessfulCreate", "ReplicaSet")
    names = {e.message.removeprefix("Created pod: ") for e in created}
    assert len(names) == 2
    assert all(n.startswith("web-") for n in names)
    assert all(e.involved.name == "web" and e.involved.uid for e in created)
    harness.engine.set_replicasets([(scaled(rs, 1), "rs.yaml")])
    await harness.advance(1)
    deleted = messages(harness, "SuccessfulDelete")
    assert len(deleted) == 1
    assert deleted[0].removeprefix("Deleted pod: ") in names
    assert messages(harness, "Scheduled") != []  # its pods have their own events


async def test_a_pod_that_cannot_be_created_is_failed_create(harness: Harness) -> None:
    rs = replicaset(replicas=1)
    bad = rs.spec.template.spec.containers[0]
    template = rs.spec.template
    spec = attrs.evolve(template.spec, containers=(attrs.evolve(bad, image="nowhere/x:1"),))
    rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, template=attrs.evolve(template, spec=spec)))
    await start_replicaset(harness, rs)
    await harness.advance(5)
    failed = events(harness, "FailedCreate", "ReplicaSet")
    assert len(failed) == 1
    assert failed[0].type is EventType.WARNING
    assert "ErrImagePull" in failed[0].message or "ImagePullBackOff" in failed[0].message


async def test_deployment_records_scaling(harness: Harness) -> None:
    harness.engine.set_deployments([(deployment(replicas=2), "d.yaml")])
    await harness.start([])
    await harness.advance(1)
    (up,) = events(harness, "ScalingReplicaSet")
    assert up.involved.kind == "Deployment"
    assert up.involved.name == "hello"
    assert up.message.startswith("Scaled up replica set hello-")
    assert up.message.endswith(" to 2")
    harness.engine.set_deployments([(deployment(replicas=1), "d.yaml")])
    await harness.advance(1)
    down = messages(harness, "ScalingReplicaSet")[-1]
    assert down.startswith("Scaled down replica set hello-")
    assert down.endswith(" to 1")


async def test_node_readiness_changes_are_events(harness: Harness) -> None:
    harness.engine.lifecycle.settings = NodeLifecycleSettings()  # heartbeats watched here
    await harness.start([])
    assert messages(harness, "NodeReady") == ["Node node-a status is now: NodeReady"]
    watcher = harness.engine.watchers[0]
    harness.runtime.down = True
    await watcher.relist()
    await watcher.relist()
    harness.engine.lifecycle.check()
    assert messages(harness, "NodeNotReady") == []  # a failed call or two is not an outage
    harness.clock.advance(NodeLifecycleSettings().monitor_grace_seconds)
    await watcher.relist()
    harness.engine.lifecycle.check()
    assert messages(harness, "NodeNotReady") == ["Node node-a status is now: NodeNotReady"]
    harness.runtime.down = False
    await watcher.relist()
    (ready,) = events(harness, "NodeReady", "Node")
    assert ready.count == 2
    assert ready.namespace == "default"
    assert ready.involved.namespace == ""
