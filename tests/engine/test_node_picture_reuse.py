"""The scheduler's node picture, rebuilt per placement, reuses what it worked out for pods that did
not change: after any sequence of container and declaration changes, a long-lived builder gives
exactly the picture a fresh one works out from scratch; and the sums every NodeInfo keeps for the
filters and scores equal those added up from its pods."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.decide.requests import Requests
from controller.decide.scheduling import NodeInfo
from controller.engine.nodeinfo import NodeInfoBuilder
from controller.engine.nodes import NodeRegistry
from controller.engine.placement import AssumedPods
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    RunState,
)
from controller.model.pod import ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from tests import factories

NODES = [NodeName("a"), NodeName("b")]
NAMES = ["p0", "p1", "p2"]


def declared(name: int, cpu: int) -> DesiredPod:
    resources = ResourceRequirements(requests=ResourceList(cpu=Quantity.parse(f"{cpu}m")))
    p = factories.pod(NAMES[name], [factories.container("app", resources=resources)])
    d = factories.desired(p)
    return DesiredPod(d.pod, d.spec_hash, d.container_hashes, owner="ReplicaSet/x")


def observed(name: int, node: int, uid: int, sandbox: bool, state: int, cpu: int) -> Any:
    spec_hash = declared(name, cpu).spec_hash
    ref = PodRef("default", NAMES[name], PodUid(f"uid-{uid}"))
    role = ContainerRole.SANDBOX if sandbox else ContainerRole.APP
    cname = SANDBOX_CONTAINER_NAME if sandbox else "app"
    identity = ContainerIdentity(ref, cname, role, 0, "h", spec_hash, 1.0, owner="ReplicaSet/x")
    cid = ContainerId(f"{name}-{uid}-{cname}")
    return ObservedContainer(cid, NODES[node], cid, identity, list(RunState)[state])


changes = st.lists(
    st.one_of(
        st.tuples(
            st.just("upsert"),
            st.builds(
                observed,
                st.integers(0, 2),
                st.integers(0, 1),
                st.integers(0, 1),
                st.booleans(),
                st.integers(0, 2),
                st.sampled_from([100, 250]),
            ),
        ),
        st.tuples(st.just("remove"), st.integers(0, 2), st.integers(0, 1), st.booleans()),
        st.tuples(st.just("declare"), st.integers(0, 2), st.sampled_from([100, 250])),
        st.tuples(st.just("undeclare"), st.integers(0, 2)),
    ),
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(changes)
def test_a_reused_builder_sees_what_a_fresh_one_sees(steps: list[tuple[Any, ...]]) -> None:
    nodes = NodeRegistry(dict.fromkeys(NODES, "127.0.0.1"))
    cache, desired, assumed = ObservedCache(), DesiredStore(), AssumedPods()
    builder = NodeInfoBuilder(nodes, cache, desired, assumed)
    for step in steps:
        match step:
            case ("upsert", container):
                cache.upsert(container)
            case ("remove", name, uid, sandbox):
                cname = SANDBOX_CONTAINER_NAME if sandbox else "app"
                for node in NODES:
                    cache.remove(node, ContainerId(f"{name}-{uid}-{cname}"))
            case ("declare", name, cpu):
                desired.put(declared(name, cpu))
            case ("undeclare", name):
                desired.remove(PodKey("default", NAMES[name]))
        fresh = NodeInfoBuilder(nodes, cache, desired, assumed).build()
        assert builder.build() == fresh
        for info in fresh:
            check_totals(info)


def check_totals(info: NodeInfo) -> None:
    assert info.requested() == sum((p.requests for p in info.pods), Requests())
    assert info.nonzero_requested() == sum((p.nonzero for p in info.pods), Requests())
    assert info.held_ports() == tuple(port for p in info.pods for port in p.host_ports)
    owners = Counter((p.owner, p.key.namespace) for p in info.pods)
    for (owner, namespace), count in owners.items():
        assert info.owned_by(owner, namespace) == count
    assert info.owned_by("ReplicaSet/none", "default") == 0
    for p in info.pods:
        assert info.holds(p.key)
    assert not info.holds(PodKey("default", "never"))
