"""A node that stops answering, on two fake nodes with a fake clock: NotReady after the grace
period, its ReplicaSet pods replaced after the eviction timeout, bare pods kept and Unknown, and
on its return the replaced pods removed there before anything else runs again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import attrs
import pytest

from controller.config import (
    EngineSettings,
    HealthSettings,
    NodeLifecycleSettings,
    RuntimeSettings,
)
from controller.decide.nodelost import NODE_LOST
from controller.engine.engine import Engine
from controller.engine.ports import FakeClock
from controller.model.meta import NodeName
from controller.model.observed import RunState
from controller.model.placement import TaintEffect, Toleration, TolerationOperator
from controller.model.status import ConditionType, PodPhase, PodView
from controller.runtime.fake import FakeRuntime, run_forever
from tests.engine.conftest import PAUSE, settle_engine
from tests.engine.test_replicaset_engine import replicaset
from tests.factories import IMAGE, desired, pod

GRACE = 20.0
EVICTION = 30.0
NODES = ("node-a", "node-b")


class TwoNodes:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.runtimes = {
            NodeName(n): FakeRuntime(n, self.clock, images=[IMAGE, PAUSE], behaviour=run_forever)
            for n in NODES
        }
        self.engine = self._new_engine()

    def _new_engine(self) -> Engine:
        return Engine(
            dict(self.runtimes),
            self.clock,
            engine=EngineSettings(),
            runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
            node_lifecycle=NodeLifecycleSettings(GRACE, EVICTION, check_interval_seconds=3600),
        )

    async def restart_controller(self) -> None:
        """A new controller on the same engines (the old one gone, as after SIGKILL)."""
        replicasets = [(e.rs, e.source) for e in self.engine.replicasets.declared.values()]
        bare = [p for p in self.engine.desired.all() if not p.owner]
        await self.engine.stop()
        for runtime in self.runtimes.values():
            runtime._events = asyncio.Queue()
        self.engine = self._new_engine()
        self.engine.set_replicasets(replicasets)
        self.engine.set_desired(bare)
        await self.engine.start()

    async def settle(self) -> None:
        await settle_engine(self.engine, self.runtimes.values())

    async def tick(self, seconds: float) -> None:
        """Time passes: every node is relisted (the down one fails), the lifecycle looks."""
        target = self.clock.now() + seconds
        while self.clock.now() < target:
            step = min(1.0, target - self.clock.now())
            self.clock.advance(step)
            for watcher in self.engine.watchers:
                await watcher.relist()
            self.engine.lifecycle.check()
            await self.settle()

    def running(self, node: str, container: str = "c") -> set[str]:
        runtime = self.runtimes[NodeName(node)]
        return {
            r.config.identity.pod.name
            for r in runtime.containers.values()
            if r.config.identity.container_name == container and r.state is RunState.RUNNING
        }

    def view(self, name: str) -> PodView:
        return next(v for v in self.engine.pod_views() if v.pod.metadata.name == name)

    def crash_host(self, node: str) -> None:
        """The host is gone: its engine does not answer, and what ran there is dead."""
        runtime = self.runtimes[NodeName(node)]
        runtime.down = True
        for record in runtime.containers.values():
            if record.state is RunState.RUNNING:
                record.state = RunState.EXITED
                record.exit_code, record.finished_at = 137, self.clock.now()


@pytest.fixture
async def nodes() -> AsyncIterator[TwoNodes]:
    cluster = TwoNodes()
    yield cluster
    await cluster.engine.stop()


def condition(view: PodView, kind: ConditionType) -> bool:
    return next(c.status for c in view.status.conditions if c.type is kind)


async def test_lost_node_pods_are_replaced_and_removed_there_first_on_return(
    nodes: TwoNodes,
) -> None:
    nodes.engine.set_replicasets([(replicaset(replicas=4), "rs.yaml")])
    await nodes.engine.start()
    await nodes.tick(2)
    assert len(nodes.running("node-a")) == 2
    assert len(nodes.running("node-b")) == 2
    lost = nodes.running("node-a")

    nodes.crash_host("node-a")
    await nodes.tick(GRACE - 3)
    assert nodes.engine.nodes.get(NodeName("node-a")).ready  # silence shorter than the grace
    await nodes.tick(4)
    status = nodes.engine.nodes.get(NodeName("node-a"))
    assert not status.ready
    assert [t.key for t in status.effective_taints] == ["node.kubernetes.io/unreachable"] * 2
    for name in lost:
        view = nodes.view(name)
        assert not condition(view, ConditionType.READY)
        assert view.status.phase is PodPhase.RUNNING  # not yet given up on
    assert len(nodes.running("node-b")) == 2  # nothing replaced before the eviction timeout

    await nodes.tick(EVICTION + 1)
    assert len(nodes.running("node-b")) == 4  # replaced on the Ready node
    for name in lost:
        view = nodes.view(name)
        assert view.deleting
        assert view.status.phase is PodPhase.UNKNOWN
        assert view.status.reason == NODE_LOST
    reasons = [e.reason for e in nodes.engine.events.list()]
    assert reasons.count("TaintManagerEviction") == 2
    assert "NodeNotReady" in reasons

    runtime = nodes.runtimes[NodeName("node-a")]
    runtime.down = False
    for watcher in nodes.engine.watchers:
        await watcher.relist()
    # back: the replaced pods are removed there, and the node takes nothing meanwhile
    assert nodes.engine.nodes.get(NodeName("node-a")).draining
    await nodes.settle()
    nodes.engine.lifecycle.check()
    await nodes.settle()
    left = {r.config.identity.pod.name for r in runtime.containers.values()}
    assert not left & lost
    assert not nodes.engine.nodes.get(NodeName("node-a")).draining
    await nodes.tick(2)
    assert len(nodes.running("node-a") | nodes.running("node-b")) == 4


async def test_a_bare_pod_on_a_lost_node_stays_bound_unknown_and_runs_again(
    nodes: TwoNodes,
) -> None:
    bare = pod("solo")
    nodes.engine.set_desired([desired(bare)])
    await nodes.engine.start()
    await nodes.tick(2)
    (node,) = (n for n in NODES if nodes.running(n, "app"))
    nodes.crash_host(node)
    await nodes.tick(GRACE + EVICTION + 5)
    view = nodes.view("solo")
    assert view.node == node  # not moved
    assert view.status.phase is PodPhase.UNKNOWN
    assert not condition(view, ConditionType.READY)
    other = next(n for n in NODES if n != node)
    assert not nodes.running(other, "app")

    nodes.runtimes[NodeName(node)].down = False
    await nodes.tick(3)
    assert nodes.running(node, "app") == {"solo"}
    assert nodes.view("solo").status.phase is PodPhase.RUNNING


async def test_a_pod_tolerating_the_unreachable_taint_stays_as_long_as_it_says(
    nodes: TwoNodes,
) -> None:
    rs = replicaset(replicas=2)
    forever = Toleration(
        key="node.kubernetes.io/unreachable",
        operator=TolerationOperator.EXISTS,
        effect=TaintEffect.NO_EXECUTE,
    )
    template = rs.spec.template
    spec = attrs.evolve(template.spec, tolerations=(forever,))
    rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, template=attrs.evolve(template, spec=spec)))
    nodes.engine.set_replicasets([(rs, "rs.yaml")])
    await nodes.engine.start()
    await nodes.tick(2)
    nodes.crash_host("node-a")
    await nodes.tick(GRACE + EVICTION + 5)
    assert len(nodes.running("node-b")) == 1  # its pod on node-a was not evicted
    assert "TaintManagerEviction" not in [e.reason for e in nodes.engine.events.list()]


async def test_failed_relists_within_the_grace_period_change_nothing(nodes: TwoNodes) -> None:
    nodes.engine.set_replicasets([(replicaset(replicas=2), "rs.yaml")])
    await nodes.engine.start()
    await nodes.tick(2)
    runtime = nodes.runtimes[NodeName("node-a")]
    for _ in range(3):  # an engine failing now and then, never for the grace period
        runtime.down = True
        await nodes.tick(GRACE / 2)
        runtime.down = False
        await nodes.tick(1)
    assert nodes.engine.nodes.get(NodeName("node-a")).ready
    assert "NodeNotReady" not in [e.reason for e in nodes.engine.events.list()]
    assert len(nodes.running("node-a")) == 1


async def test_nothing_is_evicted_while_no_node_is_ready(nodes: TwoNodes) -> None:
    nodes.engine.set_replicasets([(replicaset(replicas=4), "rs.yaml")])
    await nodes.engine.start()
    await nodes.tick(2)
    before = nodes.running("node-a") | nodes.running("node-b")
    for runtime in nodes.runtimes.values():
        runtime.down = True  # every engine silent: likelier the controller's own trouble
    await nodes.tick(GRACE + EVICTION + 10)
    assert nodes.engine.lifecycle.evictions_paused
    assert "TaintManagerEviction" not in [e.reason for e in nodes.engine.events.list()]
    for runtime in nodes.runtimes.values():
        runtime.down = False
    await nodes.tick(3)
    assert nodes.running("node-a") | nodes.running("node-b") == before  # nothing replaced


async def test_a_controller_started_while_a_node_is_dead_acts_without_it_after_the_timeouts(
    nodes: TwoNodes,
) -> None:
    nodes.engine.set_replicasets([(replicaset(replicas=4), "rs.yaml")])
    nodes.engine.set_desired([desired(pod("solo")), desired(pod("duo"))])
    await nodes.engine.start()
    await nodes.tick(2)
    on_b = nodes.running("node-b")
    bare_on_b = nodes.running("node-b", "app")
    assert len(on_b) == 2
    assert len(bare_on_b) == 1  # one bare pod on each node
    nodes.runtimes[NodeName("node-b")].down = True
    await nodes.restart_controller()
    await nodes.tick(GRACE + EVICTION - 5)
    assert not nodes.engine.settled  # node-b may still answer: nothing decided without it
    assert failing_readiness(nodes.engine)["relist"] == "not relisted yet: node node-b"
    await nodes.tick(10)
    assert nodes.engine.settled
    assert failing_readiness(nodes.engine) == {}  # acting without node-b: ready
    assert len(nodes.running("node-a")) == 4  # the ReplicaSet made whole on node-a
    (waiting,) = bare_on_b
    view = nodes.view(waiting)
    assert view.node is None  # not made again elsewhere: it may run on node-b
    assert "not listed since the controller started" in view.status.conditions[0].message
    assert waiting not in nodes.running("node-a", "app")

    nodes.runtimes[NodeName("node-b")].down = False
    await nodes.tick(3)
    assert not nodes.running("node-b") & on_b  # what was replaced meanwhile is gone
    assert len(nodes.running("node-a") | nodes.running("node-b")) == 4
    assert nodes.running("node-b", "app") == bare_on_b  # the bare pod carries on there


def failing_readiness(engine: Engine) -> dict[str, str]:
    return {c.name: c.failure for c in engine.readiness() if not c.ok}


def failing_liveness(engine: Engine) -> dict[str, str]:
    return {c.name: c.failure for c in engine.liveness() if not c.ok}


async def test_one_dead_node_of_two_is_not_the_controllers_ill_health_but_both_are() -> None:
    clock = FakeClock()
    runtimes = {
        NodeName(n): FakeRuntime(n, clock, images=[IMAGE, PAUSE], behaviour=run_forever)
        for n in NODES
    }
    engine = Engine(
        dict(runtimes),
        clock,
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=NodeLifecycleSettings(GRACE, EVICTION, check_interval_seconds=3600),
        health=HealthSettings(relist_threshold_seconds=60),
    )
    await engine.start()
    try:
        await settle_engine(engine, runtimes.values())
        runtimes[NodeName("node-a")].down = True
        for _ in range(70):
            clock.advance(1)
            for watcher in engine.watchers:
                await watcher.relist()
        assert failing_liveness(engine) == {}  # node-a's trouble shows as its NotReady
        runtimes[NodeName("node-b")].down = True
        for _ in range(70):
            clock.advance(1)
            for watcher in engine.watchers:
                await watcher.relist()
        assert failing_liveness(engine) == {
            "pleg": "node node-a relist 140s ago (threshold 60s); "
            "node node-b relist 70s ago (threshold 60s)"
        }
    finally:
        await engine.stop()
