"""The subPath resolver on a real directory: what it opens, what it refuses, what it makes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller.runtime.beneath import MAX_SYMLINKS, Escape, open_beneath


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    """A volume with a nested directory and a file, beside a secret outside it."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("host")
    root = tmp_path / "volume"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "file").write_text("data")
    return root


def opened_inode(root: Path, sub_path: str) -> tuple[int, bool]:
    with open_beneath(str(root), sub_path) as opened:
        return os.fstat(opened.fd).st_ino, opened.is_dir


def inode(path: Path) -> int:
    return path.stat().st_ino


def escapes(root: Path, sub_path: str) -> str:
    with pytest.raises(Escape) as refused:
        open_beneath(str(root), sub_path)
    return str(refused.value)


def test_nested_directories_and_a_file_open_as_themselves(volume: Path) -> None:
    assert opened_inode(volume, "a/b") == (inode(volume / "a" / "b"), True)
    assert opened_inode(volume, "./a//b/") == (inode(volume / "a" / "b"), True)
    assert opened_inode(volume, "a/b/file") == (inode(volume / "a" / "b" / "file"), False)


def test_missing_components_are_made_as_directories_inside(volume: Path) -> None:
    found, is_dir = opened_inode(volume, "a/new/deeper")
    assert is_dir
    assert found == inode(volume / "a" / "new" / "deeper")
    assert (volume / "a" / "new" / "deeper").is_dir()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("root", "/"),
        ("up", "../.."),
        ("sibling", "../outside"),
        ("deep_up", "a/b/../../../outside"),
    ],
)
def test_a_symlink_out_of_the_volume_is_an_escape(volume: Path, name: str, target: str) -> None:
    (volume / name).symlink_to(target)
    message = escapes(volume, f"{name}/secret")
    assert message == f'path "{name}/secret" escapes the volume (symlink)'
    assert not (volume.parent / "outside" / "secret" / "x").exists()


def test_an_escape_through_a_nested_link_makes_nothing_outside(volume: Path) -> None:
    (volume / "a" / "b" / "link").symlink_to("../../../outside")
    escapes(volume, "a/b/link/made")
    assert not (volume.parent / "outside" / "made").exists()


def test_a_dangling_link_to_the_host_is_an_escape_not_a_made_directory(
    volume: Path, tmp_path: Path
) -> None:
    (volume / "x").symlink_to(tmp_path / "nowhere")
    escapes(volume, "x")
    assert not (tmp_path / "nowhere").exists()


def test_a_relative_link_inside_the_volume_is_followed(volume: Path) -> None:
    (volume / "a" / "up").symlink_to("../a/b")
    (volume / "short").symlink_to("a/b/file")
    assert opened_inode(volume, "a/up") == (inode(volume / "a" / "b"), True)
    assert opened_inode(volume, "short") == (inode(volume / "a" / "b" / "file"), False)


def test_an_absolute_link_inside_the_volumes_host_path_is_followed(volume: Path) -> None:
    (volume / "abs").symlink_to(volume.resolve() / "a" / "b")
    (volume / "self").symlink_to(volume.resolve())
    assert opened_inode(volume, "abs/file") == (inode(volume / "a" / "b" / "file"), False)
    assert opened_inode(volume, "self/a") == (inode(volume / "a"), True)


def test_a_link_made_missing_inside_is_created_inside(volume: Path) -> None:
    (volume / "later").symlink_to("a/later")
    assert opened_inode(volume, "later") == (inode(volume / "a" / "later"), True)


def test_a_file_in_the_middle_is_refused(volume: Path) -> None:
    assert "not a directory" in escapes(volume, "a/b/file/x")


def test_a_link_loop_ends(volume: Path) -> None:
    (volume / "loop1").symlink_to("loop2")
    (volume / "loop2").symlink_to("loop1")
    assert "too many levels of symlinks" in escapes(volume, "loop1")
    assert MAX_SYMLINKS == 40


@pytest.mark.parametrize(
    ("sub_path", "message"),
    [
        ("/etc", 'path "/etc" must be a relative path inside the volume'),
        ("..", 'path ".." must not contain ".."'),
        ("a/../b", 'path "a/../b" must not contain ".."'),
    ],
)
def test_dot_dot_and_absolute_are_refused_up_front(
    volume: Path, sub_path: str, message: str
) -> None:
    assert escapes(volume, sub_path) == message
    assert not (volume / "b").exists()


def test_the_root_may_itself_be_reached_through_a_link(volume: Path, tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(volume)
    assert opened_inode(tmp_path / "alias", "a/b") == (inode(volume / "a" / "b"), True)
    (volume / "abs").symlink_to(volume.resolve() / "a")  # judged against the real path
    assert opened_inode(tmp_path / "alias", "abs") == (inode(volume / "a"), True)


def test_no_descriptor_is_left_open(volume: Path) -> None:
    (volume / "root").symlink_to("/")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        opened_inode(volume, "a/b/file")
        with pytest.raises(Escape):
            open_beneath(str(volume), "root/etc")
    assert len(os.listdir("/proc/self/fd")) == before
