"""Idle benchmark: what a settled controller costs while nothing changes.

Two measurements, each printed as a table row:

- real: N pods (pause + 2 containers each, default 200) brought up by `podyard run` on a private
  engine, one Pod file per pod. Once the API reports every pod Running and ready, the bench waits
  `--settle` seconds, then samples /proc for `--window` seconds (default 60): the controller's CPU
  (utime + stime) as a percentage of one core, its RSS (VmRSS) at the end, and the private
  dockerd's CPU over the same window for comparison. No API client is connected meanwhile.
  `--windows` (default 3) such windows follow each other; each is printed, then their median
  (one window moves by a tenth of a percent from run to run).
- fake: `--fake N` pods (default 1,000) run by the whole `podyard run` composition (API, folder,
  leases, engine) in a child process whose Docker runtimes are the in-memory fake; its RSS once
  every pod runs, and its CPU over the window.

`--profile FILE` attaches py-spy (if installed) to the real controller during the first window
and writes its flame graph. Run `.venv/bin/python bench/idle.py` (or `--pods 50 --window 30`, `--skip-real`,
`--skip-fake`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.runtime.localimages import build_local_images_on  # noqa: E402
from tests.integration.dockerd import (  # noqa: E402
    PAUSE_IMAGE,
    start_private_dockerd,
)
from tests.integration.harness import free_port  # noqa: E402
from tests.integration.manifests import QUIET_IDLE, pod_yaml  # noqa: E402

NODE = "bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _all_running(server: str, expected: int) -> bool:
    try:
        with urllib.request.urlopen(f"{server}/api/v1/pods", timeout=120) as response:
            pods = json.load(response)["items"]
    except OSError:
        return False
    return len(pods) == expected and all(
        p["status"]["phase"] == "Running"
        and all(s["ready"] for s in p["status"].get("containerStatuses", []))
        for p in pods
    )


def _wait_running(proc: subprocess.Popen[bytes], server: str, pods: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        asked = time.monotonic()
        if _all_running(server, pods):
            return
        if proc.poll() is not None:
            raise RuntimeError("the controller exited early")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every pod Running after {timeout:.0f}s")
        # a list of every pod is work for the controller too: ask rarely while it is busy
        time.sleep(min(30.0, max(2.0, 5 * (time.monotonic() - asked))))


def _sample(pids: list[int], window: float) -> list[float]:
    """Each process's CPU over the window, as a percentage of one core."""
    before = [cpu_seconds(p) for p in pids]
    started = time.monotonic()
    time.sleep(window)
    took = time.monotonic() - started
    return [100 * (cpu_seconds(p) - b) / took for p, b in zip(pids, before, strict=True)]


def _nodes_file(where: Path, docker_host: str) -> Path:
    """One node with room for every pod (the kubelet's default max-pods is 110)."""
    path = where / "nodes.yaml"
    path.write_text(
        f"nodes:\n- name: {NODE}\n  dockerHost: {json.dumps(docker_host)}\n"
        "  capacity: {pods: 100000}\n"
    )
    return path


def _dockerd_pid(docker_host: str) -> int:
    pidfile = Path(docker_host.removeprefix("unix://")).parent / "docker.pid"
    return int(pidfile.read_text().strip())


def real(pods: int, settle: float, window: float, windows: int, profile: str | None) -> None:
    engine = start_private_dockerd(name_prefix="i")
    host = engine.docker_host
    try:
        asyncio.run(build_local_images_on(host, demo=True))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "manifests"
            folder.mkdir()
            for i in range(pods):
                (folder / f"p{i}.yaml").write_text(pod_yaml(f"p{i}", command=QUIET_IDLE))
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                "controller",
                "run",
                "--manifests",
                str(folder),
                "--listen",
                f"127.0.0.1:{port}",
                "--nodes",
                str(_nodes_file(Path(tmp), host)),
                "--pause-image",
                PAUSE_IMAGE,
                "--log-level",
                "WARNING",
                # a busy engine answers a lease renewal late while it creates hundreds of
                # containers on a shared host; this bench measures idling, not that
                "--lease-duration",
                "600",
                "--lease-renew-deadline",
                "500",
            ]
            proc = subprocess.Popen(argv, cwd=ROOT)
            try:
                _wait_running(proc, f"http://127.0.0.1:{port}", pods, timeout=60 + pods * 3)
                time.sleep(settle)
                spy = None
                spy_bin = shutil.which("py-spy")
                if profile and spy_bin:
                    kind = "raw" if profile.endswith(".txt") else "flamegraph"
                    spy = subprocess.Popen(
                        [
                            spy_bin,
                            "record",
                            "-p",
                            str(proc.pid),
                            "-d",
                            str(int(window)),
                            "-r",
                            "200",
                            "-f",
                            kind,
                            "-o",
                            profile,
                            "--nonblocking",
                        ],
                    )
                dockerd = _dockerd_pid(host)
                samples = []
                for n in range(windows):
                    controller_cpu, dockerd_cpu = _sample([proc.pid, dockerd], window)
                    rss = rss_mib(proc.pid)
                    samples.append((controller_cpu, rss, dockerd_cpu))
                    # printed now: tearing 3 x N containers down takes minutes on a busy host
                    figures = (f"{controller_cpu:.2f}", f"{rss:.0f}", f"{dockerd_cpu:.2f}")
                    _print_row((f"real {n + 1}", str(pods), *figures))
                if windows > 1:
                    cpu, rss, dockerd_cpu = (
                        statistics.median(column) for column in zip(*samples, strict=True)
                    )
                    _print_row(
                        ("median", str(pods), f"{cpu:.2f}", f"{rss:.0f}", f"{dockerd_cpu:.2f}")
                    )
                if spy is not None:
                    spy.wait(timeout=60)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    finally:
        engine.stop()  # its containers, data and folder go with it


def fake(pods: int, window: float) -> tuple[str, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "manifests"
        folder.mkdir()
        for i in range(pods):
            (folder / f"p{i}.yaml").write_text(pod_yaml(f"p{i}", command=QUIET_IDLE))
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "idlefake.py"), str(folder), str(port)],
            cwd=ROOT,
        )
        try:
            _wait_running(proc, f"http://127.0.0.1:{port}", pods, timeout=60 + pods)
            time.sleep(15)
            (cpu,) = _sample([proc.pid], window)
            rss = rss_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return ("fake", str(pods), f"{cpu:.2f}", f"{rss:.0f}", "-")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--fake", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=30.0)
    parser.add_argument(
        "--windows", type=int, default=3, help="consecutive windows on the real engine (median)"
    )
    parser.add_argument("--profile", help="py-spy flame graph of the real controller's window")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-fake", action="store_true")
    args = parser.parse_args()
    _print_row(("runtime", "pods", "controller CPU %", "RSS MiB", "dockerd CPU %"))
    if not args.skip_real:
        real(args.pods, args.settle, args.window, args.windows, args.profile)
    if not args.skip_fake:
        _print_row(fake(args.fake, args.window))
    return 0


def _print_row(row: tuple[str, ...]) -> None:
    widths = (7, 5, 16, 8, 14)
    print(" ".join(f"{cell:>{width}}" for cell, width in zip(row, widths, strict=True)), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
