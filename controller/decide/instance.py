"""A pod instance as observed: its sandboxes, and per container name the lineage of attempts.

Grouping is done once here so the planner and the status computation read the same picture.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import attrs

from controller.model.meta import NodeName, PodRef, PodUid
from controller.model.observed import ContainerRole, ObservedContainer, ObservedVolume, RunState


@attrs.frozen
class Instance:
    """All containers and volumes of one pod uid, oldest attempt first within each group."""

    ref: PodRef
    sandboxes: tuple[ObservedContainer, ...]
    apps: dict[str, tuple[ObservedContainer, ...]]
    volumes: tuple[ObservedVolume, ...] = ()

    @property
    def sandbox(self) -> ObservedContainer | None:
        return self.sandboxes[-1] if self.sandboxes else None

    def first(self) -> ObservedContainer | None:
        """The oldest sandbox, else the first app container: what speaks for the instance."""
        if self.sandboxes:
            return self.sandboxes[0]
        for lineage in self.apps.values():
            if lineage:
                return lineage[0]
        return None

    @property
    def node(self) -> NodeName | None:
        first = self.first()
        if first is not None:
            return first.node
        return self.volumes[0].node if self.volumes else None

    @property
    def spec_hash(self) -> str:
        first = self.first()
        return first.identity.pod_spec_hash if first is not None else ""

    @property
    def created_at(self) -> float:
        first = self.first()
        return first.identity.pod_created_at if first is not None else 0.0

    def latest(self, name: str) -> ObservedContainer | None:
        lineage = self.apps.get(name, ())
        return lineage[-1] if lineage else None

    def previous(self, name: str) -> ObservedContainer | None:
        lineage = self.apps.get(name, ())
        return lineage[-2] if len(lineage) > 1 else None

    def all_apps(self) -> list[ObservedContainer]:
        return [c for lineage in self.apps.values() for c in lineage]

    def all_containers(self) -> list[ObservedContainer]:
        return [*self.sandboxes, *self.all_apps()]

    def running(self) -> list[ObservedContainer]:
        return [c for c in self.all_containers() if c.state is RunState.RUNNING]

    def sandbox_alive(self) -> bool:
        sandbox = self.sandbox
        return sandbox is not None and sandbox.state is RunState.RUNNING


def _order(container: ObservedContainer) -> tuple[int, int, float]:
    return (container.identity.sandbox_attempt, container.identity.attempt, container.created_at)


def group_instances(
    containers: Iterable[ObservedContainer], volumes: Iterable[ObservedVolume] = ()
) -> list[Instance]:
    """Instances of one pod key, oldest first (by the pod's creation time, then uid).

    Runs for every pod on every pass (and for every view), so it walks the containers once and
    sorts only what has more than one member; a pod has one instance and one container per name
    nearly always."""
    groups: dict[PodUid, tuple[PodRef, list[ObservedContainer], dict[str, list[ObservedContainer]]]]
    groups = {}
    sandbox_role = ContainerRole.SANDBOX
    for container in containers:
        identity = container.identity
        ref = identity.pod
        group = groups.get(ref.uid)
        if group is None:
            group = groups[ref.uid] = (ref, [], {})
        if identity.role is sandbox_role:
            group[1].append(container)
        else:
            lineage = group[2].get(identity.container_name)
            if lineage is None:
                group[2][identity.container_name] = [container]
            else:
                lineage.append(container)
    vols: dict[PodUid, list[ObservedVolume]] = defaultdict(list)
    for volume in volumes:
        vols[volume.pod_uid].append(volume)
    instances = [
        Instance(
            ref=ref,
            sandboxes=tuple(sandboxes) if len(sandboxes) < 2 else _ordered(sandboxes),
            apps={
                name: (lineage[0],) if len(lineage) == 1 else _ordered(lineage)
                for name, lineage in apps.items()
            },
            volumes=tuple(vols.pop(uid)) if uid in vols else (),
        )
        for uid, (ref, sandboxes, apps) in groups.items()
    ]
    if len(instances) > 1:
        instances.sort(key=lambda i: (i.created_at, i.ref.uid))
    return instances


def _ordered(containers: list[ObservedContainer]) -> tuple[ObservedContainer, ...]:
    return tuple(sorted(containers, key=_order))


def orphan_volumes(
    instances: Sequence[Instance], volumes: Iterable[ObservedVolume]
) -> list[ObservedVolume]:
    """Volumes whose pod uid has no container left (a crash between volume and sandbox create)."""
    live = {i.ref.uid for i in instances}
    return [v for v in volumes if v.pod_uid not in live]
