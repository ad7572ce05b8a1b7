"""In-memory views the workers read: desired pods, observed containers per node, failure notes.

The observed cache is only a cache: the PLEG fills it from the engine (relist = truth, events =
hints) and the executor updates it with what it just did, so the next decision sees its own writes
without waiting for an event. Every mutation returns the pod keys it touched, for the queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import FailureNote, ObservedContainer, ObservedVolume


class DesiredStore:
    def __init__(self) -> None:
        self._pods: dict[PodKey, DesiredPod] = {}

    def get(self, key: PodKey) -> DesiredPod | None:
        return self._pods.get(key)

    def keys(self) -> set[PodKey]:
        return set(self._pods)

    def all(self) -> list[DesiredPod]:
        return [self._pods[k] for k in sorted(self._pods)]

    def replace_all(self, pods: Iterable[DesiredPod]) -> set[PodKey]:
        """Make the store equal to `pods`; return keys added, removed or changed."""
        new = {p.key: p for p in pods}
        changed = {k for k in self._pods.keys() | new.keys() if self._pods.get(k) != new.get(k)}
        self._pods = new
        return changed

    def replace_owned(self, owner: str, pods: Iterable[DesiredPod]) -> set[PodKey]:
        """Make the pods of one owner ("" for the folder's bare pods) equal to `pods`.

        Pods of other owners are left alone; a key another owner already holds is not taken over
        (the first owner keeps it), so a bare pod and a ReplicaSet's pod never fight for a name.
        """
        old = {k: p for k, p in self._pods.items() if p.owner == owner}
        new = {
            p.key: p
            for p in pods
            if self._pods.get(p.key) is None or self._pods[p.key].owner == owner
        }
        changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        for key in old.keys() - new.keys():
            del self._pods[key]
        self._pods.update(new)
        return changed

    def owned_by(self, owner: str) -> list[DesiredPod]:
        return [p for p in self._pods.values() if p.owner == owner]

    def put(self, pod: DesiredPod) -> None:
        self._pods[pod.key] = pod

    def remove(self, key: PodKey) -> None:
        self._pods.pop(key, None)


class ObservedCache:
    def __init__(self) -> None:
        self._containers: dict[NodeName, dict[ContainerId, ObservedContainer]] = defaultdict(dict)
        self._volumes: dict[NodeName, dict[str, ObservedVolume]] = defaultdict(dict)

    def containers_for(self, key: PodKey) -> tuple[ObservedContainer, ...]:
        return tuple(
            c for node in self._containers.values() for c in node.values() if c.pod.key == key
        )

    def volumes_for(self, key: PodKey) -> tuple[ObservedVolume, ...]:
        return tuple(
            v for node in self._volumes.values() for v in node.values() if v.pod.key == key
        )

    def keys(self) -> set[PodKey]:
        keys = {c.pod.key for node in self._containers.values() for c in node.values()}
        return keys | {v.pod.key for node in self._volumes.values() for v in node.values()}

    def keys_owned_by(self, owner: str) -> set[PodKey]:
        return {
            c.pod.key
            for node in self._containers.values()
            for c in node.values()
            if c.identity.owner == owner
        }

    def get(self, node: NodeName, container_id: ContainerId) -> ObservedContainer | None:
        return self._containers[node].get(container_id)

    def pods_per_node(self) -> Mapping[NodeName, int]:
        return {
            node: len({c.pod.uid for c in containers.values()})
            for node, containers in self._containers.items()
        }

    def upsert(self, container: ObservedContainer) -> PodKey:
        self._containers[container.node][container.id] = container
        return container.pod.key

    def remove(self, node: NodeName, container_id: ContainerId) -> PodKey | None:
        gone = self._containers[node].pop(container_id, None)
        return gone.pod.key if gone else None

    def upsert_volume(self, volume: ObservedVolume) -> None:
        self._volumes[volume.node][volume.name] = volume

    def remove_volume(self, node: NodeName, name: str) -> PodKey | None:
        gone = self._volumes[node].pop(name, None)
        return gone.pod.key if gone else None

    def replace_node(
        self,
        node: NodeName,
        containers: Iterable[ObservedContainer],
        volumes: Iterable[ObservedVolume],
    ) -> set[PodKey]:
        """Install a full relist of one node; return the keys whose picture changed."""
        new = {c.id: c for c in containers}
        old = self._containers[node]
        changed = {
            (new.get(i) or old[i]).pod.key
            for i in old.keys() | new.keys()
            if old.get(i) != new.get(i)
        }
        self._containers[node] = new
        new_volumes = {v.name: v for v in volumes}
        old_volumes = self._volumes[node]
        changed |= {
            (new_volumes.get(n) or old_volumes[n]).pod.key
            for n in old_volumes.keys() | new_volumes.keys()
            if old_volumes.get(n) != new_volumes.get(n)
        }
        self._volumes[node] = new_volumes
        return changed


class ProtectedSources:
    """Manifest files that are broken or held right now: their pods are never torn down.

    The folder watcher keeps a broken file's last good objects while it runs; this covers what it
    cannot know, a controller started while a file is broken: the pods behind that file stay.
    """

    def __init__(self) -> None:
        self.files: frozenset[str] = frozenset()

    def covers(self, containers: Iterable[ObservedContainer]) -> bool:
        return any(c.source in self.files for c in containers if c.source)


class NoteBook:
    """Failures the engine keeps no record of (pulls, refused creates), per pod key and container."""

    def __init__(self) -> None:
        self._notes: dict[PodKey, dict[str, FailureNote]] = defaultdict(dict)

    def record(
        self, key: PodKey, container: str, reason: str, message: str, now: float
    ) -> FailureNote:
        previous = self._notes[key].get(container)
        failures = previous.failures + 1 if previous and previous.reason == reason else 1
        note = FailureNote(reason, message, now, failures)
        self._notes[key][container] = note
        return note

    def clear(self, key: PodKey, container: str) -> None:
        self._notes.get(key, {}).pop(container, None)

    def for_key(self, key: PodKey) -> Mapping[str, FailureNote]:
        return dict(self._notes.get(key, {}))

    def drop(self, key: PodKey) -> None:
        self._notes.pop(key, None)
