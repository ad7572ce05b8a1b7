"""In-memory views the workers read: desired pods, observed containers per node, failure notes.

The observed cache is only a cache: the PLEG fills it from the engine (relist = truth, events =
hints) and the executor updates it with what it just did, so the next decision sees its own writes
without waiting for an event. Every mutation returns the pod keys it touched, for the queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.engine.podindex import ByPod
from controller.model.desired import DesiredPod
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import FailureNote, ObservedContainer, ObservedVolume


class DesiredStore:
    """Desired pods by key, each with the wall time its current version (spec hash) first appeared,
    which is where a pod's start duration is measured from."""

    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self._pods: dict[PodKey, DesiredPod] = {}
        self._now = now
        self._seen: dict[PodKey, tuple[str, float]] = {}
        self._owned: dict[str, dict[PodKey, DesiredPod]] = {}
        """`_pods` by owner, each in `_pods`' order: a ReplicaSet's sync reads its own pods
        without a scan of every pod."""

    def _reindex(self) -> None:
        self._owned = {}
        for key, pod in self._pods.items():
            self._owned.setdefault(pod.owner, {})[key] = pod

    def seen_at(self, key: PodKey) -> float | None:
        """When the current version of `key` was first stored; None when it is not desired."""
        seen = self._seen.get(key)
        pod = self._pods.get(key)
        return seen[1] if seen is not None and pod is not None else None

    def _track(self) -> None:
        """Note the first sighting of every new version; forget keys no longer desired."""
        now = None
        for key, pod in self._pods.items():
            seen = self._seen.get(key)
            if seen is None or seen[0] != pod.spec_hash:
                now = self._now() if now is None else now
                self._seen[key] = (pod.spec_hash, now)
        for key in self._seen.keys() - self._pods.keys():
            del self._seen[key]

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
        self._reindex()
        self._track()
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
        self._reindex()
        self._track()
        return changed

    def owned_by(self, owner: str) -> list[DesiredPod]:
        return list(self._owned.get(owner, {}).values())

    def put(self, pod: DesiredPod) -> None:
        held = self._pods.get(pod.key)
        self._pods[pod.key] = pod
        if held is None or held.owner == pod.owner:
            self._owned.setdefault(pod.owner, {})[pod.key] = pod
        else:
            self._reindex()  # a key changing hands keeps its place in `_pods`: rebuild (rare)
        seen = self._seen.get(pod.key)
        if seen is None or seen[0] != pod.spec_hash:
            self._seen[pod.key] = (pod.spec_hash, self._now())

    def remove(self, key: PodKey) -> None:
        gone = self._pods.pop(key, None)
        self._seen.pop(key, None)
        if gone is not None:
            owned = self._owned.get(gone.owner, {})
            owned.pop(key, None)
            if not owned:
                self._owned.pop(gone.owner, None)


