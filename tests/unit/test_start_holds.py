"""Start-time holds: the pods found running are the folder's baseline, as the published set is live.

Pure: `with_baseline` and `advance` with scans built by hand, no folder and no clock.
"""

from __future__ import annotations

from controller.config import WatchSettings
from controller.model.manifests import RunningObject
from controller.model.meta import ObjectKey
from controller.source.safety import WatchState, advance, with_baseline
from controller.source.snapshot import DesiredSnapshot, FileScan, FileState, FolderScan, HoldReason
from tests.unit.test_watch_safety import deployment, folder, ok, pods

HOLD = 6.0
SETTINGS = WatchSettings(hold_seconds=HOLD)
START = 1000.0

SOLO = RunningObject(ObjectKey("Pod", "default", "solo"), "solo.yaml", 1)
WEB = RunningObject(ObjectKey("Deployment", "default", "web"), "web.yaml", 3)


class Start:
    """A controller's folder source from its start: a first scan, then the engine's baseline."""

    def __init__(self, first: FolderScan, *running: RunningObject) -> None:
        self.now = START
        before = advance(WatchState(), first, self.now, SETTINGS)
        assert not before.snapshot.baselined  # the engine does not act on this one
        self.state = with_baseline(before.state, running, self.now)

    def step(
        self, scan: FolderScan, *, after: float = 0.0, config: WatchSettings = SETTINGS
    ) -> DesiredSnapshot:
        self.now += after
        outcome = advance(self.state, scan, self.now, config)
        self.state = outcome.state
        assert outcome.snapshot.baselined
        return outcome.snapshot


def test_an_emptied_folder_at_start_is_held_for_the_hold_then_applied() -> None:
    empty = folder({"solo.yaml": FileScan()})  # solo.yaml emptied, web.yaml gone
    start = Start(empty, SOLO, WEB)
    held = start.step(empty)
    assert held.files["solo.yaml"].state is FileState.HELD
    assert held.files["web.yaml"].state is FileState.HELD
    reasons = {(h.reason, h.file) for h in held.holds}
    assert (HoldReason.EMPTY_FILE, "solo.yaml") in reasons
    assert (HoldReason.FILE_MISSING, "web.yaml") in reasons
    [mass] = [h for h in held.holds if h.reason is HoldReason.MASS_DELETION]
    assert (mass.pods, mass.total) == (4, 4)
    assert all(h.until == START + HOLD for h in held.holds)
    assert any("web.yaml is missing while its pods run" in n for n in held.notices)
    assert start.step(empty, after=HOLD - 0.1).holds  # still held
    released = start.step(empty, after=0.1)
    assert released.holds == ()
    assert "web.yaml" not in released.files
    assert released.files["solo.yaml"].state is FileState.OK


def test_a_missing_file_is_held_even_when_it_is_a_small_share() -> None:
    big = RunningObject(ObjectKey("Deployment", "default", "big"), "big.yaml", 9)
    scan = folder({"big.yaml": ok(deployment("big.yaml", "big", 9))})
    start = Start(scan, SOLO, big)
    held = start.step(scan)
    assert [(h.reason, h.file) for h in held.holds] == [(HoldReason.FILE_MISSING, "solo.yaml")]
    assert held.files["solo.yaml"].state is FileState.HELD
    assert held.files["big.yaml"].state is FileState.OK


def test_what_the_folder_declares_as_it_runs_is_not_held() -> None:
    scan = folder(
        {"solo.yaml": pods("solo.yaml", "solo"), "web.yaml": ok(deployment("web.yaml", "web", 3))}
    )
    start = Start(scan, SOLO, WEB)
    snapshot = start.step(scan)
    assert snapshot.holds == ()
    assert start.state.start == {}


def test_a_small_deletion_from_a_file_still_there_applies_at_once() -> None:
    others = [RunningObject(ObjectKey("Pod", "default", n), "a.yaml", 1) for n in ("a", "b", "c")]
    scan = folder({"a.yaml": pods("a.yaml", "a", "b"), "solo.yaml": pods("solo.yaml", "solo")})
    start = Start(scan, SOLO, *others)  # c (1 of 4) is no longer declared
    assert start.step(scan).holds == ()
    assert start.state.start == {}


def test_a_mass_deletion_at_start_counts_against_the_pods_found_running() -> None:
    scan = folder(
        {"solo.yaml": pods("solo.yaml", "solo"), "web.yaml": ok(deployment("web.yaml", "web", 1))}
    )
    start = Start(
        scan, SOLO, WEB
    )  # scaling 3 -> 1 removes 2 of the 4 pods found: not more than half
    assert start.step(scan).holds == ()
    start = Start(scan, SOLO, RunningObject(WEB.key, "web.yaml", 5))  # 4 of 6: more than half
    held = start.step(scan)
    [mass] = held.holds
    assert (mass.reason, mass.pods, mass.total) == (HoldReason.MASS_DELETION, 4, 6)
    assert held.files["web.yaml"].state is FileState.HELD
    assert held.files["solo.yaml"].state is FileState.OK


def test_a_file_filled_again_during_the_hold_ends_it() -> None:
    start = Start(folder({}), SOLO)
    assert start.step(folder({})).holds
    assert start.step(folder({"solo.yaml": pods("solo.yaml", "solo")}), after=1).holds == ()
    again = start.step(folder({}), after=1)  # a claim let go never comes back: only the
    assert [h.reason for h in again.holds] == [HoldReason.MASS_DELETION]  # live rule holds now
    assert start.state.start == {}


def test_a_confirmation_applies_the_start_holds_at_once() -> None:
    start = Start(folder({}), SOLO, WEB)
    assert start.step(folder({})).holds
    confirmed = WatchSettings(hold_seconds=0.0)
    assert start.step(folder({}), after=0.5, config=confirmed).holds == ()
