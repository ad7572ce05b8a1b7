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

    @property
    def node(self) -> NodeName | None:
        for container in (*self.sandboxes, *self.all_apps()):
            return container.node
        return self.volumes[0].node if self.volumes else None

    @property
    def spec_hash(self) -> str:
        for container in (*self.sandboxes, *self.all_apps()):
            return container.identity.pod_spec_hash
        return ""

    @property
    def created_at(self) -> float:
        for container in (*self.sandboxes, *self.all_apps()):
            return container.identity.pod_created_at
        return 0.0

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
    """Instances of one pod key, oldest first (by the pod's creation time, then uid)."""
    by_uid: dict[PodUid, list[ObservedContainer]] = defaultdict(list)
    refs: dict[PodUid, PodRef] = {}
    for container in containers:
        by_uid[container.pod.uid].append(container)
        refs[container.pod.uid] = container.pod
    vols: dict[PodUid, list[ObservedVolume]] = defaultdict(list)
    for volume in volumes:
        vols[volume.pod_uid].append(volume)
    instances = []
    for uid, members in by_uid.items():
        sandboxes = sorted((c for c in members if c.is_sandbox), key=_order)
        apps: dict[str, list[ObservedContainer]] = defaultdict(list)
        for c in members:
            if c.identity.role is not ContainerRole.SANDBOX:
                apps[c.identity.container_name].append(c)
        instances.append(
            Instance(
                ref=refs[uid],
                sandboxes=tuple(sandboxes),
                apps={name: tuple(sorted(lineage, key=_order)) for name, lineage in apps.items()},
                volumes=tuple(vols.pop(uid, ())),
            )
        )
    instances.sort(key=lambda i: (i.created_at, i.ref.uid))
    return instances


def orphan_volumes(
    instances: Sequence[Instance], volumes: Iterable[ObservedVolume]
) -> list[ObservedVolume]:
    """Volumes whose pod uid has no container left (a crash between volume and sandbox create)."""
    live = {i.ref.uid for i in instances}
    return [v for v in volumes if v.pod_uid not in live]
