"""Podyard's subPath bind mounts on the host: made from what was opened, released without loss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller.runtime.beneath import open_beneath
from controller.runtime.hostmounts import HostMounts

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    root = tmp_path / "volume"
    (root / "data").mkdir(parents=True)
    (root / "data" / "kept").write_text("user data")
    (root / "config.txt").write_text("setting")
    return root


@pytest.fixture
def mounts(tmp_path: Path) -> HostMounts:
    return HostMounts(str(tmp_path / "subpaths"), "ENGINE1")


def is_mount_point(path: str) -> bool:
    with open("/proc/self/mountinfo") as info:
        return any(line.split()[4] == path for line in info)


def test_the_opened_object_is_bound_even_if_its_path_is_swapped_after(
    volume: Path, mounts: HostMounts
) -> None:
    with open_beneath(str(volume), "data") as opened:
        # A container swaps the directory for a link to the host before the mount is made.
        (volume / "data").rename(volume / "moved")
        (volume / "data").symlink_to("/")
        target = mounts.mount("uid-1", "podyard_c_p_ns_uid-1_0", 0, opened)
    try:
        assert target == os.path.join(mounts.root, "uid-1", "podyard_c_p_ns_uid-1_0", "0")
        assert is_mount_point(target)
        assert os.listdir(target) == ["kept"]
    finally:
        mounts.release("uid-1", "podyard_c_p_ns_uid-1_0")


def test_a_file_is_bound_onto_a_file_and_release_keeps_the_data(
    volume: Path, mounts: HostMounts
) -> None:
    with open_beneath(str(volume), "config.txt") as opened:
        file_target = mounts.mount("uid-1", "name_0", 0, opened)
    with open_beneath(str(volume), "data") as opened:
        dir_target = mounts.mount("uid-1", "name_0", 1, opened)
    assert Path(file_target).read_text() == "setting"
    assert (Path(dir_target) / "kept").read_text() == "user data"

    mounts.release("uid-1", "name_0")
    assert not is_mount_point(file_target)
    assert not os.path.lexists(os.path.join(mounts.root, "uid-1"))  # the pod's folder went too
    assert (volume / "data" / "kept").read_text() == "user data"
    assert (volume / "config.txt").read_text() == "setting"


def test_preparing_again_replaces_the_mount_instead_of_stacking(
    volume: Path, mounts: HostMounts
) -> None:
    (volume / "other").mkdir()
    for sub_path in ("data", "other", "data"):
        with open_beneath(str(volume), sub_path) as opened:
            target = mounts.mount("uid-1", "name_0", 0, opened)
    try:
        with open("/proc/self/mountinfo") as info:
            assert sum(line.split()[4] == target for line in info) == 1
        assert os.listdir(target) == ["kept"]
    finally:
        mounts.release("uid-1", "name_0")


def test_a_sweep_releases_all_but_the_kept(volume: Path, mounts: HostMounts) -> None:
    targets = {}
    for uid, name in (("uid-1", "live_0"), ("uid-1", "dead_0"), ("uid-2", "gone_0")):
        with open_beneath(str(volume), "data") as opened:
            targets[name] = mounts.mount(uid, name, 0, opened)
    try:
        assert sorted(mounts.sweep({"live_0"})) == ["dead_0", "gone_0"]
        assert is_mount_point(targets["live_0"])
        assert not os.path.lexists(targets["dead_0"])
        assert not os.path.lexists(os.path.join(mounts.root, "uid-2"))
        assert (volume / "data" / "kept").read_text() == "user data"
        assert mounts.sweep({"live_0"}) == []
    finally:
        mounts.release("uid-1", "live_0")
    assert mounts.sweep(()) == []
    assert not os.path.lexists(mounts.root)


@pytest.mark.parametrize(("uid", "name"), [("../x", "n"), ("u", ".."), ("u", "a/b"), ("", "n")])
def test_names_that_are_not_one_component_are_refused(
    mounts: HostMounts, uid: str, name: str
) -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        mounts.container_dir(uid, name)


def test_a_stuck_entry_is_left_whole_and_does_not_keep_the_others(
    volume: Path, mounts: HostMounts
) -> None:
    # A target that is no mount point yet has content: never removed recursively.
    stuck = Path(mounts.root) / "uid-1" / "stuck_0" / "0"
    stuck.mkdir(parents=True)
    (stuck / "not ours").write_text("kept")
    with open_beneath(str(volume), "data") as opened:
        target = mounts.mount("uid-2", "gone_0", 0, opened)
    assert mounts.sweep(()) == ["gone_0"]
    assert not os.path.lexists(target)
    assert (stuck / "not ours").read_text() == "kept"
