"""The atomic writer of configMap and secret volumes: the kubelet's `..data` layout and swap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller.engine.projection import DATA_LINK, read_projection, write_projection


def test_layout_is_the_kubelets(tmp_path: Path) -> None:
    folder = str(tmp_path / "vol")
    assert write_projection(folder, {"a": (b"1", 0o644), "dir/b": (b"2", 0o400)})
    assert os.readlink(os.path.join(folder, "a")) == f"{DATA_LINK}/a"
    assert os.readlink(os.path.join(folder, "dir")) == f"{DATA_LINK}/dir"
    version = os.readlink(os.path.join(folder, DATA_LINK))
    assert version.startswith("..")
    assert (tmp_path / "vol" / "dir" / "b").read_bytes() == b"2"
    assert os.stat(os.path.join(folder, "dir", "b")).st_mode & 0o777 == 0o400


def test_an_update_swaps_the_version_and_drops_what_went(tmp_path: Path) -> None:
    folder = str(tmp_path / "vol")
    write_projection(folder, {"a": (b"1", 0o644), "old": (b"x", 0o644)})
    first = os.readlink(os.path.join(folder, DATA_LINK))
    assert write_projection(folder, {"a": (b"2", 0o644)})
    second = os.readlink(os.path.join(folder, DATA_LINK))
    assert second != first
    assert sorted(os.listdir(folder)) == sorted([DATA_LINK, second, "a"])  # old version gone
    assert (tmp_path / "vol" / "a").read_bytes() == b"2"
    assert read_projection(folder) == {"a": (b"2", 0o644)}


def test_the_same_files_again_change_nothing(tmp_path: Path) -> None:
    folder = str(tmp_path / "vol")
    write_projection(folder, {"a": (b"1", 0o644)})
    version = os.readlink(os.path.join(folder, DATA_LINK))
    assert not write_projection(folder, {"a": (b"1", 0o644)})
    assert os.readlink(os.path.join(folder, DATA_LINK)) == version


def test_a_reader_holding_the_old_file_keeps_reading_it_whole(tmp_path: Path) -> None:
    folder = str(tmp_path / "vol")
    write_projection(folder, {"a": (b"old content", 0o644)})
    with open(os.path.join(folder, "a"), "rb") as held:
        write_projection(folder, {"a": (b"new content", 0o644)})
        assert held.read() == b"old content"  # never half old, half new
    assert (tmp_path / "vol" / "a").read_bytes() == b"new content"


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../b", "..data/x", "a//b"])
def test_unsafe_paths_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match="unsafe path"):
        write_projection(str(tmp_path / "vol"), {path: (b"", 0o644)})
