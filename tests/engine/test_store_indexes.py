"""The stores' indexes by pod key and by owner answer exactly as a scan of every entry would.

Random writes (upserts, removes, relists with and without a mark, volumes, a container changing
owner, pods changing hands) and after each one every question is asked of the index and of the
scan it replaced: the same containers in the same order, the same keys, the same owners' pods.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef, PodUid
from controller.model.observed import (
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    ObservedVolume,
    RunState,
)
from tests import factories

NODES = [NodeName("a"), NodeName("b"), NodeName("c")]
NAMES = ["p0", "p1", "p2", "p3"]
OWNERS = ["", "ReplicaSet/x", "ReplicaSet/y"]


def container(cid: int, node: int, pod: int, owner: int, state: int) -> ObservedContainer:
    ref = PodRef("default", NAMES[pod], PodUid(f"uid-{pod}"))
    identity = ContainerIdentity(
        ref, f"c{cid}", ContainerRole.APP, 0, "h", "ph", 1.0, owner=OWNERS[owner]
    )
    return ObservedContainer(
        ContainerId(f"id{cid}"), NODES[node], f"d{cid}", identity, list(RunState)[state]
    )


def volume(name: int, node: int, pod: int) -> ObservedVolume:
    ref = PodRef("default", NAMES[pod], PodUid(f"uid-{pod}"))
    return ObservedVolume(f"v{name}", NODES[node], ref, "scratch")


containers = st.builds(
    container,
    st.integers(0, 7),
    st.integers(0, 2),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 2),
)
volumes = st.builds(volume, st.integers(0, 3), st.integers(0, 2), st.integers(0, 3))
writes = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), containers),
        st.tuples(st.just("remove"), st.integers(0, 2), st.integers(0, 7)),
        st.tuples(st.just("upsert_volume"), volumes),
        st.tuples(st.just("remove_volume"), st.integers(0, 2), st.integers(0, 3)),
        st.tuples(
            st.just("relist"),
            st.integers(0, 2),
            st.lists(containers, max_size=6),
            st.lists(volumes, max_size=3),
            st.booleans(),
        ),
        st.tuples(st.just("relist_again"), st.integers(0, 2), st.booleans()),
        st.tuples(st.just("mark")),
    ),
    max_size=30,
)


def scan_containers(cache: ObservedCache, key: PodKey) -> tuple[ObservedContainer, ...]:
    return tuple(c for c in cache.all_containers() if c.pod.key == key)


def scan_volumes(cache: ObservedCache, key: PodKey) -> tuple[ObservedVolume, ...]:
    nodes: Any = cache._volumes  # the mapping the index mirrors
    return tuple(v for node in nodes.values() for v in node.values() if v.pod.key == key)


def check(cache: ObservedCache) -> None:
    keys = [PodKey("default", n) for n in NAMES]
    for key in keys:
        assert cache.containers_for(key) == scan_containers(cache, key)
        assert cache.volumes_for(key) == scan_volumes(cache, key)
    expected = {c.pod.key for c in cache.all_containers()}
    expected |= {k for k in keys if scan_volumes(cache, k)}
    assert cache.keys() == expected
    for owner in OWNERS:
        owned = {c.pod.key for c in cache.all_containers() if c.identity.owner == owner}
        assert cache.keys_owned_by(owner) == owned


@settings(max_examples=150, deadline=None)
@given(writes)
def test_the_cache_index_answers_as_the_scan(steps: list[tuple[Any, ...]]) -> None:
    cache = ObservedCache()
    mark: int | None = None
    for step in steps:
        match step:
            case ("upsert", c):
                cache.upsert(c)
            case ("remove", node, cid):
                cache.remove(NODES[node], ContainerId(f"id{cid}"))
            case ("upsert_volume", v):
                cache.upsert_volume(v)
            case ("remove_volume", node, name):
                cache.remove_volume(NODES[node], f"v{name}")
            case ("relist", node, listed, vols, marked):
                here = [attrs_on(c, NODES[node]) for c in listed]
                cache.replace_node(
                    NODES[node],
                    here,
                    [vol_on(v, NODES[node]) for v in vols],
                    mark if marked else None,
                )
            case ("relist_again", node, marked):  # what the cache holds: the idle relist
                held = cache._containers[NODES[node]]
                before = dict(held)
                changed = cache.replace_node(
                    NODES[node],
                    [attrs_on(c, NODES[node]) for c in held.values()],  # equal, not the same
                    [vol_on(v, NODES[node]) for v in cache._volumes[NODES[node]].values()],
                    mark if marked else None,
                )
                assert changed == set()
                assert cache._containers[NODES[node]] == before
            case ("mark",):
                mark = cache.mark()
        check(cache)


def attrs_on(c: ObservedContainer, node: NodeName) -> ObservedContainer:
    return ObservedContainer(c.id, node, c.docker_name, c.identity, c.state)


def vol_on(v: ObservedVolume, node: NodeName) -> ObservedVolume:
    return ObservedVolume(v.name, node, v.pod, v.volume_name)


def test_an_unchanged_pod_keeps_its_tuple_and_a_changed_one_gets_a_new_one() -> None:
    cache = ObservedCache()
    first, second = container(0, 0, 0, 0, 1), container(1, 0, 1, 0, 1)
    cache.replace_node(NODES[0], [first, second], [])
    key = first.pod.key
    seen = cache.containers_for(key)
    assert cache.replace_node(NODES[0], [first, second], []) == set()  # nothing changed
    cache.upsert(second)
    assert cache.containers_for(key) is seen
    cache.upsert(container(0, 0, 0, 0, 2))  # it exited
    assert cache.containers_for(key) is not seen
    assert cache.containers_for(key) == scan_containers(cache, key)


def desired_pod(name: int, owner: int, version: int) -> DesiredPod:
    p = factories.desired(factories.pod(NAMES[name], grace=version))
    return DesiredPod(p.pod, p.spec_hash, p.container_hashes, owner=OWNERS[owner])


desired_pods = st.builds(desired_pod, st.integers(0, 3), st.integers(0, 2), st.integers(1, 3))
desired_writes = st.lists(
    st.one_of(
        st.tuples(st.just("put"), desired_pods),
        st.tuples(st.just("remove"), st.integers(0, 3)),
        st.tuples(st.just("replace_all"), st.lists(desired_pods, max_size=4)),
        st.tuples(st.just("replace_owned"), st.integers(0, 2), st.lists(desired_pods, max_size=4)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(desired_writes)
def test_the_desired_owner_index_answers_as_the_scan(steps: list[tuple[Any, ...]]) -> None:
    store = DesiredStore()
    for step in steps:
        match step:
            case ("put", p):
                store.put(p)
            case ("remove", name):
                store.remove(PodKey("default", NAMES[name]))
            case ("replace_all", pods):
                store.replace_all(pods)
            case ("replace_owned", owner, pods):
                store.replace_owned(OWNERS[owner], [p for p in pods if p.owner == OWNERS[owner]])
        every: Any = store._pods  # the mapping the index mirrors
        for owner in OWNERS:
            assert store.owned_by(owner) == [p for p in every.values() if p.owner == owner]
