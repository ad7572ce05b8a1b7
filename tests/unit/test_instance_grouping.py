"""Grouping a pod's containers into instances, done in one walk for speed, gives what the plain
definition gives: per uid, the sandboxes and each name's lineage sorted by (sandbox attempt,
attempt, creation time), stable for ties; instances by creation time then uid; the ref of the last
container seen; the volumes of each uid. And an instance's node, spec hash and creation time are
those of its oldest sandbox, else of its first app container."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.decide.instance import Instance, group_instances
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid
from controller.model.observed import (
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    ObservedContainer,
    ObservedVolume,
    RunState,
)


def _order(c: ObservedContainer) -> tuple[int, int, float]:
    return (c.identity.sandbox_attempt, c.identity.attempt, c.created_at)


def reference(
    containers: Iterable[ObservedContainer], volumes: Iterable[ObservedVolume]
) -> list[Instance]:
    by_uid: dict[PodUid, list[ObservedContainer]] = defaultdict(list)
    refs: dict[PodUid, PodRef] = {}
    for c in containers:
        by_uid[c.pod.uid].append(c)
        refs[c.pod.uid] = c.pod
    vols: dict[PodUid, list[ObservedVolume]] = defaultdict(list)
    for v in volumes:
        vols[v.pod_uid].append(v)
    instances = []
    for uid, members in by_uid.items():
        apps: dict[str, list[ObservedContainer]] = defaultdict(list)
        for c in members:
            if c.identity.role is not ContainerRole.SANDBOX:
                apps[c.identity.container_name].append(c)
        instances.append(
            Instance(
                ref=refs[uid],
                sandboxes=tuple(sorted((c for c in members if c.is_sandbox), key=_order)),
                apps={n: tuple(sorted(lineage, key=_order)) for n, lineage in apps.items()},
                volumes=tuple(vols.pop(uid, ())),
            )
        )
    instances.sort(
        key=lambda i: (
            i.all_containers()[0].identity.pod_created_at if i.all_containers() else 0.0,
            i.ref.uid,
        )
    )
    return instances


@st.composite
def observed(draw: st.DrawFn, number: int) -> ObservedContainer:
    uid = draw(st.sampled_from(["u1", "u2", "u3"]))
    role = draw(st.sampled_from(list(ContainerRole)))
    name = SANDBOX_CONTAINER_NAME if role is ContainerRole.SANDBOX else draw(st.sampled_from("ab"))
    identity = ContainerIdentity(
        PodRef("default", "web", PodUid(uid)),
        name,
        role,
        draw(st.integers(0, 2)),
        "h",
        draw(st.sampled_from(["s1", "s2"])),
        draw(st.sampled_from([1.0, 2.0])),
        sandbox_attempt=draw(st.integers(0, 2)),
    )
    return ObservedContainer(
        ContainerId(f"c{number}"),
        NodeName(draw(st.sampled_from(["n1", "n2"]))),
        f"d{number}",
        identity,
        draw(st.sampled_from(list(RunState))),
        created_at=draw(st.sampled_from([0.0, 5.0])),
    )


containers = st.integers(0, 8).flatmap(lambda n: st.tuples(*(observed(i) for i in range(n))))
volumes = st.lists(
    st.builds(
        lambda uid, name: ObservedVolume(
            name, NodeName("n1"), PodRef("default", "web", PodUid(uid)), "scratch"
        ),
        st.sampled_from(["u1", "u2", "u4"]),
        st.sampled_from(["v1", "v2"]),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(containers, volumes)
def test_grouping_matches_the_plain_definition(
    cs: tuple[ObservedContainer, ...], vs: list[ObservedVolume]
) -> None:
    grouped = group_instances(cs, vs)
    assert grouped == reference(cs, vs)
    for instance in grouped:
        first = instance.all_containers()[0] if instance.all_containers() else None
        assert instance.spec_hash == (first.identity.pod_spec_hash if first else "")
        assert instance.created_at == (first.identity.pod_created_at if first else 0.0)
        expected_node = (
            first.node if first else (instance.volumes[0].node if instance.volumes else None)
        )
        assert instance.node == expected_node
