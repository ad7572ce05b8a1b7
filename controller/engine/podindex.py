"""The observed cache's index by pod key: a pod's containers (or volumes) without a scan.

Every pod decision, status view and ReplicaSet sync asks the cache for the containers of one
pod. Scanning every container of every node for that costs as much as there are pods, per pod:
at 10,000 pods one pass over them all took minutes. `ByPod` keeps, per pod key and node, the
items in the order the node's own mapping holds them, so `of(key)` gives exactly what the scan
gave (node after node in the cache's order, each node's items in its order), in time that does
not grow with the other pods.

`of(key)` returns the same tuple object for as long as the key's items stay equal, so callers
may memoize what they derive from it by identity (the scheduler's picture does, see
engine.nodeinfo).

Traps: the owner must mirror every write of the node mappings (`put`, `drop`, `reset_node`), with
the item that was there before; and `node_order` is the cache's own node order, passed in, since
a scan follows that order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from controller.model.meta import NodeName, PodKey

T = TypeVar("T")
N = TypeVar("N", bound=str)
"""What names an item on its node (a container id, a volume name)."""


class ByPod(Generic[N, T]):
    def __init__(self, key_of: Callable[[T], PodKey], owner_of: Callable[[T], str]) -> None:
        self._key_of = key_of
        self._owner_of = owner_of
        self._by_key: dict[PodKey, dict[NodeName, dict[N, T]]] = {}
        self._owned: dict[str, Counter[PodKey]] = {}
        """Per owner, how many items of each pod key carry it."""
        self._memo: dict[PodKey, tuple[T, ...]] = {}
        self._dirty: set[PodKey] = set()

    def of(self, key: PodKey, node_order: Iterable[NodeName]) -> tuple[T, ...]:
        """The key's items: node after node in `node_order`, each node's in its own order."""
        memo = self._memo.get(key)
        if memo is not None and key not in self._dirty:
            return memo
        self._dirty.discard(key)
        per_node = self._by_key.get(key)
        items: tuple[T, ...] = ()
        if per_node:
            items = tuple(i for node in node_order for i in per_node.get(node, {}).values())
        if memo is not None and memo == items:
            return memo  # the same object while nothing changed (callers memoize on it)
        if items:
            self._memo[key] = items
        else:
            self._memo.pop(key, None)
        return items

    def keys(self) -> set[PodKey]:
        return set(self._by_key)

    def ordered_keys(self) -> list[PodKey]:
        return list(self._by_key)

    def keys_owned_by(self, owner: str) -> set[PodKey]:
        return set(self._owned.get(owner, ()))

    def put(self, node: NodeName, name: N, item: T, old: T | None, written: Mapping[N, T]) -> None:
        """`item` is now under `name` on `node`, where `old` was (None: nothing); `written` is
        the node's mapping after the write (read only when a name moves to another pod)."""
        key = self._key_of(item)
        if old is not None and self._key_of(old) != key:
            self.drop(node, name, old)
            # it keeps its place in the node's mapping: take the new pod's order from there
            mine = {n: i for n, i in written.items() if self._key_of(i) == key}
            self._by_key.setdefault(key, {})[node] = mine
            self._dirty.add(key)
            self._count(self._owner_of(item), key, +1)
            return
        self._by_key.setdefault(key, {}).setdefault(node, {})[name] = item
        self._dirty.add(key)
        if old is None or self._owner_of(old) != self._owner_of(item):
            if old is not None:
                self._count(self._owner_of(old), key, -1)
            self._count(self._owner_of(item), key, +1)

    def drop(self, node: NodeName, name: N, old: T, *, forget: bool = True) -> None:
        """`old` is no longer under `name` on `node`; `forget`: a key left with nothing is
        forgotten at once (a relist forgets after putting the node's new items back)."""
        key = self._key_of(old)
        per_node = self._by_key.get(key, {})
        items = per_node.get(node, {})
        if items.pop(name, None) is None:
            return
        if not items:
            del per_node[node]
        if not per_node:
            self._by_key.pop(key, None)
        self._dirty.add(key)
        if forget:
            self._forget_if_gone(key)
        self._count(self._owner_of(old), key, -1)

    def reset_node(self, node: NodeName, old: Mapping[N, T], new: Mapping[N, T]) -> None:
        """The node's mapping went from `old` to `new` at once (a relist)."""
        for name, item in old.items():
            self.drop(node, name, item, forget=False)
        for name, item in new.items():
            self.put(node, name, item, None, new)
        for item in old.values():
            self._forget_if_gone(self._key_of(item))

    def _forget_if_gone(self, key: PodKey) -> None:
        """Nothing of the key is left: drop its memo too, whether or not anyone asks again."""
        if key not in self._by_key:
            self._memo.pop(key, None)
            self._dirty.discard(key)

    def _count(self, owner: str, key: PodKey, step: int) -> None:
        counts = self._owned.setdefault(owner, Counter())
        counts[key] += step
        if counts[key] <= 0:
            del counts[key]
        if not counts:
            del self._owned[owner]
