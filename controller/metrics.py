"""Prometheus metrics: the only module that imports prometheus_client.

State is exported by collectors that read a snapshot at scrape time, so a series disappears by
itself when its object does (a manifest file that is fixed stops being reported as failing).
Served through aiohttp in the event loop, from a registry of our own (no process-global state, so
tests and several controllers in one process never clash), without `_created` series.

Metric names follow Prometheus' conventions; this module grows with the controller's metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from controller.model.manifests import ManifestFileStatus

FILE_STATES = ("ok", "invalid", "held")

ManifestFilesSource = Callable[[], list[ManifestFileStatus]]


class ManifestCollector(Collector):
    """Manifest files by state, and one series per failing file (with the file as a label)."""

    def __init__(self, files: ManifestFilesSource) -> None:
        self._files = files

    def collect(self) -> Iterable[Metric]:
        files = self._files()
        by_state = GaugeMetricFamily(
            "podyard_manifest_files",
            "Manifest files in the folder by state: ok, invalid (last good objects kept), held.",
            labels=["state"],
        )
        counts = Counter(f.state for f in files)
        for state in FILE_STATES:  # every known state exists, at 0 too
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        failing = GaugeMetricFamily(
            "podyard_manifest_file_errors",
            "Current problems of a manifest file that fails to load; absent once it is fixed.",
            labels=["file"],
        )
        for f in files:
            if f.errors:
                failing.add_metric([f.file], len(f.errors))
        yield failing
        objects = GaugeMetricFamily(
            "podyard_manifest_objects", "Objects declared by the folder that are in effect."
        )
        objects.add_metric([], sum(f.objects for f in files))
        yield objects


def make_registry(files: ManifestFilesSource) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ManifestCollector(files))
    return registry


def metrics_handler(
    registry: CollectorRegistry,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving `registry` (content negotiation and gzip included)."""
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = make_aiohttp_handler(registry)
    return handler
