"""Nodes under kube-state-metrics' names, help texts and labels (`kube_node_*`).

Read from the same `NodeView`s the API renders, at scrape time, so the metrics and
`kubectl get nodes` agree. Series: `kube_node_info`, `kube_node_created`, `kube_node_labels`,
`kube_node_spec_taint`, `kube_node_spec_unschedulable`, `kube_node_status_condition` (Ready,
MemoryPressure, DiskPressure, PIDPressure; one-hot over true/false/unknown),
`kube_node_status_capacity` and `kube_node_status_allocatable` (cpu in cores, memory in bytes,
pods as an integer, each once known).

Traps: kube-state-metrics exposes node labels only when allow-listed; Podyard's nodes file is
small and written by the user, so every label is exposed, its name sanitised as ksm does
(`topology.kubernetes.io/zone` -> `label_topology_kubernetes_io_zone`). Nodes differ in their
labels, so `kube_node_labels` samples carry different label names (the exposition format allows
it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from controller.model.nodes import KUBE_VERSION, NodeResources, NodeView

NODE_INFO_LABELS = [
    "node", "kernel_version", "os_image", "container_runtime_version", "kubelet_version",
    "kubeproxy_version", "provider_id", "pod_cidr", "system_uuid", "internal_ip",
]  # fmt: skip
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_STATES = ("true", "false", "unknown")
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """kube-state-metrics' sanitised name of a Kubernetes label key as a Prometheus label."""
    return "label_" + _INVALID.sub("_", key)


def _gauge(name: str, documentation: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def _condition_states(node: NodeView) -> Iterator[tuple[str, str, int]]:
    """(condition, status, value): Ready as the view says, the pressures False (Unknown with an
    Unknown Ready, as the node controller marks them)."""
    for condition in NODE_CONDITIONS:
        if node.ready is None:
            current = "unknown"
        elif condition == "Ready":
            current = "true" if node.ready else "false"
        else:
            current = "false"
        for state in _STATES:
            yield condition, state, int(state == current)


def _resources(resources: NodeResources) -> Iterator[tuple[str, str, float]]:
    if resources.cpu_millis is not None:
        yield "cpu", "core", resources.cpu_millis / 1000
    if resources.memory_bytes is not None:
        yield "memory", "byte", resources.memory_bytes
    if resources.pods is not None:
        yield "pods", "integer", resources.pods


def node_families(nodes: Sequence[NodeView]) -> list[Metric]:
    """Every `kube_node_*` family; labels Podyard has no data for are "" (as in ksm)."""
    info = _gauge("kube_node_info", "Information about a cluster node.", NODE_INFO_LABELS)
    created = _gauge("kube_node_created", "Unix creation timestamp", ["node"])
    labels = Metric(
        "kube_node_labels", "Kubernetes labels converted to Prometheus labels.", "gauge"
    )
    taint = _gauge(
        "kube_node_spec_taint", "The taint of a cluster node.", ["node", "key", "value", "effect"]
    )
    unschedulable = _gauge(
        "kube_node_spec_unschedulable",
        "Whether a node can schedule new pods.",
        ["node"],
    )
    condition = _gauge(
        "kube_node_status_condition",
        "The condition of a cluster node.",
        ["node", "condition", "status"],
    )
    resources = ["node", "resource", "unit"]
    capacity = _gauge(
        "kube_node_status_capacity", "The capacity for different resources of a node.", resources
    )
    allocatable = _gauge(
        "kube_node_status_allocatable",
        "The allocatable for different resources of a node that are available for scheduling.",
        resources,
    )
    for node in nodes:
        engine = node.engine
        runtime = f"docker://{engine.server_version}" if engine and engine.server_version else ""
        info.add_metric(
            [
                node.name,
                engine.kernel_version if engine else "",
                engine.os_image if engine else "",
                runtime,
                KUBE_VERSION,
                "",
                "",
                "",
                "",
                node.host_ip,
            ],
            1,
        )
        created.add_metric([node.name], node.created_at)
        sample = {"node": node.name, **{label_name(k): v for k, v in sorted(node.labels.items())}}
        labels.samples.append(Sample("kube_node_labels", sample, 1))
        for t in node.taints:
            taint.add_metric([node.name, t.key, t.value, str(t.effect)], 1)
        unschedulable.add_metric([node.name], 0)
        for cond, state, value in _condition_states(node):
            condition.add_metric([node.name, cond, state], value)
        for resource, unit, amount in _resources(node.capacity):
            capacity.add_metric([node.name, resource, unit], amount)
        for resource, unit, amount in _resources(node.allocatable):
            allocatable.add_metric([node.name, resource, unit], amount)
    return [info, created, labels, taint, unschedulable, condition, capacity, allocatable]
