"""Manifest folder metrics: files by state, failing files, objects in effect (podyard_*)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

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
