"""The manifest metrics (every state present, failing files vanish when fixed) and the work queue
gauges read at scrape time."""

from __future__ import annotations

from prometheus_client import generate_latest

from controller.metrics import ControllerMetrics, make_registry
from controller.model.manifests import ManifestFileStatus


def test_manifest_metrics_follow_the_files() -> None:
    files = [
        ManifestFileStatus("a.yaml", "ok", objects=2),
        ManifestFileStatus(
            "b.yaml", "invalid", "syntax error", objects=1, errors=("b.yaml:3: x", "b.yaml:9: y")
        ),
    ]
    registry = make_registry(lambda: files)
    text = generate_latest(registry).decode()
    assert 'podyard_manifest_files{state="ok"} 1.0' in text
    assert 'podyard_manifest_files{state="invalid"} 1.0' in text
    assert 'podyard_manifest_files{state="held"} 0.0' in text
    assert 'podyard_manifest_file_errors{file="b.yaml"} 2.0' in text
    assert "podyard_manifest_objects 3.0" in text
    assert "_created" not in text

    files[1] = ManifestFileStatus("b.yaml", "ok", objects=1)
    text = generate_latest(registry).decode()
    assert "b.yaml" not in text


def test_work_in_progress_gauges_are_read_from_the_queues_at_scrape_time() -> None:
    metrics = ControllerMetrics(["node-a"], now=lambda: 100.0)
    metrics.in_flight = lambda: {"pod": [90.0, 97.0]}
    samples = {
        (s.name, s.labels["controller"]): s.value
        for family in metrics.collect()
        for s in family.samples
        if s.name.startswith("workqueue_")
        and s.name.endswith(("_work_seconds", "_processor_seconds"))
    }
    assert samples[("workqueue_unfinished_work_seconds", "pod")] == 13.0
    assert samples[("workqueue_longest_running_processor_seconds", "pod")] == 10.0
    assert samples[("workqueue_unfinished_work_seconds", "replicaset")] == 0.0  # idle, still there
    assert samples[("workqueue_longest_running_processor_seconds", "deployment")] == 0.0
