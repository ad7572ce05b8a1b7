"""The Deployment controller: rollouts, revisions, history, scaling and status.

The simulations run `compute_deployment_plan` and `compute_replicaset_plan` together through a
small model of the engine (pods become ready after a random delay, or never, and take a random
time to terminate) and check the guarantees users rely on at every moment of a rollout.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.decide.deployments.plan import (
    DeploymentPlan,
    max_surge,
    max_unavailable,
    new_replicaset,
    revised_replicaset,
    scaled_replicaset,
)
from controller.decide.deployments.sync import compute_deployment_plan
from controller.decide.replicasets import compute_replicaset_plan, compute_replicaset_status
from controller.model.meta import ObjectKey, ObjectMeta
from controller.model.pod import Container, PodSpec
from controller.model.status import PodPhase
from controller.model.workload_status import (
    Expectations,
    OwnedReplicaSet,
    OwnerRef,
    PodSummary,
    ProgressState,
    ReplicaSetStatus,
    WorkloadCondition,
)
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    IntOrPercent,
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    RollingUpdate,
    StrategyType,
    TemplateMeta,
)

KEY = ObjectKey("Deployment", "default", "web")
LABELS = {"app": "web"}
HASH_A, HASH_B, HASH_C = "5d8f7c9b4a", "7f6d5c4b3a", "9b8a7f6d5c"
IMAGES = {HASH_A: "web:1", HASH_B: "web:2", HASH_C: "web:3"}


ROLLING_DEFAULT = DeploymentStrategy()


def template(image: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=TemplateMeta(labels=LABELS),
        spec=PodSpec(containers=(Container(name="app", image=image),)),
    )


def make_deployment(
    template_hash: str = HASH_A,
    replicas: int = 4,
    *,
    strategy: DeploymentStrategy = ROLLING_DEFAULT,
    min_ready: int = 0,
    deadline: int = 600,
    history: int = 10,
    annotations: dict[str, str] | None = None,
) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name="web", annotations=annotations or {}),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels=LABELS),
            template=template(IMAGES[template_hash]),
            replicas=replicas,
            strategy=strategy,
            min_ready_seconds=min_ready,
            revision_history_limit=history,
            progress_deadline_seconds=deadline,
        ),
    )


def rolling(surge: int, unavailable: int) -> DeploymentStrategy:
    return DeploymentStrategy(
        rolling_update=RollingUpdate(IntOrPercent(surge), IntOrPercent(unavailable))
    )


RECREATE = DeploymentStrategy(type=StrategyType.RECREATE)


def owned(
    name: str,
    template_hash: str,
    replicas: int,
    *,
    available: int | None = None,
    live: int | None = None,
    created_at: float = 0.0,
    revision: int = 1,
    desired: int | None = None,
    max_replicas: int | None = None,
    terminating: int = 0,
    conditions: tuple[WorkloadCondition, ...] = (),
) -> OwnedReplicaSet:
    """A ReplicaSet whose pods all exist (`live`) and are available unless told otherwise."""
    live = replicas if live is None else live
    available = live if available is None else available
    return OwnedReplicaSet(
        name=name,
        template_hash=template_hash,
        replicas=replicas,
        status=ReplicaSetStatus(
            replicas=live,
            fully_labeled_replicas=live,
            ready_replicas=available,
            available_replicas=available,
            terminating_replicas=terminating,
            conditions=conditions,
        ),
        created_at=created_at,
        template=template(IMAGES.get(template_hash, "web:x")),
        revision=revision,
        desired_replicas=desired,
        max_replicas=max_replicas,
    )


def plan(
    deployment: Deployment,
    replicasets: list[OwnedReplicaSet],
    template_hash: str = HASH_A,
    now: float = 100.0,
    progress: ProgressState | None = None,
) -> DeploymentPlan:
    return compute_deployment_plan(deployment, KEY, replicasets, template_hash, now, progress)


def condition(p: DeploymentPlan, kind: str) -> WorkloadCondition:
    found = p.status.condition(kind)
    assert found is not None
    return found


# --- strategy arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "strategy", "expected"),
    [
        (4, DeploymentStrategy(), (1, 1)),
        (10, DeploymentStrategy(), (3, 2)),
        (4, rolling(0, 0), (0, 1)),
        (4, rolling(2, 9), (2, 4)),
        (0, DeploymentStrategy(), (0, 0)),
        (4, RECREATE, (0, 0)),
    ],
)
def test_surge_and_unavailable(
    replicas: int, strategy: DeploymentStrategy, expected: tuple[int, int]
) -> None:
    spec = make_deployment(replicas=replicas, strategy=strategy).spec
    assert (max_surge(spec), max_unavailable(spec)) == expected


# --- creating the new ReplicaSet ------------------------------------------------------------------


def test_first_sync_creates_the_replicaset_for_the_template() -> None:
    deployment = make_deployment(
        min_ready=5, annotations={"team": "web", "deployment.kubernetes.io/revision": "9"}
    )
    p = plan(deployment, [], now=50.0)
    assert p.create_replicaset is not None
    rs = p.create_replicaset.replica_set
    assert p.create_replicaset.name == f"web-{HASH_A}"
    assert p.create_replicaset.replicas == 4
    assert p.create_replicaset.owner == OwnerRef("Deployment", "web")
    assert rs.spec.template.metadata.labels == {**LABELS, "pod-template-hash": HASH_A}
    assert rs.spec.selector.match_labels == {**LABELS, "pod-template-hash": HASH_A}
    assert rs.metadata.labels == {**LABELS, "pod-template-hash": HASH_A}
    assert rs.spec.min_ready_seconds == 5
    assert rs.metadata.annotations == {
        "team": "web",
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "4",
        "deployment.kubernetes.io/max-replicas": "5",
    }
    assert p.revision == 1
    assert p.acted
    progressing = condition(p, "Progressing")
    assert (progressing.status, progressing.reason) == (True, "NewReplicaSetCreated")
    assert progressing.message == f'Created new replica set "web-{HASH_A}"'
    assert progressing.last_update_time == 50.0
    available = condition(p, "Available")
    assert (available.status, available.reason) == (False, "MinimumReplicasUnavailable")
    assert p.requeue_after == pytest.approx(600.0 + 1.0)


def test_a_new_template_starts_a_surge_sized_replicaset_and_scales_old_down() -> None:
    old = owned(f"web-{HASH_A}", HASH_A, 4, desired=4, max_replicas=5)
    p = plan(make_deployment(HASH_B), [old], HASH_B)
    assert p.create_replicaset is not None
    assert p.create_replicaset.replicas == 1
    assert p.create_replicaset.revision == 2
    # Kubernetes scales the old one down in the same sync: 5 pods, 3 must stay available.
    assert p.scale == ((old.name, 3),)


def test_an_existing_replicaset_for_the_template_is_found_not_created() -> None:
    current = owned(f"web-{HASH_A}", HASH_A, 4, desired=4, max_replicas=5)
    p = plan(make_deployment(), [current])
    assert p.create_replicaset is None
    assert not p.acted
    found = condition(p, "Progressing")
    # Nothing remembered: Kubernetes notes it found the ReplicaSet, then sees it complete.
    assert found.reason == "NewReplicaSetAvailable"
    assert found.message == f'ReplicaSet "web-{HASH_A}" has successfully progressed.'
    assert condition(p, "Available").reason == "MinimumReplicasAvailable"
    assert p.requeue_after is None
    assert p.status.unavailable_replicas == 0


# --- revisions and history -----------------------------------------------------------------------


def test_reverting_the_template_reuses_the_old_replicaset_with_a_new_revision() -> None:
    first = owned(f"web-{HASH_A}", HASH_A, 0, revision=1, created_at=1.0)
    second = owned(f"web-{HASH_B}", HASH_B, 4, revision=2, created_at=2.0, desired=4)
    p = plan(make_deployment(HASH_A), [first, second], HASH_A)
    assert p.create_replicaset is None
    assert p.set_revision == (first.name, 3)
    assert p.revision == 3
    assert p.scale == ((first.name, 1),)
    rs = ReplicaSet(metadata=ObjectMeta(name=first.name), spec=new_rs_spec())
    assert (
        revised_replicaset(rs, 3).metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    )


def new_rs_spec() -> Any:
    return new_replicaset(make_deployment(), HASH_A, 0, 1).replica_set.spec


def test_old_replicasets_beyond_the_history_limit_are_deleted_oldest_revision_first() -> None:
    current = owned("web-new", HASH_A, 4, revision=9, created_at=9.0, desired=4)
    olds = [
        owned(f"web-r{r}", f"h{r}", 0, revision=r, created_at=float(7 - r)) for r in range(1, 7)
    ]
    p = plan(make_deployment(history=2), [current, *reversed(olds)])
    # 6 old ones, 2 kept: the 4 lowest revisions go (revision order, not creation order).
    assert p.delete_replicasets == ("web-r1", "web-r2", "web-r3", "web-r4")
    assert plan(make_deployment(history=10), [current, *olds]).delete_replicasets == ()


def test_nothing_is_deleted_while_a_rollout_is_in_progress() -> None:
    current = owned("web-new", HASH_A, 4, available=2, revision=9, created_at=9.0, desired=4)
    olds = [owned(f"web-r{r}", f"h{r}", 0, revision=r, created_at=float(r)) for r in range(1, 4)]
    assert plan(make_deployment(history=0), [current, *olds]).delete_replicasets == ()


# --- scaling --------------------------------------------------------------------------------------


def test_scaling_the_only_active_replicaset() -> None:
    current = owned(f"web-{HASH_A}", HASH_A, 4, desired=4, max_replicas=5)
    p = plan(make_deployment(replicas=7), [current])
    assert p.scale == ((current.name, 7),)
    assert (p.desired_replicas, p.max_replicas) == (7, 9)
    rs = scaled_replicaset(new_replicaset(make_deployment(), HASH_A, 4, 1).replica_set, 7, p)
    assert rs.spec.replicas == 7
    assert rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "7"
    assert rs.metadata.annotations["deployment.kubernetes.io/max-replicas"] == "9"


def test_scaling_mid_rollout_is_proportional() -> None:
    # 10 replicas, maxSurge 3: old 8 + new 5 = 13. Scaled to 15 (max 18): +5 shared 3 / 2.
    strategy = rolling(3, 2)
    old = owned("web-old", HASH_A, 8, created_at=1.0, desired=10, max_replicas=13)
    new = owned("web-new", HASH_B, 5, available=0, created_at=2.0, desired=10, max_replicas=13)
    p = plan(make_deployment(HASH_B, 15, strategy=strategy), [old, new], HASH_B)
    assert dict(p.scale) == {"web-old": 11, "web-new": 7}
    assert p.create_replicaset is None
    # Down to 5 (max 8) from 13: -5 taken from the larger first.
    down = plan(make_deployment(HASH_B, 5, strategy=strategy), [old, new], HASH_B)
    assert dict(down.scale) == {"web-old": 5, "web-new": 3}


def test_scaling_to_zero() -> None:
    old = owned("web-old", HASH_A, 3, created_at=1.0, desired=4, max_replicas=5)
    new = owned("web-new", HASH_B, 2, available=0, created_at=2.0, desired=4, max_replicas=5)
    p = plan(make_deployment(HASH_B, 0), [old, new], HASH_B)
    assert dict(p.scale) == {"web-old": 0, "web-new": 0}


def test_unavailable_new_pods_hold_back_the_old_scale_down() -> None:
    # Kubernetes' own example: 10 replicas, maxSurge 3, maxUnavailable 2; the 5 new pods crash and
    # a node failure takes one old pod: 13 - 8 - 5 = 0, so nothing more is scaled down.
    strategy = rolling(3, 2)
    old = owned("web-old", HASH_A, 8, available=7, created_at=1.0, desired=10, max_replicas=13)
    new = owned("web-new", HASH_B, 5, available=0, created_at=2.0, desired=10, max_replicas=13)
    assert plan(make_deployment(HASH_B, 10, strategy=strategy), [old, new], HASH_B).scale == ()
    # Rolled back to the old template: only 1 of its pods is missing, so 13 - 8 - 1 = 4 of the
    # crashing pods go, unhealthy ones first.
    p = plan(make_deployment(HASH_A, 10, strategy=strategy), [old, new], HASH_A)
    assert p.set_revision == ("web-old", 2)
    assert p.scale == (("web-new", 1),)


# --- Recreate ------------------------------------------------------------------------------------


def test_recreate_scales_old_down_waits_for_its_pods_then_creates() -> None:
    deployment = make_deployment(HASH_B, strategy=RECREATE)
    old = owned(f"web-{HASH_A}", HASH_A, 4, desired=4, max_replicas=4)
    first = plan(deployment, [old], HASH_B)
    assert first.scale == ((old.name, 0),)
    assert first.create_replicaset is None

    draining = owned(old.name, HASH_A, 0, live=0, terminating=2, desired=4)
    assert not plan(deployment, [draining], HASH_B).acted

    gone = owned(old.name, HASH_A, 0, live=0, desired=4)
    last = plan(deployment, [gone], HASH_B)
    assert last.create_replicaset is not None
    assert last.create_replicaset.replicas == 4
    assert condition(last, "Available").status is False  # Recreate allows no unavailability


# --- conditions ---------------------------------------------------------------------------------


def test_progress_refreshes_the_condition_and_keeps_its_transition_time() -> None:
    old = owned("web-old", HASH_A, 3, created_at=1.0, desired=4, max_replicas=5)
    new = owned("web-new", HASH_B, 2, live=1, available=0, created_at=2.0, desired=4)
    # Nothing remembered: found, and progress against an all-zero past.
    before = plan(make_deployment(HASH_B), [old, new], HASH_B, now=10.0)
    progressing = condition(before, "Progressing")
    assert (progressing.reason, progressing.last_transition_time) == ("ReplicaSetUpdated", 10.0)

    moved = owned("web-new", HASH_B, 2, live=2, available=1, created_at=2.0, desired=4)
    after = plan(make_deployment(HASH_B), [old, moved], HASH_B, 70.0, before.progress)
    refreshed = condition(after, "Progressing")
    assert refreshed.reason == "ReplicaSetUpdated"
    assert refreshed.message == 'ReplicaSet "web-new" is progressing.'
    assert refreshed.last_update_time == 70.0
    assert refreshed.last_transition_time == 10.0
    assert after.progress.last_progress_at == 70.0

    still = plan(make_deployment(HASH_B), [old, moved], HASH_B, 80.0, after.progress)
    assert condition(still, "Progressing") == refreshed
    assert still.requeue_after == pytest.approx(70.0 + 600.0 - 80.0 + 1.0)


def test_replica_failure_of_the_new_replicaset_is_surfaced() -> None:
    failure = WorkloadCondition("ReplicaFailure", True, "FailedCreate", "quota", 5.0)
    new = owned("web-new", HASH_A, 4, live=0, desired=4, conditions=(failure,))
    p = plan(make_deployment(), [new])
    surfaced = condition(p, "ReplicaFailure")
    assert (surfaced.reason, surfaced.message, surfaced.last_update_time) == (
        "FailedCreate",
        "quota",
        5.0,
    )
    healed = plan(make_deployment(), [owned("web-new", HASH_A, 4, desired=4)], progress=p.progress)
    assert healed.status.condition("ReplicaFailure") is None


# --- a model of the engine ------------------------------------------------------------------------


@attrs.define
class SimPod:
    name: str
    owner: str
    labels: dict[str, str]
    created_at: float
    ready_at: float | None
    terminating_until: float | None = None

    def ready(self, now: float) -> bool:
        return self.terminating_until is None and self.ready_at is not None and self.ready_at <= now

    def summary(self, now: float) -> PodSummary:
        ready = self.ready(now)
        return PodSummary(
            name=self.name,
            labels=self.labels,
            owner=OwnerRef("ReplicaSet", self.owner),
            phase=PodPhase.RUNNING if now >= self.created_at + 1.0 else PodPhase.PENDING,
            ready=ready,
            ready_since=self.ready_at if ready else None,
            node="n1",
            created_at=self.created_at,
            terminating=self.terminating_until is not None,
        )


@attrs.define
class SimReplicaSet:
    rs: ReplicaSet
    created_at: float
    expectations: Expectations | None = None
    status: ReplicaSetStatus | None = None


@attrs.define
class Cluster:
    """Both controllers, applied as an engine would; `check` runs after every single change."""

    deployment: Deployment
    template_hash: str
    rng: random.Random
    ready_delay: Callable[[str], float | None]
    check: Callable[[Cluster], None] = lambda cluster: None
    now: float = 0.0
    replicasets: dict[str, SimReplicaSet] = attrs.Factory(dict)
    pods: dict[str, SimPod] = attrs.Factory(dict)
    progress: ProgressState | None = None
    last_plan: DeploymentPlan | None = None
    counter: itertools.count[int] = attrs.Factory(itertools.count)

    def summaries(self) -> list[PodSummary]:
        return [p.summary(self.now) for p in self.pods.values()]

    def hash_of(self, pod: SimPod) -> str:
        return pod.labels["pod-template-hash"]

    def rs_key(self, name: str) -> ObjectKey:
        return ObjectKey("ReplicaSet", "default", name)

    def owned(self) -> list[OwnedReplicaSet]:
        summaries = self.summaries()
        return [
            OwnedReplicaSet.from_replicaset(
                sim.rs,
                compute_replicaset_status(sim.rs, self.rs_key(name), summaries, self.now),
                sim.created_at,
            )
            for name, sim in self.replicasets.items()
        ]

    def sync_deployment(self) -> bool:
        p = compute_deployment_plan(
            self.deployment, KEY, self.owned(), self.template_hash, self.now, self.progress
        )
        self.last_plan, self.progress = p, p.progress
        if p.create_replicaset is not None:
            rs = p.create_replicaset.replica_set
            self.replicasets[rs.metadata.name] = SimReplicaSet(rs, self.now)
        if p.set_revision is not None:
            name, revision = p.set_revision
            self.replicasets[name].rs = revised_replicaset(self.replicasets[name].rs, revision)
        for name, replicas in p.scale:
            self.replicasets[name].rs = scaled_replicaset(self.replicasets[name].rs, replicas, p)
        for name in p.delete_replicasets:
            del self.replicasets[name]
        self.check(self)
        return p.acted

    def sync_replicaset(self, name: str) -> bool:
        sim = self.replicasets[name]
        p = compute_replicaset_plan(
            sim.rs,
            self.rs_key(name),
            self.summaries(),
            sim.expectations,
            self.now,
            previous=sim.status,
        )
        sim.status = p.status
        labels = dict(sim.rs.spec.template.metadata.labels)
        created = []
        for _ in range(p.create):
            pod_name = f"{name}-{next(self.counter)}"
            delay = self.ready_delay(labels["pod-template-hash"])
            ready_at = None if delay is None else self.now + delay
            self.pods[pod_name] = SimPod(pod_name, name, labels, self.now, ready_at)
            created.append(pod_name)
            self.check(self)
        for pod_name in p.delete:
            self.pods[pod_name].terminating_until = self.now + self.rng.uniform(0, 20)
            self.check(self)
        if p.create or p.delete:
            sim.expectations = Expectations.expect(created=created, deleted=p.delete, now=self.now)
        else:
            sim.expectations = p.expectations
        return not p.empty

    def settle(self) -> None:
        """Sync until nothing more happens at this instant (each action requeues at once)."""
        for _ in range(50):
            acted = self.sync_deployment()
            for name in list(self.replicasets):
                acted = self.sync_replicaset(name) or acted
            if not acted:
                return
        pytest.fail("controllers did not settle")

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for name, pod in list(self.pods.items()):
            if pod.terminating_until is not None and pod.terminating_until <= self.now:
                del self.pods[name]
        self.check(self)

    def run(self, until: Callable[[Cluster], bool], max_steps: int = 300) -> None:
        for _ in range(max_steps):
            self.settle()
            if until(self):
                return
            self.advance(self.rng.uniform(0.5, 30.0))
        pytest.fail("did not converge")

    # views
    def live(self, template_hash: str | None = None) -> list[SimPod]:
        """Pods not yet gone (terminating ones included: their containers still run)."""
        return [
            p
            for p in self.pods.values()
            if template_hash is None or self.hash_of(p) == template_hash
        ]

    def active(self) -> list[SimPod]:
        return [p for p in self.pods.values() if p.terminating_until is None]

    def ready(self, template_hash: str | None = None) -> list[SimPod]:
        return [p for p in self.live(template_hash) if p.ready(self.now)]

    def rolled_out(self, template_hash: str) -> bool:
        status = self.last_plan.status if self.last_plan else None
        replicas = self.deployment.spec.replicas
        live = self.live()
        return (
            status is not None
            and status.updated_replicas == status.available_replicas == replicas
            and status.replicas == replicas
            and len(live) == replicas
            and all(self.hash_of(p) == template_hash and p.ready(self.now) for p in live)
        )


def cluster_at(
    rng: random.Random,
    template_hash: str = HASH_A,
    *,
    delay: Callable[[str], float | None] | None = None,
    **deployment: Any,
) -> Cluster:
    """A cluster whose Deployment has fully rolled out `template_hash`."""
    cluster = Cluster(
        make_deployment(template_hash, **deployment),
        template_hash,
        rng,
        delay or (lambda _hash: rng.uniform(0.0, 60.0)),
    )
    cluster.run(lambda c: c.rolled_out(template_hash))
    return cluster


def switch(cluster: Cluster, template_hash: str, check: Callable[[Cluster], None]) -> None:
    cluster.deployment = attrs.evolve(
        cluster.deployment,
        spec=attrs.evolve(cluster.deployment.spec, template=template(IMAGES[template_hash])),
    )
    cluster.template_hash = template_hash
    cluster.check = check


SIM = settings(max_examples=50, deadline=None)


@SIM
@given(st.randoms(use_true_random=False))
def test_rolling_update_keeps_three_ready_and_at_most_five_pods(rng: random.Random) -> None:
    cluster = cluster_at(rng)

    def check(c: Cluster) -> None:
        assert len(c.ready()) >= 3
        assert len(c.active()) <= 5

    switch(cluster, HASH_B, check)
    cluster.run(lambda c: c.rolled_out(HASH_B))
    names = {sim.rs.metadata.name for sim in cluster.replicasets.values()}
    assert names == {f"web-{HASH_A}", f"web-{HASH_B}"}
    assert cluster.replicasets[f"web-{HASH_A}"].rs.spec.replicas == 0
    assert cluster.replicasets[f"web-{HASH_B}"].rs.spec.replicas == 4
    assert cluster.last_plan is not None
    progressing = cluster.last_plan.status.condition("Progressing")
    assert progressing is not None
    assert progressing.reason == "NewReplicaSetAvailable"


@SIM
@given(st.randoms(use_true_random=False))
def test_rolling_update_without_surge_takes_one_pod_down_at_a_time(rng: random.Random) -> None:
    cluster = cluster_at(rng, strategy=rolling(0, 0))

    def check(c: Cluster) -> None:
        assert len(c.ready()) >= 3
        assert len(c.active()) <= 4

    switch(cluster, HASH_B, check)
    cluster.run(lambda c: c.rolled_out(HASH_B))


@SIM
@given(st.randoms(use_true_random=False))
def test_recreate_never_runs_old_and_new_pods_together(rng: random.Random) -> None:
    cluster = cluster_at(rng, strategy=RECREATE)

    def check(c: Cluster) -> None:
        assert not (c.live(HASH_A) and c.live(HASH_B))

    switch(cluster, HASH_B, check)
    cluster.run(lambda c: c.rolled_out(HASH_B))


@SIM
@given(st.randoms(use_true_random=False))
def test_a_rollout_that_never_becomes_ready_stops_and_times_out(rng: random.Random) -> None:
    def delay(template_hash: str) -> float | None:
        return None if template_hash == HASH_B else rng.uniform(0.0, 60.0)

    cluster = cluster_at(rng, delay=delay)

    def check(c: Cluster) -> None:
        assert len(c.ready(HASH_A)) >= 3

    switch(cluster, HASH_B, check)
    cluster.settle()
    for _ in range(5):
        cluster.advance(60.0)
        cluster.settle()
    assert cluster.last_plan is not None
    progressing = cluster.last_plan.status.condition("Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == (True, "ReplicaSetUpdated")
    last_progress = progressing.last_update_time
    assert last_progress is not None
    wake = cluster.last_plan.requeue_after
    assert wake is not None
    assert wake == pytest.approx(last_progress + 600.0 - cluster.now + 1.0)

    cluster.advance(wake)
    cluster.settle()
    progressing = cluster.last_plan.status.condition("Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == (False, "ProgressDeadlineExceeded")
    assert progressing.message == f'ReplicaSet "web-{HASH_B}" has timed out progressing.'
    assert cluster.last_plan.requeue_after is None
    assert cluster.replicasets[f"web-{HASH_A}"].rs.spec.replicas == 3
    assert cluster.replicasets[f"web-{HASH_B}"].rs.spec.replicas == 2
    available = cluster.last_plan.status.condition("Available")
    assert available is not None
    assert available.status is True  # 3 of 4 available is within maxUnavailable


@SIM
@given(st.randoms(use_true_random=False))
def test_reverting_the_template_rolls_back_to_the_old_replicaset(rng: random.Random) -> None:
    cluster = cluster_at(rng)
    switch(cluster, HASH_B, lambda c: None)
    cluster.run(lambda c: c.rolled_out(HASH_B))

    def check(c: Cluster) -> None:
        assert len(c.ready()) >= 3
        assert len(c.active()) <= 5

    switch(cluster, HASH_A, check)
    cluster.run(lambda c: c.rolled_out(HASH_A))
    assert set(cluster.replicasets) == {f"web-{HASH_A}", f"web-{HASH_B}"}
    annotations = cluster.replicasets[f"web-{HASH_A}"].rs.metadata.annotations
    assert annotations["deployment.kubernetes.io/revision"] == "3"
    assert cluster.last_plan is not None
    assert cluster.last_plan.revision == 3


@SIM
@given(st.randoms(use_true_random=False))
def test_history_is_trimmed_after_rollouts(rng: random.Random) -> None:
    cluster = cluster_at(rng, history=1)
    switch(cluster, HASH_B, lambda c: None)
    cluster.run(lambda c: c.rolled_out(HASH_B))
    assert set(cluster.replicasets) == {f"web-{HASH_A}", f"web-{HASH_B}"}
    switch(cluster, HASH_C, lambda c: None)
    cluster.run(lambda c: c.rolled_out(HASH_C) and len(c.replicasets) == 2)
    assert set(cluster.replicasets) == {f"web-{HASH_B}", f"web-{HASH_C}"}
    revisions = {
        name: sim.rs.metadata.annotations["deployment.kubernetes.io/revision"]
        for name, sim in cluster.replicasets.items()
    }
    assert revisions == {f"web-{HASH_B}": "2", f"web-{HASH_C}": "3"}


@SIM
@given(st.randoms(use_true_random=False), st.integers(0, 9))
def test_scaling_converges_to_the_new_count(rng: random.Random, replicas: int) -> None:
    cluster = cluster_at(rng)
    cluster.deployment = attrs.evolve(
        cluster.deployment, spec=attrs.evolve(cluster.deployment.spec, replicas=replicas)
    )
    cluster.run(lambda c: c.rolled_out(HASH_A))
    assert len(cluster.live()) == replicas


@SIM
@given(st.randoms(use_true_random=False))
def test_scaling_back_down_removes_the_pods_not_ready_yet(rng: random.Random) -> None:
    slow = False

    def delay(_hash: str) -> float | None:
        return 1e6 if slow else rng.uniform(0.0, 60.0)

    cluster = cluster_at(rng, delay=delay)
    slow = True

    def check(c: Cluster) -> None:
        assert len(c.ready()) == 4

    cluster.check = check
    for replicas in (7, 4):
        cluster.deployment = attrs.evolve(
            cluster.deployment, spec=attrs.evolve(cluster.deployment.spec, replicas=replicas)
        )
        cluster.settle()
        cluster.advance(rng.uniform(1.0, 30.0))  # the new pods run, but are not ready
    cluster.run(lambda c: c.rolled_out(HASH_A))
