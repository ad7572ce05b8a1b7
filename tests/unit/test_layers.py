"""The architecture's layers hold: import contracts, and a pure decide core."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ("decide", "model", "serde", "render.py")
IMPURE_MODULES = {
    "asyncio",
    "time",
    "random",
    "aiodocker",
    "aiohttp",
    "socket",
    "subprocess",
    "threading",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _pure_files() -> list[Path]:
    files = []
    for part in PURE:
        target = ROOT / "controller" / part
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return files


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_core_reads_no_clock_and_does_no_io(path: Path) -> None:
    assert not (_imports(path) & IMPURE_MODULES)


def test_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    assert lint_imports(no_cache=True) == 0
