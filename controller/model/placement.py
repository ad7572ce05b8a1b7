"""What a pod asks of the node it runs on, and what a node says of itself: Kubernetes' types.

Taints and tolerations, node selectors and required node affinity, shaped as in core/v1 so that
manifests written for Kubernetes place the same way here. They live apart from `pod` because the
nodes file uses them too (a node's taints), and scheduling reads both sides.
"""

from __future__ import annotations

import enum

import attrs


class TaintEffect(enum.StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class TolerationOperator(enum.StrEnum):
    EQUAL = "Equal"
    EXISTS = "Exists"


class NodeSelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


@attrs.frozen
class Taint:
    """A node's refusal of pods that do not tolerate it."""

    key: str
    effect: TaintEffect
    value: str = ""


@attrs.frozen
class Toleration:
    """A pod's consent to a taint. An empty key with `Exists` tolerates every taint; no effect
    matches every effect; `toleration_seconds` (NoExecute only) bounds how long a pod stays on a
    node after the taint appears."""

    key: str = ""
    operator: TolerationOperator = TolerationOperator.EQUAL
    value: str = ""
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' `Toleration.ToleratesTaint`."""
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator is TolerationOperator.EXISTS:
            return True
        return self.value == taint.value


@attrs.frozen
class NodeSelectorRequirement:
    key: str
    operator: NodeSelectorOperator
    values: tuple[str, ...] = ()


@attrs.frozen
class NodeSelectorTerm:
    """Its requirements are ANDed; an empty term matches no node (as in Kubernetes)."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()
    """Only `metadata.name` exists as a field (validated)."""


@attrs.frozen
class NodeSelector:
    """Its terms are ORed."""

    node_selector_terms: tuple[NodeSelectorTerm, ...]


@attrs.frozen
class PreferredSchedulingTerm:
    weight: int
    preference: NodeSelectorTerm


@attrs.frozen
class NodeAffinity:
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: tuple[PreferredSchedulingTerm, ...] = ()


@attrs.frozen
class Affinity:
    node_affinity: NodeAffinity | None = None
