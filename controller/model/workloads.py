"""ReplicaSet and Deployment (apps/v1): the replicated workloads, as frozen types.

Field names are the snake_case of Kubernetes' names; defaults are Kubernetes' (replicas 1,
revisionHistoryLimit 10, progressDeadlineSeconds 600, RollingUpdate 25% / 25%). Selectors are
evaluated here (`LabelSelector.matches`) because every layer that counts pods needs the same answer.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping

import attrs

from controller.model.meta import ObjectMeta
from controller.model.pod import PodSpec


class SelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@attrs.frozen
class LabelSelectorRequirement:
    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        match self.operator:
            case SelectorOperator.IN:
                return labels.get(self.key) in self.values
            case SelectorOperator.NOT_IN:
                return self.key not in labels or labels[self.key] not in self.values
            case SelectorOperator.EXISTS:
                return self.key in labels
            case SelectorOperator.DOES_NOT_EXIST:
                return self.key not in labels


@attrs.frozen
class LabelSelector:
    """Kubernetes' LabelSelector: all of matchLabels and all of matchExpressions must hold.

    An empty selector would match every pod; Kubernetes refuses it for workloads, and so does
    validation here.
    """

    match_labels: Mapping[str, str] = attrs.field(factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(req.matches(labels) for req in self.match_expressions)

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@attrs.frozen
class TemplateMeta:
    """The metadata a pod template may carry (its name and namespace come from the owner)."""

    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class PodTemplateSpec:
    metadata: TemplateMeta
    spec: PodSpec


@attrs.frozen
class ReplicaSetSpec:
    selector: LabelSelector
    template: PodTemplateSpec
    replicas: int = 1
    min_ready_seconds: int = 0


@attrs.frozen
class ReplicaSet:
    metadata: ObjectMeta
    spec: ReplicaSetSpec
    api_version: str = "apps/v1"
    kind: str = "ReplicaSet"


@attrs.frozen
class IntOrPercent:
    """`maxSurge: 1` or `maxSurge: "25%"`: an absolute count or a share of the replicas."""

    value: int
    percent: bool = False

    def scaled(self, total: int, *, round_up: bool) -> int:
        if not self.percent:
            return self.value
        exact = self.value * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


class StrategyType(enum.StrEnum):
    ROLLING_UPDATE = "RollingUpdate"
    RECREATE = "Recreate"


@attrs.frozen
class RollingUpdate:
    max_surge: IntOrPercent = IntOrPercent(25, percent=True)
    max_unavailable: IntOrPercent = IntOrPercent(25, percent=True)


@attrs.frozen
class DeploymentStrategy:
    type: StrategyType = StrategyType.ROLLING_UPDATE
    rolling_update: RollingUpdate | None = None

    def surge_and_unavailable(self, replicas: int) -> tuple[int, int]:
        """Kubernetes' rounding: surge up, unavailable down; both 0 makes unavailable 1."""
        rolling = self.rolling_update or RollingUpdate()
        surge = rolling.max_surge.scaled(replicas, round_up=True)
        unavailable = rolling.max_unavailable.scaled(replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        return surge, unavailable


@attrs.frozen
class DeploymentSpec:
    selector: LabelSelector
    template: PodTemplateSpec
    replicas: int = 1
    strategy: DeploymentStrategy = DeploymentStrategy()
    min_ready_seconds: int = 0
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600


@attrs.frozen
class Deployment:
    metadata: ObjectMeta
    spec: DeploymentSpec
    api_version: str = "apps/v1"
    kind: str = "Deployment"


Workload = ReplicaSet | Deployment
