"""Every document of every sample in manifests/ is valid Kubernetes and valid Podyard.

Kubernetes' own OpenAPI schemas, in their strict form (no field the API does not define), are
bundled by the `kubernetes-validate` package, so this runs offline. The version is pinned to the
Kubernetes release Podyard speaks (KUBERNETES_VERSION). Samples are found by globbing, so a new
file under manifests/ is checked without touching this test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from controller.source.loader import load_file

KUBERNETES_VERSION = "1.32"
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(
    p for p in (ROOT / "manifests").rglob("*") if p.suffix in {".yaml", ".yml", ".json"}
)


def documents(path: Path) -> list[dict[str, Any]]:
    found = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    items: list[dict[str, Any]] = []
    for doc in found:
        assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
        items.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return items


def test_there_are_samples() -> None:
    assert len(SAMPLES) >= 5, SAMPLES


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_strictly_valid_kubernetes(path: Path) -> None:
    docs = documents(path)
    assert docs, f"{path.name} declares nothing"
    for doc in docs:
        name = f"{path.name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(step) for step in exc.path)
            pytest.fail(f"{name}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(f"{name}: {exc.message}")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_accepted_by_podyard(path: Path) -> None:
    loaded, errors = load_file(path, path.relative_to(ROOT / "manifests"))
    assert [str(e) for e in errors] == []
    assert len(loaded) == len(documents(path))
