"""The architecture's layers hold: import contracts, and a pure decide core."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
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


def test_import_contracts_hold() -> None:
    """In a child process: import-linter configures logging with `disable_existing_loggers`,
    which would silence the controller's loggers for every test run after this one."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    lint = [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True))",
    ]
    done = subprocess.run(lint, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
