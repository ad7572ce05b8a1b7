"""The manifest metrics: every state present, failing files as series that vanish when fixed."""

from __future__ import annotations

from prometheus_client import generate_latest

from controller.metrics import make_registry
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
