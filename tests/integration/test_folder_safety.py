"""A live folder never hurts what runs: every bad or odd save leaves running pods untouched."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ControllerProcess, docker_cli, eventually
from tests.integration.manifests import pod_yaml, write

GOOD = pod_yaml("steady", 1)


def container_ids(docker_host: str) -> set[str]:
    return set(
        docker_cli(docker_host, "ps", "-q", "--filter", "label=io.podyard.pod.name=steady").split()
    )


@pytest.fixture
def steady(docker_host: str, tmp_path: Path) -> Iterator[tuple[ControllerProcess, Path, set[str]]]:
    folder = tmp_path / "m"
    write(folder, "steady.yaml", GOOD)
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log", "--hold-seconds", "4")
    c.start()
    yield c, folder, set()
    c.stop()


def _rename_over(folder: Path) -> None:
    tmp = folder / ".steady.yaml.swp"
    tmp.write_text(GOOD.replace("app: steady", "app: steady\n    edited: 'no'"))
    os.replace(tmp, folder / "steady.yaml")


def _syntax_error(folder: Path) -> None:
    (folder / "steady.yaml").write_text(GOOD.replace("containers:", "containers: [oops"))


def _schema_error(folder: Path) -> None:
    (folder / "steady.yaml").write_text(GOOD.replace("image:", "imag:"))


def _empty(folder: Path) -> None:
    (folder / "steady.yaml").write_text("")


def _duplicate(folder: Path) -> None:
    write(
        folder,
        "zz-duplicate.yaml",
        GOOD.replace("terminationGracePeriodSeconds: 2", "terminationGracePeriodSeconds: 9"),
    )


def _billion_laughs(folder: Path) -> None:
    lol = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lol += f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    write(folder, "lol.yaml", lol)


def _huge(folder: Path) -> None:
    write(folder, "huge.yaml", "# " + "x" * (10 * 1024 * 1024) + "\n")


def _symlink_out(folder: Path) -> None:
    outside = folder.parent / "outside.yaml"
    outside.write_text(pod_yaml("intruder", 1))
    (folder / "link.yaml").symlink_to(outside)


def _non_utf8(folder: Path) -> None:
    (folder / "latin1.yaml").write_bytes(GOOD.replace("steady", "st\xe9ady").encode("latin-1"))


def _chunked(folder: Path) -> None:
    with (folder / "steady.yaml").open("w") as f:
        for part in (GOOD[:40], GOOD[40:120], GOOD[120:]):
            f.write(part)
            f.flush()


def _sed_in_place(folder: Path) -> None:
    subprocess.run(
        ["sed", "-i", "s/app: steady/app: steady/", str(folder / "steady.yaml")], check=True
    )


def _deleted_folder(folder: Path) -> None:
    shutil.rmtree(folder)


CASES: dict[str, Callable[[Path], None]] = {
    "rename-over save": _rename_over,
    "chunked write": _chunked,
    "sed -i": _sed_in_place,
    "syntax error": _syntax_error,
    "schema error": _schema_error,
    "empty file": _empty,
    "duplicate name": _duplicate,
    "billion laughs": _billion_laughs,
    "10 MiB file": _huge,
    "symlink out of the folder": _symlink_out,
    "non-UTF-8": _non_utf8,
    "deleted folder": _deleted_folder,
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_running_pods_are_untouched(
    case: str, docker_host: str, steady: tuple[ControllerProcess, Path, set[str]]
) -> None:
    c, folder, _ = steady
    before = await eventually(
        lambda: len(container_ids(docker_host)) == 2 and container_ids(docker_host),
        timeout=60,
        what="steady running",
    )
    CASES[case](folder)
    # Give the watcher time to see it (debounce 0.2 s) and rescan; held changes wait 4 s.
    for _ in range(30):
        assert container_ids(docker_host) == before, f"{case}: running pod was touched"
        await asyncio.sleep(0.1)
    log = c.log_text()
    assert "intruder" not in {p["metadata"]["name"] for p in c.get("/api/v1/pods")["items"]}
    if case in (
        "syntax error",
        "schema error",
        "billion laughs",
        "10 MiB file",
        "non-UTF-8",
        "duplicate name",
    ):
        assert "manifest:" in log, f"{case}: no error reported"
    if case in ("syntax error", "schema error"):
        files = {f["file"]: f for f in c.get("/podyard/v1/files")["items"]}
        assert files["steady.yaml"]["state"] == "invalid"
        assert files["steady.yaml"]["objects"] == 1  # its last good pod is kept
        assert files["steady.yaml"]["errors"]
        with urllib.request.urlopen(c.server + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'podyard_manifest_file_errors{file="steady.yaml"}' in metrics
        assert 'podyard_manifest_files{state="invalid"} 1.0' in metrics
    if case == "symlink out of the folder":
        assert "ignored" in log, "the link out of the folder was not reported"
    if case in ("empty file", "deleted folder"):
        assert "held back" in log, f"{case}: not reported as held back"
        # ... and applied once the grace period is over
        await eventually(
            lambda: not container_ids(docker_host),
            timeout=30,
            what=f"{case} applied after the hold",
        )
