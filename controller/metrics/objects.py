"""Object state under kube-state-metrics' names, help texts and labels (`kube_*`).

One collector reads the engine's snapshots (pod, ReplicaSet and Deployment views, node statuses)
at every scrape, so a deleted object's series are simply absent from the next scrape. Values follow
kube-state-metrics: timestamps in Unix seconds, CPU in cores, memory in bytes, one-hot gauges with
every state listed (exactly one is 1), and `<none>` in the owner labels of an object without owner.

Nodes' families live in `nodes`, read from the same node views as the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from controller.metrics.nodes import node_families
from controller.model.nodes import NodeView
from controller.model.pod import ResourceList
from controller.model.status import (
    ConditionType,
    ContainerState,
    PodPhase,
    PodView,
    Running,
    Terminated,
    Waiting,
)
from controller.model.workload_status import DeploymentView, OwnerRef, ReplicaSetView

PodsSource = Callable[[], Sequence[PodView]]
ReplicaSetsSource = Callable[[], Sequence[ReplicaSetView]]
DeploymentsSource = Callable[[], Sequence[DeploymentView]]
NodesSource = Callable[[], Sequence[NodeView]]

NONE = "<none>"
"""kube-state-metrics' value for the owner labels of an object that has no owner."""

POD = ["namespace", "pod", "uid"]
CONTAINER = [*POD, "container"]
REPLICASET = ["namespace", "replicaset"]
DEPLOYMENT = ["namespace", "deployment"]
OWNER = ["owner_kind", "owner_name", "owner_is_controller"]
BOOL_STATES = ("true", "false", "unknown")


