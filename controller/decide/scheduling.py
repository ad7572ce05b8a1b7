"""Binding a new pod to a node: a ready node with the fewest pods, ties broken by name.

Deliberately simple until nodes carry capacity; it is pure so property tests can check that no pod is
ever bound to a node that is not Ready.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller.model.meta import NodeName


def pick_node(ready: Sequence[NodeName], load: Mapping[NodeName, int]) -> NodeName | None:
    if not ready:
        return None
    return min(ready, key=lambda node: (load.get(node, 0), node))
