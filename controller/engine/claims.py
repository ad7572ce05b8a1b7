"""The claim book: the folder's PersistentVolumeClaims and where each one's volume lives.

Declared claims come from the folder (`set_declared`); bound ones from each node's relist
(`replace_node`: claim -> Docker volume, read from the volumes labelled `io.podyard.pvc`), so a
restarted controller knows at once where every claim's data is. `facts(desired)` is what placing
a new pod reads (model.claims.ClaimFacts); `views()` is what the API lists.

Traps:
- A claim is bound the moment a pod using it is placed, before its volume exists: `note_placed`
  keeps that node while the plan runs, and `note_applied` until a relist that began after it ran
  has had its say (a relist that began meanwhile may have listed before the volume was made), or
  two pods of one claim placed close together could land on two nodes, each with an empty
  volume of its own.
- A claim whose file is gone is not forgotten by its volume: the volume stays (Retain) and is
  bound again when the claim is declared again. The book never removes anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from controller.model.claims import (
    ClaimFacts,
    ClaimView,
    PersistentVolumeClaim,
    docker_volume_name,
)
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName
from controller.model.plan import Plan, RunContainer


class ClaimBook:
    def __init__(self) -> None:
        self._declared: dict[str, PersistentVolumeClaim] = {}
        """`<namespace>/<name>` -> the folder's claim."""
        self._declared_at: dict[str, float] = {}
        self._bound: dict[NodeName, dict[str, str]] = {}
        """node -> claim -> volume name, as the node's last relist showed."""
        self._placed: dict[NodeName, dict[str, tuple[str, float]]] = {}
        """node -> claim -> (volume, when placed): bindings no relist has confirmed yet."""

    def set_declared(self, claims: Iterable[PersistentVolumeClaim], now: float) -> None:
        self._declared = {f"{c.metadata.namespace}/{c.metadata.name}": c for c in claims}
        self._declared_at = {k: self._declared_at.get(k, now) for k in self._declared}

    def replace_node(self, node: NodeName, found: Mapping[str, str], relist_began: float) -> None:
        """What a relist that began at `relist_began` saw on `node`."""
        self._bound[node] = dict(found)
        placed = self._placed.get(node, {})
        self._placed[node] = {
            claim: (volume, at)
            for claim, (volume, at) in placed.items()
            if at >= relist_began and claim not in found
        }

    def note_placed(self, plan: Plan) -> None:
        """The claims `plan` mounts on its node are bound there from now on (while it runs)."""
        self._note(plan, math.inf)

    def note_applied(self, plan: Plan, now: float) -> None:
        """`plan` has run: a relist that begins from `now` on shows the volume, or its absence."""
        self._note(plan, now)

    def _note(self, plan: Plan, at: float) -> None:
        for action in plan.actions:
            if isinstance(action, RunContainer):
                for mount in action.config.mounts:
                    if mount.claim:
                        node_placed = self._placed.setdefault(action.node, {})
                        node_placed[mount.claim] = (mount.source, at)

    def nodes_of(self, claim: str) -> tuple[NodeName, ...]:
        nodes = {n for n, found in self._bound.items() if claim in found}
        nodes |= {n for n, placed in self._placed.items() if claim in placed}
        return tuple(sorted(nodes))

    def facts(self, desired: DesiredPod | None) -> ClaimFacts:
        if desired is None or not desired.pod.spec.claim_names():
            return ClaimFacts()
        namespace = desired.key.namespace
        names = desired.pod.spec.claim_names()
        missing = tuple(n for n in names if f"{namespace}/{n}" not in self._declared)
        allowed: frozenset[str] | None = None
        for name in names:
            nodes = self.nodes_of(f"{namespace}/{name}")
            if nodes:
                allowed = frozenset(nodes) if allowed is None else allowed & frozenset(nodes)
        return ClaimFacts(missing, allowed)

    def views(self) -> list[ClaimView]:
        result = []
        for key, claim in sorted(self._declared.items()):
            nodes = self.nodes_of(key)
            meta = claim.metadata
            volume = docker_volume_name(meta.namespace, meta.name) if nodes else ""
            result.append(ClaimView(claim, volume, nodes, self._declared_at[key]))
        return result