def _gauge(name: str, documentation: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _one_hot(value: bool | None) -> Iterator[tuple[str, int]]:
    """`true`, `false`, `unknown` with exactly one of them 1 (None is unknown)."""
    current = "unknown" if value is None else ("true" if value else "false")
    for state in BOOL_STATES:
        yield state, int(state == current)


def _owner(text: str) -> list[str]:
    """Owner labels from `Kind/name` (an owner written by Podyard is always the controller)."""
    ref = OwnerRef.parse(text) if text else None
    return [ref.kind, ref.name, "true"] if ref is not None else [NONE, NONE, NONE]


def _docker_id(container_id: str) -> str:
    if not container_id:
        return ""
    return container_id if "://" in container_id else f"docker://{container_id}"


def _flag(state: ContainerState | None, kind: type) -> int:
    return int(isinstance(state, kind))


class ObjectCollector(Collector):
    """The kube-state-metrics families for whichever snapshot sources are given."""

    def __init__(
        self,
        *,
        pods: PodsSource | None = None,
        replicasets: ReplicaSetsSource | None = None,
        deployments: DeploymentsSource | None = None,
        nodes: NodesSource | None = None,
    ) -> None:
        self._pods = pods
        self._replicasets = replicasets
        self._deployments = deployments
        self._nodes = nodes

    def describe(self) -> Iterable[Metric]:
        """The families without samples: registering reads no snapshot (the engine may not run)."""
        return self._families([], [], [], [])

    def collect(self) -> Iterable[Metric]:
        return self._families(
            self._pods() if self._pods else [],
            self._replicasets() if self._replicasets else [],
            self._deployments() if self._deployments else [],
            self._nodes() if self._nodes else [],
        )

    def _families(
        self,
        pods: Sequence[PodView],
        replicasets: Sequence[ReplicaSetView],
        deployments: Sequence[DeploymentView],
        nodes: Sequence[NodeView],
    ) -> list[Metric]:
        families: list[Metric] = []
        if self._pods:
            families += pod_families(pods)
        if self._replicasets:
            families += replicaset_families(replicasets)
        if self._deployments:
            families += deployment_families(deployments)
        if self._nodes:
            families += node_families(nodes)
        return families


def pod_families(views: Sequence[PodView]) -> list[Metric]:
    info = _gauge(
        "kube_pod_info",
        "Information about pod.",
        [*POD, "host_ip", "pod_ip", "node", "created_by_kind", "created_by_name",
         "priority_class", "host_network"],
    )  # fmt: skip
    phase = _gauge("kube_pod_status_phase", "The pods current phase.", [*POD, "phase"])
    ready = _gauge(
        "kube_pod_status_ready",
        "Describes whether the pod is ready to serve requests.",
        [*POD, "condition"],
    )
    created = _gauge("kube_pod_created", "Unix creation timestamp.", POD)
    start_time = _gauge("kube_pod_start_time", "Start time in unix timestamp for a pod.", POD)
    owner = _gauge("kube_pod_owner", "Information about the Pod's owner.", [*POD, *OWNER])
    restart_policy = _gauge(
        "kube_pod_restart_policy",
        "Describes the restart policy in use by this pod.",
        [*POD, "type"],
    )
    container_info = _gauge(
        "kube_pod_container_info",
        "Information about a container in a pod.",
        [*CONTAINER, "image_spec", "image", "image_id", "container_id"],
    )
    restarts = CounterMetricFamily(
        "kube_pod_container_status_restarts",
        "The number of container restarts per container.",
        labels=CONTAINER,
    )
    c_ready = _gauge(
        "kube_pod_container_status_ready",
        "Describes whether the containers readiness check succeeded.",
        CONTAINER,
    )
    running = _gauge(
        "kube_pod_container_status_running",
        "Describes whether the container is currently in running state.",
        CONTAINER,
    )
    waiting = _gauge(
        "kube_pod_container_status_waiting",
        "Describes whether the container is currently in waiting state.",
        CONTAINER,
    )
    terminated = _gauge(
        "kube_pod_container_status_terminated",
        "Describes whether the container is currently in terminated state.",
        CONTAINER,
    )
    waiting_reason = _gauge(
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state.",
        [*CONTAINER, "reason"],
    )
    terminated_reason = _gauge(
        "kube_pod_container_status_terminated_reason",
        "Describes the reason the container is currently in terminated state.",
        [*CONTAINER, "reason"],
    )
    last_terminated_reason = _gauge(
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        [*CONTAINER, "reason"],
    )
    requests = _gauge(
        "kube_pod_container_resource_requests",
        "The number of requested request resource by a container.",
        [*CONTAINER, "node", "resource", "unit"],
    )
    limits = _gauge(
        "kube_pod_container_resource_limits",
        "The number of requested limit resource by a container.",
        [*CONTAINER, "node", "resource", "unit"],
    )

    for view in views:
        meta = view.pod.metadata
        uid = str(view.ref.uid) if view.ref else ""
        node = str(view.node) if view.node else ""
        status = view.status
        pod = [meta.namespace, meta.name, uid]
        owner_labels = _owner(view.owner)
        info.add_metric(
            [*pod, status.host_ip or "", status.pod_ip or "", node, owner_labels[0],
             owner_labels[1], "", "false"],
            1,
        )  # fmt: skip
        for p in PodPhase:
            phase.add_metric([*pod, p.value], int(status.phase == p))
        ready_condition = next(
            (c for c in status.conditions if c.type == ConditionType.READY), None
        )
        if ready_condition is not None:
            for state, value in _one_hot(ready_condition.status):
                ready.add_metric([*pod, state], value)
        if view.created_at is not None:
            created.add_metric(pod, view.created_at)
        if status.start_time is not None:
            start_time.add_metric(pod, status.start_time)
        owner.add_metric([*pod, *owner_labels], 1)
        restart_policy.add_metric([*pod, view.pod.spec.restart_policy.value], 1)

        specs = {c.name: c for c in view.pod.spec.containers}
        for cs in status.container_statuses:
            labels = [*pod, cs.name]
            spec = specs.get(cs.name)
            container_info.add_metric(
                [*labels, spec.image if spec else cs.image, cs.image, cs.image_id,
                 _docker_id(cs.container_id)],
                1,
            )  # fmt: skip
            restarts.add_metric(labels, cs.restart_count)
            c_ready.add_metric(labels, int(cs.ready))
            running.add_metric(labels, _flag(cs.state, Running))
            waiting.add_metric(labels, _flag(cs.state, Waiting))
            terminated.add_metric(labels, _flag(cs.state, Terminated))
            if isinstance(cs.state, Waiting) and cs.state.reason:
                waiting_reason.add_metric([*labels, cs.state.reason], 1)
            if isinstance(cs.state, Terminated) and cs.state.reason:
                terminated_reason.add_metric([*labels, cs.state.reason], 1)
            if isinstance(cs.last_state, Terminated) and cs.last_state.reason:
                last_terminated_reason.add_metric([*labels, cs.last_state.reason], 1)
        for spec in view.pod.spec.containers:
            labels = [*pod, spec.name, node]
            _add_resources(requests, labels, spec.resources.effective_requests())
            _add_resources(limits, labels, spec.resources.limits)

    return [
        info, phase, ready, created, start_time, owner, restart_policy, container_info, restarts,
        c_ready, running, waiting, terminated, waiting_reason, terminated_reason,
        last_terminated_reason, requests, limits,
    ]  # fmt: skip


def _add_resources(family: GaugeMetricFamily, labels: list[str], resources: ResourceList) -> None:
    """cpu in cores, memory in bytes (kube-state-metrics' units)."""
    if resources.cpu is not None:
        family.add_metric([*labels, "cpu", "core"], float(resources.cpu.value))
    if resources.memory is not None:
        family.add_metric([*labels, "memory", "byte"], float(resources.memory.value))


def replicaset_families(views: Sequence[ReplicaSetView]) -> list[Metric]:
    spec_replicas = _gauge(
        "kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet.", REPLICASET
    )
    replicas = _gauge(
        "kube_replicaset_status_replicas", "The number of replicas per ReplicaSet.", REPLICASET
    )
    ready = _gauge(
        "kube_replicaset_status_ready_replicas",
        "The number of ready replicas per ReplicaSet.",
        REPLICASET,
    )
    fully_labeled = _gauge(
        "kube_replicaset_status_fully_labeled_replicas",
        "The number of fully labeled replicas per ReplicaSet.",
        REPLICASET,
    )
    observed = _gauge(
        "kube_replicaset_status_observed_generation",
        "The generation observed by the ReplicaSet controller.",
        REPLICASET,
    )
    generation = _gauge(
        "kube_replicaset_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
        REPLICASET,
    )
    created = _gauge("kube_replicaset_created", "Unix creation timestamp.", REPLICASET)
    owner = _gauge(
        "kube_replicaset_owner", "Information about the ReplicaSet's owner.", [*REPLICASET, *OWNER]
    )
    for view in views:
        meta = view.replicaset.metadata
        labels = [meta.namespace, meta.name]
        spec_replicas.add_metric(labels, view.replicaset.spec.replicas)
        replicas.add_metric(labels, view.status.replicas)
        ready.add_metric(labels, view.status.ready_replicas)
        fully_labeled.add_metric(labels, view.status.fully_labeled_replicas)
        observed.add_metric(labels, view.status.observed_generation)
        generation.add_metric(labels, view.generation)
        if view.created_at is not None:
            created.add_metric(labels, view.created_at)
        owner.add_metric([*labels, *_owner(view.owner)], 1)
    return [spec_replicas, replicas, ready, fully_labeled, observed, generation, created, owner]


def deployment_families(views: Sequence[DeploymentView]) -> list[Metric]:
    def gauge(name: str, documentation: str) -> GaugeMetricFamily:
        return _gauge(name, documentation, DEPLOYMENT)

    spec_replicas = gauge(
        "kube_deployment_spec_replicas", "Number of desired pods for a deployment."
    )
    replicas = gauge("kube_deployment_status_replicas", "The number of replicas per deployment.")
    available = gauge(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
    )
    unavailable = gauge(
        "kube_deployment_status_replicas_unavailable",
        "The number of unavailable replicas per deployment.",
    )
    updated = gauge(
        "kube_deployment_status_replicas_updated",
        "The number of updated replicas per deployment.",
    )
    ready = gauge(
        "kube_deployment_status_replicas_ready", "The number of ready replicas per deployment."
    )
    condition = _gauge(
        "kube_deployment_status_condition",
        "The current status conditions of a deployment.",
        [*DEPLOYMENT, "condition", "status"],
    )
    observed = gauge(
        "kube_deployment_status_observed_generation",
        "The generation observed by the deployment controller.",
    )
    generation = gauge(
        "kube_deployment_metadata_generation",
        "Sequence number representing a specific generation of the desired state.",
    )
    created = gauge("kube_deployment_created", "Unix creation timestamp.")
    for view in views:
        meta = view.deployment.metadata
        labels = [meta.namespace, meta.name]
        status = view.status
        spec_replicas.add_metric(labels, view.deployment.spec.replicas)
        replicas.add_metric(labels, status.replicas)
        available.add_metric(labels, status.available_replicas)
        unavailable.add_metric(labels, status.unavailable_replicas)
        updated.add_metric(labels, status.updated_replicas)
        ready.add_metric(labels, status.ready_replicas)
        for cond in status.conditions:
            for state, value in _one_hot(cond.status):
                condition.add_metric([*labels, str(cond.type), state], value)
        observed.add_metric(labels, status.observed_generation)
        generation.add_metric(labels, view.generation)
        if view.created_at is not None:
            created.add_metric(labels, view.created_at)
    return [
        spec_replicas, replicas, available, unavailable, updated, ready, condition, observed,
        generation, created,
    ]  # fmt: skip


__all__ = [
    "DeploymentsSource",
    "NodesSource",
    "ObjectCollector",
    "PodsSource",
    "ReplicaSetsSource",
    "deployment_families",
    "node_families",
    "pod_families",
    "replicaset_families",
]
