"""Prometheus metrics: the only package that imports prometheus_client.

State is exported by collectors that read a snapshot at scrape time, so a series disappears by
itself when its object does (a manifest file that is fixed stops being reported as failing, a
deleted pod's series are gone at the next scrape). Served through aiohttp in the event loop, from
a registry of our own (no process-global state, so tests and several controllers in one process
never clash), without `_created` series.

- `manifests`: the folder's own metrics (`podyard_*`).
- `controller`: what the controller does and how long it takes (controller-runtime, client-go
  workqueue and kubelet-style names), pushed by the engine through its metrics sink.
- `objects`: pods, ReplicaSets, Deployments and nodes under kube-state-metrics' names and labels
  (`kube_*`), so dashboards and alert rules written for Kubernetes work unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from controller.metrics.controller import ControllerMetrics
from controller.metrics.manifests import FILE_STATES, ManifestCollector, ManifestFilesSource
from controller.metrics.objects import (
    DeploymentsSource,
    NodesSource,
    ObjectCollector,
    PodsSource,
    ReplicaSetsSource,
)

__all__ = [
    "FILE_STATES",
    "ControllerMetrics",
    "DeploymentsSource",
    "ManifestCollector",
    "ManifestFilesSource",
    "NodesSource",
    "ObjectCollector",
    "PodsSource",
    "ReplicaSetsSource",
    "make_registry",
    "metrics_handler",
]


def make_registry(
    files: ManifestFilesSource,
    *,
    pods: PodsSource | None = None,
    replicasets: ReplicaSetsSource | None = None,
    deployments: DeploymentsSource | None = None,
    nodes: NodesSource | None = None,
    controller: ControllerMetrics | None = None,
) -> CollectorRegistry:
    """A fresh registry; each source is called at every scrape (a missing one exports nothing)."""
    registry = CollectorRegistry(auto_describe=True)
    if controller is not None:
        registry.register(controller)
    registry.register(ManifestCollector(files))
    registry.register(
        ObjectCollector(pods=pods, replicasets=replicasets, deployments=deployments, nodes=nodes)
    )
    return registry


def metrics_handler(
    registry: CollectorRegistry,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving `registry` (content negotiation and gzip included)."""
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = make_aiohttp_handler(registry)
    return handler