class ObservedCache:
    """Containers and volumes per node, as last read from the engine.

    Every write (the executor's re-read after acting, an event's re-read) is numbered, so a relist
    can tell what it must not overwrite: a relist is a snapshot taken while workers act, and
    installing it as it is would undo a create made after the snapshot was taken. The decision that
    follows would then see no pod and make a second instance of it under a new uid.
    """

    def __init__(self) -> None:
        self._containers: dict[NodeName, dict[ContainerId, ObservedContainer]] = defaultdict(dict)
        self._volumes: dict[NodeName, dict[str, ObservedVolume]] = defaultdict(dict)
        self._writes = 0
        self._written: dict[tuple[NodeName, str], int] = {}
        """Per container id or volume name, the number of its latest write."""
        self._pod_containers: ByPod[ContainerId, ObservedContainer] = ByPod(_pod_key, _owner)
        self._pod_volumes: ByPod[str, ObservedVolume] = ByPod(_volume_pod_key, _no_owner)
        """Both mappings above, by pod key (see engine.podindex): no scan per pod."""

    def mark(self) -> int:
        """The current write number: pass it to `replace_node` for a snapshot taken after now."""
        return self._writes

    def _wrote(self, node: NodeName, name: str) -> None:
        self._writes += 1
        self._written[(node, name)] = self._writes

    def containers_for(self, key: PodKey) -> tuple[ObservedContainer, ...]:
        """The pod's containers, node after node; the same tuple while they do not change."""
        return self._pod_containers.of(key, self._containers)

    def volumes_for(self, key: PodKey) -> tuple[ObservedVolume, ...]:
        return self._pod_volumes.of(key, self._volumes)

    def all_containers(self) -> list[ObservedContainer]:
        return [c for node in self._containers.values() for c in node.values()]

    def keys(self) -> set[PodKey]:
        return self._pod_containers.keys() | self._pod_volumes.keys()

    def keys_with_containers(self) -> list[PodKey]:
        """Pods with a container on some node, in the order they showed up (one that went and came back, as new)."""
        return self._pod_containers.ordered_keys()

    def keys_on(self, node: NodeName) -> set[PodKey]:
        """Pods with a container on `node` (as last seen there)."""
        return {c.pod.key for c in self._containers.get(node, {}).values()}

    def keys_owned_by(self, owner: str) -> set[PodKey]:
        return self._pod_containers.keys_owned_by(owner)

    def get(self, node: NodeName, container_id: ContainerId) -> ObservedContainer | None:
        return self._containers[node].get(container_id)

    def upsert(self, container: ObservedContainer) -> PodKey:
        node = self._containers[container.node]
        held = node.get(container.id)
        node[container.id] = container
        self._pod_containers.put(container.node, container.id, container, held, node)
        self._wrote(container.node, container.id)
        return container.pod.key

    def remove(self, node: NodeName, container_id: ContainerId) -> PodKey | None:
        gone = self._containers[node].pop(container_id, None)
        if gone is not None:
            self._pod_containers.drop(node, container_id, gone)
        self._wrote(node, container_id)
        return gone.pod.key if gone else None

    def upsert_volume(self, volume: ObservedVolume) -> None:
        node = self._volumes[volume.node]
        held = node.get(volume.name)
        node[volume.name] = volume
        self._pod_volumes.put(volume.node, volume.name, volume, held, node)
        self._wrote(volume.node, volume.name)

    def remove_volume(self, node: NodeName, name: str) -> PodKey | None:
        gone = self._volumes[node].pop(name, None)
        if gone is not None:
            self._pod_volumes.drop(node, name, gone)
        self._wrote(node, name)
        return gone.pod.key if gone else None

    def _newer_than(self, node: NodeName, since: int | None) -> set[str]:
        """Names written on `node` after write `since` (none when no mark was taken)."""
        if since is None:
            return set()
        return {name for (n, name), seq in self._written.items() if n == node and seq > since}

    def _forget_writes(self, node: NodeName, since: int | None) -> None:
        """Writes up to `since` are superseded by a snapshot taken after them."""
        for entry in [e for e, seq in self._written.items() if e[0] == node]:
            if since is None or self._written[entry] <= since:
                del self._written[entry]

    def replace_node(
        self,
        node: NodeName,
        containers: Iterable[ObservedContainer],
        volumes: Iterable[ObservedVolume],
        since: int | None = None,
    ) -> set[PodKey]:
        """Install a full relist of one node; return the keys whose picture changed.

        `since` is the `mark()` taken before the snapshot was read: what was written after it is
        newer than the snapshot and is kept as the cache has it (present or removed).
        """
        newer = self._newer_than(node, since)
        new = {c.id: c for c in containers}
        old = self._containers[node]
        _keep_newer(new, old, newer)
        changed: set[PodKey] = set()
        if not _same_mapping(old, new):  # an idle relist finds everything as it was: no rebuild
            changed = {
                (new.get(i) or old[i]).pod.key
                for i in old.keys() | new.keys()
                if old.get(i) != new.get(i)
            }
            self._pod_containers.reset_node(node, old, new)
            self._containers[node] = new
        new_volumes = {v.name: v for v in volumes}
        old_volumes = self._volumes[node]
        _keep_newer(new_volumes, old_volumes, newer)
        if not _same_mapping(old_volumes, new_volumes):
            changed |= {
                (new_volumes.get(n) or old_volumes[n]).pod.key
                for n in old_volumes.keys() | new_volumes.keys()
                if old_volumes.get(n) != new_volumes.get(n)
            }
            self._pod_volumes.reset_node(node, old_volumes, new_volumes)
            self._volumes[node] = new_volumes
        self._forget_writes(node, since)
        return changed


def _pod_key(container: ObservedContainer) -> PodKey:
    return container.pod.key


def _owner(container: ObservedContainer) -> str:
    return container.identity.owner


def _volume_pod_key(volume: ObservedVolume) -> PodKey:
    return volume.pod.key


def _no_owner(volume: ObservedVolume) -> str:
    return ""


def _same_mapping(old: Mapping[Any, Any], new: Mapping[Any, Any]) -> bool:
    """The same names, in the same order, with equal items (the runtime hands back the very
    objects it cached for unchanged containers, so `is` settles almost every comparison)."""
    if len(old) != len(new):
        return False
    for (old_name, old_item), (new_name, new_item) in zip(old.items(), new.items(), strict=True):
        if old_name != new_name or (old_item is not new_item and old_item != new_item):
            return False
    return True


def _keep_newer(new: dict[Any, Any], old: Mapping[Any, Any], newer: set[str]) -> None:
    """In a snapshot `new`, take the cache's `old` state for every name written after it."""
    for name in newer:
        if name in old:
            new[name] = old[name]
        else:
            new.pop(name, None)


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

    def clear_reason(self, key: PodKey, reason: str) -> None:
        """Forget the key's notes of one reason (its cause may be gone: retry at once)."""
        notes = self._notes.get(key, {})
        for container in [name for name, note in notes.items() if note.reason == reason]:
            del notes[container]

    def for_key(self, key: PodKey) -> Mapping[str, FailureNote]:
        return dict(self._notes.get(key, {}))

    def drop(self, key: PodKey) -> None:
        self._notes.pop(key, None)
