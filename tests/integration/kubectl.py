"""The kubectl binary the kubectl tests drive, and the marker that says a test needs it.

Mark a test (or a module, with `pytestmark`) `@pytest.mark.kubectl`. Without kubectl on the PATH
those tests are skipped, and the run says so in its terminal summary (see `conftest.py`): a skip
is never silent, and never counted as a pass.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

KUBECTL = shutil.which("kubectl") or (
    "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
)
"""kubectl's path, or None when it is not installed."""

MISSING = "kubectl is not installed"


def run_kubectl(
    *args: str, server: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """kubectl with `args` (against `server` when given, as `-s`), its output captured."""
    assert KUBECTL is not None, MISSING
    target = ["-s", server] if server else []
    return subprocess.run(
        [KUBECTL, *target, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
