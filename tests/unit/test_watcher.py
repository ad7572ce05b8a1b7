"""The folder source on a real folder: real files, real watchdog, short timers.

Every wait polls the published snapshots with a deadline; nothing sleeps to wait for the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from controller.config import WatchSettings
from controller.model.manifests import RunningObject
from controller.model.meta import ObjectKey
from controller.source import watcher
from controller.source.scan import declared_keys
from controller.source.snapshot import DesiredSnapshot, FileState, HoldReason
from controller.source.watcher import FolderSource

SETTINGS = WatchSettings(
    debounce_seconds=0.05,
    max_delay_seconds=1.0,
    hold_seconds=1.0,
    rescan_seconds=5.0,
    poll_seconds=0.1,
)
DEADLINE = 3.0

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: app
    image: {image}
"""


def pod(name: str, image: str = "nginx:1.27") -> str:
    return POD.format(name=name, image=image)


def images(snapshot: DesiredSnapshot) -> dict[str, str]:
    """Pod name -> image of its first container."""
    found = {}
    for obj in snapshot.objects:
        containers = obj.obj.spec.containers  # type: ignore[union-attr]
        found[obj.key.name] = containers[0].image
    return found


class Watch:
    """A running FolderSource and every snapshot it published, in order."""

    def __init__(self, root: Path, settings: WatchSettings = SETTINGS) -> None:
        self.root = root
        self.published: list[DesiredSnapshot] = []
        self.times: list[float] = []
        self.source = FolderSource(root, settings, self._record)

    def _record(self, snapshot: DesiredSnapshot) -> None:
        self.published.append(snapshot)
        self.times.append(time.monotonic())

    @property
    def last(self) -> DesiredSnapshot:
        return self.published[-1]

    async def until(
        self, check: Callable[[DesiredSnapshot], bool], deadline: float = DEADLINE
    ) -> DesiredSnapshot:
        """The first snapshot published from now on (or the current one) that passes `check`."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.published and check(self.last):
                return self.last
            await asyncio.sleep(0.01)
        last = self.published[-1] if self.published else None
        raise AssertionError(f"no snapshot passed the check within {deadline} s; last: {last}")

    async def images(self, expected: dict[str, str], deadline: float = DEADLINE) -> DesiredSnapshot:
        return await self.until(lambda s: images(s) == expected, deadline)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
async def watch(tmp_path: Path) -> AsyncIterator[Watch]:
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "base.yaml").write_text(pod("base-1") + "---\n" + pod("base-2"), encoding="utf-8")
    running = Watch(root)
    task = asyncio.create_task(running.source.run())
    await running.images({"base-1": "nginx:1.27", "base-2": "nginx:1.27"})
    yield running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


BASE = {"base-1": "nginx:1.27", "base-2": "nginx:1.27"}


async def test_first_scan_is_published_and_snapshot_returns_it(watch: Watch) -> None:
    assert len(watch.published) == 1
    assert watch.source.snapshot() == watch.last
    assert watch.last.errors == ()
    assert watch.last.files["base.yaml"].state is FileState.OK
    assert watch.last.files["base.yaml"].objects == 2


async def test_create_edit_delete(watch: Watch) -> None:
    path = watch.write("web.yaml", pod("web"))
    created = await watch.images({**BASE, "web": "nginx:1.27"})
    assert [o.file for o in created.objects if o.key.name == "web"] == [Path("web.yaml")]
    watch.write("web.yaml", pod("web", "nginx:1.28"))
    await watch.images({**BASE, "web": "nginx:1.28"})
    path.unlink()
    await watch.images(BASE)


async def test_a_rewrite_with_the_same_content_publishes_nothing(
    watch: Watch, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[bool] = []
    real_advance = watcher.advance

    def counted(*args: Any, **kwargs: Any) -> Any:
        scans.append(True)  # the publication, if any, follows in the same step of the loop
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(watcher, "advance", counted)
    base = watch.root / "base.yaml"
    base.write_text(base.read_text(encoding="utf-8"), encoding="utf-8")  # events, no change
    end = time.monotonic() + DEADLINE
    while not scans and time.monotonic() < end:
        await asyncio.sleep(0.01)
    assert scans  # the events caused a rescan...
    assert len(watch.published) == 1  # ... which found nothing new to publish


async def test_rename_over_save(watch: Watch) -> None:
    watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    temp = watch.write(".web.yaml.tmp", pod("web", "nginx:1.28"))
    os.replace(temp, watch.root / "web.yaml")
    await watch.images({**BASE, "web": "nginx:1.28"})


async def test_copy_in(watch: Watch, tmp_path: Path) -> None:
    outside = tmp_path / "web.yaml"
    outside.write_text(pod("web"), encoding="utf-8")
    shutil.copy(outside, watch.root / "web.yaml")
    await watch.images({**BASE, "web": "nginx:1.27"})


async def test_move_in_from_outside_the_folder(watch: Watch, tmp_path: Path) -> None:
    outside = tmp_path / "staging" / "web.yaml"
    outside.parent.mkdir()
    outside.write_text(pod("web"), encoding="utf-8")
    os.rename(outside, watch.root / "web.yaml")
    await watch.images({**BASE, "web": "nginx:1.27"})


async def test_sed_in_place(watch: Watch) -> None:
    path = watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    # what `sed -i` does: write the result to a new file in the same folder, rename it over
    scratch = watch.root / "sedAbC123"
    scratch.write_text(path.read_text(encoding="utf-8").replace("1.27", "1.29"), encoding="utf-8")
    os.rename(scratch, path)
    await watch.images({**BASE, "web": "nginx:1.29"})


async def test_a_file_written_in_chunks_is_published_once_with_its_final_content(
    watch: Watch,
) -> None:
    watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    final = pod("web", "nginx:1.30") + "---\n" + pod("api", "nginx:1.30")
    third = len(final) // 3
    with (watch.root / "web.yaml").open("w", encoding="utf-8") as stream:
        for chunk in (final[:third], final[third : 2 * third], final[2 * third :]):
            stream.write(chunk)
            stream.flush()
            await asyncio.sleep(0.05)  # the writer's pace, not a wait for the watcher
    wanted = {**BASE, "web": "nginx:1.30", "api": "nginx:1.30"}
    await watch.images(wanted)
    watch.write("marker.yaml", pod("marker"))  # once it shows, every earlier event was handled
    await watch.until(lambda s: "marker" in images(s))
    before_marker = [s for s in watch.published if "marker" not in images(s)]
    assert sum(images(s) == wanted for s in before_marker) == 1
    assert watch.last.errors == ()


async def test_a_file_written_without_pause_is_still_applied_every_max_delay(watch: Watch) -> None:
    path = watch.write("web.yaml", pod("web", "busy:0"))
    await watch.images({**BASE, "web": "busy:0"})
    start = time.monotonic()
    version = 0
    while time.monotonic() - start < 1.6:  # a write every 20 ms: never quiet for the debounce
        version += 1
        temp = watch.write(".web.yaml.tmp", pod("web", f"busy:{version}"))
        os.replace(temp, path)
        await asyncio.sleep(0.02)  # the writer's pace, not a wait for the watcher
    stopped = time.monotonic()
    during = [
        images(s)["web"]
        for s, at in zip(watch.published, watch.times, strict=True)
        if start < at < stopped
    ]
    assert during  # applied at least once while the writes went on (max_delay_seconds is 1 s)
    assert all(tag not in {"busy:0", f"busy:{version}"} for tag in during)
    await watch.images({**BASE, "web": f"busy:{version}"})


async def test_an_emptied_file_is_held_then_applied(watch: Watch) -> None:
    path = watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    path.write_text("# nothing here for now\n", encoding="utf-8")
    emptied = time.monotonic()
    held = await watch.until(lambda s: bool(s.holds))
    assert "web" in images(held)
    assert [h.reason for h in held.holds] == [HoldReason.EMPTY_FILE]
    assert held.notices[0].startswith("web.yaml is empty: keeping its 1 object(s) for ")
    assert held.files["web.yaml"].state is FileState.HELD
    applied = await watch.images(BASE)
    assert time.monotonic() - emptied >= SETTINGS.hold_seconds
    assert applied.holds == ()


async def test_a_deleted_folder_is_held_then_applied(watch: Watch) -> None:
    watch.write("team/web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    shutil.rmtree(watch.root / "team")
    deleted = time.monotonic()
    held = await watch.until(lambda s: bool(s.holds))
    assert "web" in images(held)
    assert [h.reason for h in held.holds] == [HoldReason.FOLDER_GONE]
    assert "folder team is gone or unreadable" in held.notices[0]
    await watch.images(BASE)
    assert time.monotonic() - deleted >= SETTINGS.hold_seconds


async def test_a_broken_file_keeps_its_last_good_objects(watch: Watch) -> None:
    path = watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    path.write_text(pod("web").replace("    image: nginx:1.27\n", ""), encoding="utf-8")
    broken = await watch.until(lambda s: bool(s.errors))
    assert images(broken) == {**BASE, "web": "nginx:1.27"}
    assert [str(e) for e in broken.errors] == [
        "web.yaml:7: spec.containers[0].image: Required value"
    ]
    assert broken.files["web.yaml"].state is FileState.INVALID
    path.write_text(pod("web", "nginx:1.28"), encoding="utf-8")
    fixed = await watch.images({**BASE, "web": "nginx:1.28"})
    assert fixed.errors == ()


async def test_a_broken_document_keeps_its_object_while_the_others_apply(watch: Watch) -> None:
    path = watch.write("app.yaml", "---\n".join([pod("web"), pod("api"), pod("cache")]))
    await watch.images({**BASE, "web": "nginx:1.27", "api": "nginx:1.27", "cache": "nginx:1.27"})
    # web edited, api broken (its name still readable), cache's document deleted
    broken_api = pod("api").replace("image: nginx:1.27", "image: 3")
    path.write_text(pod("web", "nginx:1.28") + "---\n" + broken_api, encoding="utf-8")
    snapshot = await watch.until(lambda s: bool(s.errors))
    assert images(snapshot) == {**BASE, "web": "nginx:1.28", "api": "nginx:1.27"}
    [error] = snapshot.errors
    assert (error.line, error.path) == (17, "spec.containers[0].image")


async def test_a_syntax_error_is_reported_with_its_line_and_other_documents_apply(
    watch: Watch,
) -> None:
    watch.write("web.yaml", pod("web") + "---\nkind: [\n---\n" + pod("api"))
    snapshot = await watch.images({**BASE, "web": "nginx:1.27", "api": "nginx:1.27"})
    [error] = snapshot.errors
    assert error.file == Path("web.yaml")
    assert error.line == 10  # the `kind: [` line
    assert "YAML syntax error" in error.message


async def test_a_duplicate_name_stays_with_its_first_owner(watch: Watch) -> None:
    watch.write("web.yaml", pod("web"))
    await watch.images({**BASE, "web": "nginx:1.27"})
    watch.write("0-copy.yaml", pod("web", "nginx:1.28"))  # sorts first, came second
    conflict = await watch.until(lambda s: bool(s.errors))
    assert images(conflict)["web"] == "nginx:1.27"
    [error] = conflict.errors
    assert error.file == Path("0-copy.yaml")
    assert "pod default/web is already declared in web.yaml:1" in error.message
    watch.write("web.yaml", pod("other"))  # the owner lets go: the other file takes over
    handed = await watch.images({**BASE, "web": "nginx:1.28", "other": "nginx:1.27"})
    assert handed.errors == ()


async def test_a_mass_deletion_is_held_then_applied(watch: Watch) -> None:
    for name in ("a", "b", "c", "d"):
        watch.write(f"{name}.yaml", pod(name))
    everything = {**BASE, **dict.fromkeys("abcd", "nginx:1.27")}
    await watch.images(everything)
    for name in ("a", "b", "c", "d"):
        (watch.root / f"{name}.yaml").unlink()
    deleted = time.monotonic()
    held = await watch.until(lambda s: bool(s.holds))
    assert images(held) == everything
    assert held.notices[0].startswith("removing 4 of 6 pod(s) at once is more than 50%")
    await watch.images(BASE)
    assert time.monotonic() - deleted >= SETTINGS.hold_seconds


async def test_the_baseline_holds_a_file_missing_at_start(watch: Watch) -> None:
    assert not watch.last.baselined
    gone = RunningObject(ObjectKey("Pod", "default", "gone"), "gone.yaml", 1)
    kept = RunningObject(ObjectKey("Pod", "default", "base-1"), "base.yaml", 1)
    watch.source.set_baseline([gone, kept])
    held = await watch.until(lambda s: s.baselined)
    assert [(h.reason, h.file, h.keys) for h in held.holds] == [
        (HoldReason.FILE_MISSING, "gone.yaml", (gone.key,))
    ]
    assert held.files["gone.yaml"].state is FileState.HELD
    assert held.files["base.yaml"].state is FileState.OK
    released = await watch.until(lambda s: not s.holds)
    assert released.baselined
    assert "gone.yaml" not in released.files


async def test_a_confirmation_marker_applies_held_deletions_at_once(tmp_path: Path) -> None:
    running = Watch(tmp_path, attrs.evolve(SETTINGS, hold_seconds=60.0))
    for name in ("a", "b", "c"):
        running.write(f"{name}.yaml", pod(name))
    task = asyncio.create_task(running.source.run())
    try:
        await running.images(dict.fromkeys("abc", "nginx:1.27"))
        for name in ("a", "b"):
            (tmp_path / f"{name}.yaml").unlink()
        await running.until(lambda s: bool(s.holds))
        marker = running.write(".podyard-confirm-deletion", "")
        await running.images({"c": "nginx:1.27"})
        assert running.last.holds == ()
        assert running.last.errors == ()
        assert not marker.exists(), "the marker is consumed"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_folder_that_appears_later_is_picked_up(tmp_path: Path) -> None:
    running = Watch(tmp_path / "later")
    task = asyncio.create_task(running.source.run())
    try:
        missing = await running.until(lambda s: bool(s.errors))
        assert missing.objects == ()
        assert [str(e) for e in missing.errors] == [
            ".: the manifests folder does not exist (or is no folder)"
        ]
        running.write("web.yaml", pod("web"))
        ready = await running.images({"web": "nginx:1.27"})
        assert ready.errors == ()
        running.write("web.yaml", pod("web", "nginx:1.28"))  # events flow: the folder is watched
        await running.images({"web": "nginx:1.28"})
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_replaced_root_folder_is_watched_again(watch: Watch) -> None:
    shutil.rmtree(watch.root)
    held = await watch.until(lambda s: bool(s.holds))
    assert images(held) == BASE
    watch.write("base.yaml", pod("base-1") + "---\n" + pod("base-2", "nginx:1.28"))
    await watch.images({"base-1": "nginx:1.27", "base-2": "nginx:1.28"})
    watch.write("web.yaml", pod("web"))
    await watch.images({"base-1": "nginx:1.27", "base-2": "nginx:1.28", "web": "nginx:1.27"})


async def test_a_folder_given_as_a_link_is_watched_and_followed_when_repointed(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    (second / "web.yaml").write_text(pod("web", "nginx:2"), encoding="utf-8")
    link = tmp_path / "current"
    link.symlink_to(first)
    running = Watch(link)
    task = asyncio.create_task(running.source.run())
    try:
        await running.until(lambda s: s.objects == ())
        running.write("web.yaml", pod("web"))  # written through the link, seen by its events
        await running.images({"web": "nginx:1.27"})
        staged = tmp_path / "next"
        staged.symlink_to(second)
        os.replace(staged, link)  # repointed atomically, as Kubernetes does with ..data
        await running.images({"web": "nginx:2"})
        (second / "api.yaml").write_text(pod("api"), encoding="utf-8")
        await running.images({"web": "nginx:2", "api": "nginx:1.27"})
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_without_inotify_the_polling_observer_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_inotify() -> None:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher, "Observer", no_inotify)
    root = tmp_path / "manifests"
    root.mkdir()
    running = Watch(root)
    task = asyncio.create_task(running.source.run())
    try:
        await running.until(lambda s: s.objects == ())
        running.write("web.yaml", pod("web"))
        await running.images({"web": "nginx:1.27"})
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_cancelling_run_stops_the_observer_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    running = Watch(tmp_path)
    task = asyncio.create_task(running.source.run())
    await running.until(lambda s: True)
    assert set(threading.enumerate()) - before  # the observer and its emitter
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert {t for t in set(threading.enumerate()) - before if "asyncio" not in t.name} == set()


def test_declared_keys_reads_names_of_broken_documents() -> None:
    text = pod("web").replace("image: nginx:1.27", "image: 3") + "---\n" + pod("api")
    keys = declared_keys(text)
    assert keys is not None
    assert sorted(k.name for k in keys) == ["api", "web"]
    listed = "kind: List\nitems:\n- kind: Pod\n  metadata: {name: a, namespace: team}\n"
    assert {str(k) for k in declared_keys(listed) or ()} == {"Pod/team/a"}


@pytest.mark.parametrize(
    "text",
    [
        "kind: [\n",  # a syntax error hides every key after it
        "kind: Pod\nmetadata: {}\n",  # no name
        "kind: Pod\nmetadata: {name: 12}\n",  # a name that is not a string
        "- a list\n",
    ],
)
def test_declared_keys_is_none_when_a_key_cannot_be_read(text: str) -> None:
    assert declared_keys(text) is None
