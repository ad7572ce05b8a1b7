"""subPath mounts only for an engine that sees them: the peer of the socket shares our mounts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.runtime.docker.subpaths import _engine_namespace_refusal

SERVE = """
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
time.sleep(30)
"""


def test_a_peer_in_this_mount_namespace_is_accepted(tmp_path: Path) -> None:
    path = str(tmp_path / "engine.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        assert _engine_namespace_refusal(path) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="a new mount namespace needs root")
def test_a_peer_in_another_mount_namespace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "engine.sock"
    server = subprocess.Popen(["unshare", "--mount", sys.executable, "-c", SERVE, str(path)])
    try:
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, "the server in its own namespace did not listen"
            time.sleep(0.02)
        refusal = _engine_namespace_refusal(str(path))
        assert refusal is not None
        assert "subPath needs the Docker engine in Podyard's own mount namespace" in refusal
    finally:
        server.kill()
        server.wait()
