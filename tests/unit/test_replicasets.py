"""The ReplicaSet controller: counts, Kubernetes' deletion order, claiming, expectations, status.

The property tests drive `compute_replicaset_plan` through a tiny model of the engine (pods that
appear late or never, fail, and take time to terminate) and check the bounds Kubernetes' controller
keeps: never more active pods than asked for (plus one burst when a create outlives the
expectations timeout), and convergence once the disturbances stop.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.decide.replicasets import (
    EXPECTATIONS_TIMEOUT,
    compute_replicaset_plan,
    compute_replicaset_status,
    deletion_order,
    expectations_satisfied,
    slow_start_batches,
)
from controller.model.meta import ObjectKey, ObjectMeta
from controller.model.pod import Container, PodSpec
from controller.model.status import PodPhase
from controller.model.workload_status import (
    Expectations,
    OwnerRef,
    PodSummary,
    deletion_cost,
)
from controller.model.workloads import (
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)

KEY = ObjectKey("ReplicaSet", "default", "web")
OWNER = OwnerRef("ReplicaSet", "web")
LABELS = {"app": "web"}


def make_rs(replicas: int = 3, *, min_ready: int = 0, template_labels: Any = None) -> ReplicaSet:
    template = PodTemplateSpec(
        metadata=TemplateMeta(labels=LABELS if template_labels is None else template_labels),
        spec=PodSpec(containers=(Container(name="app", image="busybox:1"),)),
    )
    return ReplicaSet(
        metadata=ObjectMeta(name="web"),
        spec=ReplicaSetSpec(
            selector=LabelSelector(match_labels=LABELS),
            template=template,
            replicas=replicas,
            min_ready_seconds=min_ready,
        ),
    )


def pod(name: str, **fields: Any) -> PodSummary:
    """A healthy pod of the ReplicaSet unless told otherwise."""
    defaults: dict[str, Any] = {
        "labels": LABELS,
        "owner": OWNER,
        "phase": PodPhase.RUNNING,
        "ready": True,
        "ready_since": 10.0,
        "node": "n1",
        "created_at": 1.0,
    }
    return PodSummary(name=name, **(defaults | fields))


def plan_for(replicas: int, pods: list[PodSummary], **kwargs: Any) -> Any:
    rs = make_rs(replicas, min_ready=kwargs.pop("min_ready", 0))
    return compute_replicaset_plan(rs, KEY, pods, kwargs.pop("expectations", None), 100.0, **kwargs)


# --- counts -----------------------------------------------------------------------------------


def test_scale_up_creates_the_missing_pods() -> None:
    plan = plan_for(3, [pod("a")])
    assert plan.create == 2
    assert plan.delete == ()
    assert not plan.wait


def test_creates_are_limited_to_the_burst() -> None:
    assert plan_for(10, [], burst=4).create == 4


def test_scale_down_deletes_the_extra_pods() -> None:
    plan = plan_for(2, [pod(n) for n in "abcde"])
    assert plan.create == 0
    assert len(plan.delete) == 3


def test_deletes_are_limited_to_the_burst() -> None:
    assert len(plan_for(0, [pod(n) for n in "abcde"], burst=2).delete) == 2


def test_steady_state_plans_nothing() -> None:
    plan = plan_for(3, [pod(n) for n in "abc"])
    assert plan.empty
    assert plan.requeue_after is None


def test_slow_start_batches_double_and_end_with_the_rest() -> None:
    assert slow_start_batches(0) == []
    assert slow_start_batches(1) == [1]
    assert slow_start_batches(10) == [1, 2, 4, 3]
    assert slow_start_batches(7) == [1, 2, 4]
    assert slow_start_batches(10, initial=3) == [3, 6, 1]


@given(st.integers(0, 2000), st.integers(1, 10))
def test_slow_start_batches_sum_to_the_count(count: int, initial: int) -> None:
    batches = slow_start_batches(count, initial)
    assert sum(batches) == count
    assert all(b > 0 for b in batches)
    assert all(b2 <= 2 * b1 for b1, b2 in itertools.pairwise(batches))


# --- deletion order ---------------------------------------------------------------------------

# Each pair: (deleted first, kept), the two pods differing only in what the rule looks at.
RULES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "unscheduled before scheduled": (
        {"node": None, "scheduled": False, "phase": PodPhase.PENDING, "ready": False},
        {"node": "n1", "phase": PodPhase.PENDING, "ready": False},
    ),
    "pending before unknown": (
        {"phase": PodPhase.PENDING, "ready": False},
        {"phase": PodPhase.UNKNOWN, "ready": False},
    ),
    "unknown before running": (
        {"phase": PodPhase.UNKNOWN, "ready": False},
        {"phase": PodPhase.RUNNING, "ready": False},
    ),
    "not ready before ready": ({"ready": False}, {"ready": True}),
    "lower deletion cost first": ({"deletion_cost": -5}, {"deletion_cost": 3}),
    "ready for a shorter time first": ({"ready_since": 50.0}, {"ready_since": 20.0}),
    "unknown ready time first": ({"ready_since": None}, {"ready_since": 20.0}),
    "more restarts first": ({"restart_count": 4}, {"restart_count": 1}),
    "newer first": ({"created_at": 9.0}, {"created_at": 2.0}),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_ranking_rule_alone(rule: str) -> None:
    first_fields, kept_fields = RULES[rule]
    first, kept = pod("z-first", **first_fields), pod("a-kept", **kept_fields)
    assert deletion_order([kept, first]) == [first, kept]
    assert deletion_order([first, kept]) == [first, kept]
    plan = plan_for(1, [kept, first])
    assert plan.delete == ("z-first",)


def test_more_pods_on_the_same_node_goes_first() -> None:
    crowded = pod("z-crowded", node="n1")
    alone = pod("a-alone", node="n2")
    neighbours = [pod("n-1", node="n1"), pod("n-2", node="n1")]
    assert deletion_order([alone, crowded], related=[alone, crowded, *neighbours])[0] is crowded
    plan = plan_for(3, [alone, crowded, *neighbours])
    assert plan.delete[0] in {"z-crowded", "n-1", "n-2"}
    assert "a-alone" not in plan.delete


def test_rank_counts_only_active_related_pods() -> None:
    on_n1 = pod("z", node="n1")
    on_n2 = pod("a", node="n2")
    gone = [pod(f"t{i}", node="n1", terminating=True) for i in range(3)]
    twin = pod("b", node="n2")
    assert deletion_order([on_n1, on_n2], related=[on_n1, on_n2, twin, *gone])[0] is on_n2


def test_ties_are_broken_by_name() -> None:
    pods = [pod("c"), pod("a"), pod("b")]
    assert [p.name for p in deletion_order(pods)] == ["a", "b", "c"]


def test_earlier_rules_win_over_later_ones() -> None:
    # Each pod loses on one rule but wins on every later one.
    order = [
        pod("unscheduled", node=None, scheduled=False, phase=PodPhase.RUNNING, restart_count=0),
        pod("pending", phase=PodPhase.PENDING, ready=False, created_at=0.0),
        pod("unknown", phase=PodPhase.UNKNOWN, ready=False, deletion_cost=100),
        pod("not-ready", ready=False, deletion_cost=100, created_at=0.0),
        pod("cheap", deletion_cost=-1, node="n9", ready_since=0.0),
        pod("crowded-1", node="n1", ready_since=0.0, created_at=0.0),
        pod("crowded-2", node="n1", ready_since=0.0, created_at=0.0),
        pod("recent", node="n2", ready_since=90.0, restart_count=0),
        pod("crashy", node="n3", ready_since=10.0, restart_count=7, created_at=0.0),
        pod("young", node="n4", ready_since=10.0, created_at=50.0),
        pod("old", node="n5", ready_since=10.0, created_at=1.0),
    ]
    related = [*order, pod("other-on-n1", node="n1")]
    assert [p.name for p in deletion_order(list(reversed(order)), related)] == [
        p.name for p in order
    ]


def test_a_full_mixed_example() -> None:
    pods = [
        pod("ready-old", ready_since=5.0, created_at=1.0, node="n1"),
        pod("ready-new", ready_since=60.0, created_at=50.0, node="n2"),
        pod("pending", phase=PodPhase.PENDING, ready=False, node="n2", created_at=70.0),
        pod("unscheduled", phase=PodPhase.PENDING, ready=False, node=None, created_at=80.0),
        pod("crashloop", ready=False, restart_count=9, node="n1"),
        pod("precious", ready_since=99.0, deletion_cost=1000, node="n2"),
        pod("spare", ready_since=5.0, deletion_cost=-10, node="n1"),
    ]
    expected = ["unscheduled", "pending", "crashloop", "spare", "ready-new", "ready-old"]
    plan = plan_for(1, pods)
    assert plan.delete == tuple(expected)
    assert [p.name for p in deletion_order(pods)][-1] == "precious"


def test_deletion_cost_annotation_parsing() -> None:
    key = "controller.kubernetes.io/pod-deletion-cost"
    assert deletion_cost({}) == 0
    assert deletion_cost({key: "-7"}) == -7
    assert deletion_cost({key: "2147483647"}) == 2**31 - 1
    assert deletion_cost({key: "2147483648"}) == 0
    assert deletion_cost({key: "1.5"}) == 0
    assert deletion_cost({key: " 3"}) == 0


# --- claiming -------------------------------------------------------------------------------------


def test_ownerless_matching_pods_are_adopted_and_counted() -> None:
    plan = plan_for(2, [pod("mine"), pod("stray", owner=None)])
    assert plan.adopt == ("stray",)
    assert plan.create == 0
    assert plan.status.replicas == 2


def test_owned_pods_that_no_longer_match_are_released_and_replaced() -> None:
    plan = plan_for(2, [pod("mine"), pod("relabelled", labels={"app": "other"})])
    assert plan.release == ("relabelled",)
    assert plan.create == 1
    assert plan.status.replicas == 1


def test_pods_of_other_owners_namespaces_or_on_their_way_out_are_left_alone() -> None:
    others = [
        pod("theirs", owner=OwnerRef("ReplicaSet", "api")),
        pod("elsewhere", namespace="prod"),
        pod("stray-terminating", owner=None, terminating=True),
        pod("stray-failed", owner=None, phase=PodPhase.FAILED, ready=False),
        pod("stray-unmatched", owner=None, labels={"app": "db"}),
    ]
    plan = plan_for(1, others)
    assert plan.adopt == plan.release == plan.delete == plan.remove_failed == ()
    assert plan.create == 1
    assert plan.status.replicas == 0


# --- finished pods ---------------------------------------------------------------------------------


def test_a_failed_pod_is_replaced_at_once() -> None:
    plan = plan_for(3, [pod("a"), pod("b"), pod("c", phase=PodPhase.FAILED, ready=False)])
    assert plan.create == 1
    assert plan.status.replicas == 2
    assert plan.remove_failed == ()  # the one failed pod is kept for inspection


def test_finished_pods_beyond_the_kept_ones_are_removed_oldest_first() -> None:
    done = [
        pod("f3", phase=PodPhase.FAILED, ready=False, created_at=30.0),
        pod("f1", phase=PodPhase.FAILED, ready=False, created_at=10.0),
        pod("s2", phase=PodPhase.SUCCEEDED, ready=False, created_at=20.0),
        pod("gone", phase=PodPhase.FAILED, ready=False, created_at=5.0, terminating=True),
    ]
    assert plan_for(1, done).remove_failed == ("f1", "s2")
    assert plan_for(1, done, failed_pods_kept=0).remove_failed == ("f1", "s2", "f3")
    assert plan_for(1, done, failed_pods_kept=5).remove_failed == ()


def test_terminating_pods_do_not_count_and_are_reported() -> None:
    plan = plan_for(2, [pod("a"), pod("b", terminating=True)])
    assert plan.create == 1
    assert plan.status.replicas == 1
    assert plan.status.terminating_replicas == 1


# --- expectations ----------------------------------------------------------------------------------


def test_expectations_block_over_creation_until_the_pods_show_up() -> None:
    rs = make_rs(3)
    first = compute_replicaset_plan(rs, KEY, [], None, 0.0)
    assert first.create == 3
    exp = Expectations.expect(created=["p1", "p2", "p3"], now=0.0)

    waiting = compute_replicaset_plan(rs, KEY, [pod("p1")], exp, 5.0)
    assert waiting.wait
    assert waiting.create == 0
    assert waiting.expectations is not None
    assert waiting.expectations.add == 2
    assert waiting.requeue_after is not None
    assert waiting.requeue_after == pytest.approx(EXPECTATIONS_TIMEOUT - 5.0 + 1.0)

    seen = [pod("p1"), pod("p2"), pod("p3")]
    done = compute_replicaset_plan(rs, KEY, seen, waiting.expectations, 6.0)
    assert not done.wait
    assert done.empty


def test_a_pod_seen_once_counts_as_observed_even_if_it_is_gone_later() -> None:
    rs = make_rs(2)
    exp = Expectations.expect(created=["p1", "p2"], now=0.0)
    failed = pod("p2", phase=PodPhase.FAILED, ready=False)
    plan = compute_replicaset_plan(rs, KEY, [failed], exp, 1.0)
    assert plan.wait
    assert plan.expectations is not None
    assert plan.expectations.creates == {"p1"}
    later = compute_replicaset_plan(rs, KEY, [pod("p1")], plan.expectations, 2.0)
    assert not later.wait
    assert later.create == 1


def test_lost_creates_are_given_up_after_the_timeout() -> None:
    rs = make_rs(2)
    exp = Expectations.expect(created=["lost-1", "lost-2"], now=0.0)
    assert compute_replicaset_plan(rs, KEY, [], exp, EXPECTATIONS_TIMEOUT).wait
    late = compute_replicaset_plan(rs, KEY, [], exp, EXPECTATIONS_TIMEOUT + 0.5)
    assert not late.wait
    assert late.create == 2


def test_deletions_are_observed_when_the_pod_terminates_or_vanishes() -> None:
    pods = [pod("a"), pod("b")]
    exp = Expectations.expect(deleted=["b"], now=0.0)
    assert not expectations_satisfied(exp, pods, 1.0)
    assert expectations_satisfied(exp, [pods[0], attrs.evolve(pods[1], terminating=True)], 1.0)
    assert expectations_satisfied(exp, [pods[0]], 1.0)
    assert expectations_satisfied(None, pods, 1.0)
    assert exp.after_observed(deleted=["b"]).fulfilled


def test_adoption_and_status_go_on_while_waiting() -> None:
    exp = Expectations.expect(created=["p9"], now=0.0)
    plan = compute_replicaset_plan(
        make_rs(5), KEY, [pod("mine"), pod("stray", owner=None)], exp, 1.0
    )
    assert plan.wait
    assert plan.adopt == ("stray",)
    assert plan.status.replicas == 2


# --- status ----------------------------------------------------------------------------------------


def test_status_counts() -> None:
    rs = make_rs(4, min_ready=30, template_labels={**LABELS, "tier": "front"})
    pods = [
        pod("full", labels={**LABELS, "tier": "front", "extra": "x"}, ready_since=0.0),
        pod("partial", ready_since=50.0),
        pod("unready", labels={**LABELS, "tier": "front"}, ready=False),
        pod("finished", phase=PodPhase.SUCCEEDED, ready=False),
    ]
    plan = compute_replicaset_plan(rs, KEY, pods, None, 60.0, generation=7)
    status = plan.status
    assert (status.replicas, status.fully_labeled_replicas) == (3, 2)
    assert (status.ready_replicas, status.available_replicas) == (2, 1)
    assert status.observed_generation == 7
    # "partial" has been ready 10 s of the 30 it needs.
    assert plan.requeue_after == pytest.approx(20.0 + 1.0)
    assert compute_replicaset_status(rs, KEY, pods, 80.0).available_replicas == 2


def test_replica_failure_condition_follows_the_reported_error() -> None:
    rs = make_rs(3)
    failing = compute_replicaset_plan(rs, KEY, [], None, 10.0, create_error="quota exceeded")
    (condition,) = failing.status.conditions
    assert (condition.type, condition.status, condition.reason) == (
        "ReplicaFailure",
        True,
        "FailedCreate",
    )
    assert (condition.message, condition.last_transition_time) == ("quota exceeded", 10.0)

    still = compute_replicaset_plan(
        rs, KEY, [], None, 20.0, create_error="other", previous=failing.status
    )
    assert still.status.conditions == failing.status.conditions

    healed = compute_replicaset_plan(rs, KEY, [], None, 30.0, previous=still.status)
    assert healed.status.conditions == ()

    deleting = compute_replicaset_plan(rs, KEY, [], None, 40.0, delete_error="refused")
    assert deleting.status.conditions[0].reason == "FailedDelete"


# --- a model of the engine -------------------------------------------------------------------------


@attrs.define
class SimPod:
    name: str
    created_at: float
    phase: PodPhase = PodPhase.RUNNING
    terminating_until: float | None = None

    def summary(self) -> PodSummary:
        return PodSummary(
            name=self.name,
            labels=LABELS,
            owner=OWNER,
            phase=self.phase,
            ready=self.phase is PodPhase.RUNNING,
            ready_since=self.created_at,
            node="n1",
            created_at=self.created_at,
            terminating=self.terminating_until is not None,
        )


@attrs.define
class Engine:
    """Creates and deletes what a plan says, with pods that appear late, never, or fail."""

    burst: int
    now: float = 0.0
    replicas: int = 0
    pods: dict[str, SimPod] = attrs.Factory(dict)
    in_flight: list[tuple[float, str]] = attrs.Factory(list)
    expectations: Expectations | None = None
    previous: Any = None
    replicas_at_last_create: int = 0
    history: list[tuple[float, int]] = attrs.Factory(list)
    counter: itertools.count[int] = attrs.Factory(itertools.count)

    def active(self) -> int:
        return sum(1 for p in self.pods.values() if p.summary().active)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, name in [f for f in self.in_flight if f[0] <= self.now]:
            self.pods[name] = SimPod(name, self.now)
            self.in_flight.remove((due, name))
        for name, sim in list(self.pods.items()):
            if sim.terminating_until is not None and sim.terminating_until <= self.now:
                del self.pods[name]

    def sync(self, delays: list[float | None], grace: float) -> Any:
        summaries = [p.summary() for p in self.pods.values()]
        plan = compute_replicaset_plan(
            make_rs(self.replicas),
            KEY,
            summaries,
            self.expectations,
            self.now,
            burst=self.burst,
            previous=self.previous,
        )
        self.previous = plan.status
        created = [f"web-{next(self.counter)}" for _ in range(plan.create)]
        for index, name in enumerate(created):
            delay = delays[index % len(delays)] if delays else 0.0
            if delay is not None:  # None: the engine lost this create for good
                self.in_flight.append((self.now + delay, name))
        for name in plan.delete:
            self.pods[name].terminating_until = self.now + grace
        for name in plan.remove_failed:
            del self.pods[name]
        if plan.create or plan.delete:
            self.expectations = Expectations.expect(
                created=created, deleted=plan.delete, now=self.now
            )
        else:
            self.expectations = plan.expectations
        if plan.create:
            self.replicas_at_last_create = self.replicas
        return plan


STEP = st.fixed_dictionaries(
    {
        "dt": st.floats(0.0, 120.0),
        "replicas": st.none() | st.integers(0, 8),
        "fail": st.lists(st.integers(0, 20), max_size=2),
        "delays": st.lists(st.none() | st.floats(0.0, 0.8 * EXPECTATIONS_TIMEOUT), max_size=4),
        "grace": st.floats(0.0, 60.0),
    }
)


def _check_bound(engine: Engine, late: bool) -> None:
    """Active pods stay within what was asked for when they were created (plus a burst if late)."""
    bound = max(engine.replicas, engine.replicas_at_last_create)
    if late:
        recent = [r for t, r in engine.history if t >= engine.now - 4 * EXPECTATIONS_TIMEOUT]
        bound = max([bound, *recent]) + engine.burst
    assert engine.active() <= bound


def _run_disturbed(engine: Engine, steps: list[dict[str, Any]], late: bool) -> None:
    for step in steps:
        engine.advance(step["dt"])
        _check_bound(engine, late)
        if step["replicas"] is not None:
            engine.replicas = step["replicas"]
            engine.history.append((engine.now, engine.replicas))
        active = sorted(n for n, p in engine.pods.items() if p.summary().active)
        for index in step["fail"]:
            if active:
                engine.pods[active[index % len(active)]].phase = PodPhase.FAILED
        delays = step["delays"]
        if late:  # some creates show up only after the expectations have expired
            delays = [d if d is None else d + 1.1 * EXPECTATIONS_TIMEOUT for d in delays]
        engine.sync(delays, step["grace"])
        _check_bound(engine, late)


def _run_calm(engine: Engine) -> None:
    for _ in range(60):
        engine.advance(30.0)
        plan = engine.sync([5.0], grace=10.0)
        if engine.active() == engine.replicas and plan.empty and not engine.in_flight:
            assert plan.status.replicas == engine.replicas
            return
    pytest.fail(f"did not converge: {engine.active()} active, want {engine.replicas}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.lists(STEP, min_size=1, max_size=40))
def test_simulation_never_overshoots_and_converges(burst: int, steps: list[dict[str, Any]]) -> None:
    engine = Engine(burst=burst)
    _run_disturbed(engine, steps, late=False)
    _run_calm(engine)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.lists(STEP, min_size=1, max_size=40))
def test_simulation_with_creates_outliving_the_timeout(
    burst: int, steps: list[dict[str, Any]]
) -> None:
    engine = Engine(burst=burst)
    _run_disturbed(engine, steps, late=True)
    _run_calm(engine)
