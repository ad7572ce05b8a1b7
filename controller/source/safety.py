"""Safety rules between the folder's contents and what Podyard runs, as pure functions.

Role: `advance(state, scan, now, settings)` folds one full scan of the folder (`FolderScan`) into
the remembered `WatchState` and returns the new state, the `DesiredSnapshot` to publish and the
time at which a hold ends (so the caller looks again then). No I/O and no clock: `watcher` reads the
files and passes `now`, so every rule is tested without a folder. The rules, in the order applied:

1. A broken file keeps its last good objects. A file whose load reports errors contributes the
   objects it still produces plus its previous objects the new parse does not produce: all of them
   when some document's key cannot be read (a syntax error, a name that is not a string), else only
   those whose key a document still declares (a document deleted from the file is a real deletion).
2. An emptied file and a vanished folder are held. A file that declares nothing (0 bytes, blanks,
   comments, `---` or null documents, an empty List), or whose folder is gone or unreadable (the
   root included), keeps its previous objects for `hold_seconds` as a *weak* claim, then lets go.
   A file gone from a folder that is still there is deleted outright (rule 3 still applies).
3. A mass deletion is held. What a change removes is counted in pods against the published set (a
   Pod 1, a workload its replicas, a scale-down the difference). Above `max_deletion_fraction`,
   removals stay unapplied (the old objects stay published) until each has been *pending* for
   `hold_seconds`: pending = not declared by any strong claim with at least the published pods. A
   hold of rule 2 and this one thus run on one clock, not one after the other. Expired removals are
   applied and the rest judged again against what remains.
4. The first owner keeps a key. Each key has a queue of the files declaring it, in the order they
   started to (files new in the same scan: by path). The first strong claimant owns the key; other
   strong claimants get an error naming the owner. The queue only drops files that stop declaring
   the key and appends newcomers, so ownership cannot flap and a new file never steals an object.
   Weak claims (rule 2) yield to strong ones and move behind them in the queue (a file filled again
   is a newcomer), so moving a folder hands its objects over at once, without conflicts.
5. An immutable ConfigMap or Secret keeps what was published: an edit of its data (or unsetting
   `immutable`) is an error at the file and the object stays as it was (immutable.py).

Traps:
- A file read while it changed (`FileScan.settled` false) is left as it was; the watcher reads it
  again. A hold that has ended lets go before anything else, so a late step (the file broken after
  its hold ran out) cannot bring its objects back.
- Rule 1 cannot tell which document an error belongs to; it relies on `FileScan.declared` (keys
  read leniently from the text). A within-file duplicate key: the first document wins (as in
  `load_directory`), the later one is reported.
- Only what this process has seen is protected by these rules. The pods found running at
  start are the baseline of the same holds (`with_baseline`, rules in `startup`): until the
  engine hands that baseline in, snapshots say `baselined=False` and the engine does not act.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from controller.config import WatchSettings
from controller.model.manifests import RunningObject
from controller.model.meta import ObjectKey
from controller.source.immutable import keep_immutable
from controller.source.loader import LoadedObject, ManifestError
from controller.source.snapshot import (
    DesiredSnapshot,
    Entry,
    FileScan,
    FileState,
    FileStatus,
    FolderScan,
    Hold,
    HoldReason,
)
from controller.source.startup import StartClaim, claims_from, judge_start, pod_count

__all__ = ["Outcome", "WatchState", "advance", "pod_count", "with_baseline"]


@attrs.frozen
class _FileHold:
    reason: HoldReason
    since: float


@attrs.frozen
class FileMemory:
    entries: tuple[Entry, ...] = ()
    """What the file contributes now (rules 1 and 2 applied)."""
    errors: tuple[ManifestError, ...] = ()
    hold: _FileHold | None = None
    """Set while `entries` are kept only weakly (rule 2)."""


@attrs.frozen
class WatchState:
    files: Mapping[str, FileMemory] = attrs.field(factory=dict)
    claims: Mapping[ObjectKey, tuple[str, ...]] = attrs.field(factory=dict)
    """Rule 4: per key, the declaring files in the order they started declaring it."""
    effective: Mapping[ObjectKey, LoadedObject] = attrs.field(factory=dict)
    """What was published."""
    pending: Mapping[ObjectKey, float] = attrs.field(factory=dict)
    """Rule 3: since when each published key lacks a strong declaration with all its pods."""
    start: Mapping[ObjectKey, StartClaim] = attrs.field(factory=dict)
    """Objects found running at start that the folder does not declare as they run, held."""
    start_total: int = 0
    """Pods found running at start: what the mass-deletion rule compares the start claims with."""
    baselined: bool = False
    """The pods found running at start were handed in (`with_baseline`)."""


def with_baseline(state: WatchState, running: Iterable[RunningObject], now: float) -> WatchState:
    """Take the pods found running at start as the baseline; the next `advance` judges them."""
    claims = claims_from(running, now)
    total = sum(claim.pods for claim in claims.values())
    return attrs.evolve(state, start=claims, start_total=total, baselined=True)


@attrs.frozen
class Outcome:
    state: WatchState
    snapshot: DesiredSnapshot
    wake_at: float | None
    """The earliest end of a hold: call `advance` again then."""


def _parent(name: str) -> str:
    return Path(name).parent.as_posix()


def _dedupe(scan: FileScan) -> tuple[tuple[Entry, ...], tuple[ManifestError, ...]]:
    """Two documents of one file with one key: the first wins, as `load_directory` does."""
    first: dict[ObjectKey, LoadedObject] = {}
    kept: list[Entry] = []
    errors: list[ManifestError] = []
    for obj, line in scan.objects:
        winner = first.setdefault(obj.key, obj)
        if winner is obj:
            kept.append((obj, line))
        else:
            errors.append(_conflict(obj.file, line, obj.key, f"{winner.file}:{winner.line}"))
    return tuple(kept), tuple(errors)


def _conflict(file: Path, line: int, key: ObjectKey, owner: str) -> ManifestError:
    message = (
        f"{key.kind.lower()} {key.namespace}/{key.name} is already declared in {owner}; "
        "this declaration is ignored"
    )
    return ManifestError(file, line, "metadata.name", message)


def _held(prev: FileMemory, reason: HoldReason, now: float, hold: float) -> FileMemory | None:
    """Rule 2: keep `prev.entries` weakly until the hold (begun at the first sighting) ends."""
    since = prev.hold.since if prev.hold is not None else now
    if not prev.entries or now >= since + hold:
        return None
    return FileMemory(prev.entries, (), _FileHold(reason, since))


def file_step(
    name: str,
    prev: FileMemory | None,
    scan: FileScan | None,
    folders: frozenset[str],
    now: float,
    hold: float,
) -> FileMemory | None:
    """Rules 1 and 2 for one file: what it contributes now; None once it has nothing to say."""
    if prev is not None and prev.hold is not None and now >= prev.hold.since + hold:
        prev = FileMemory()  # a hold that ended lets go first, whatever the file says now
    if scan is None:
        if prev is None or _parent(name) in folders:
            return None  # deleted outright (or never known)
        return _held(prev, HoldReason.FOLDER_GONE, now, hold)
    if not scan.settled and prev is not None:
        return prev
    entries, duplicates = _dedupe(scan)
    if not scan.objects and not scan.errors:
        if prev is None:
            return FileMemory()
        return _held(prev, HoldReason.EMPTY_FILE, now, hold) or FileMemory()
    if scan.errors and prev is not None:
        produced = {obj.key for obj, _ in entries}
        entries += tuple(
            (obj, line)
            for obj, line in prev.entries
            if obj.key not in produced and (scan.declared is None or obj.key in scan.declared)
        )
    return FileMemory(entries, scan.errors + duplicates)


def _own(
    files: Mapping[str, FileMemory], previous: Mapping[ObjectKey, tuple[str, ...]]
) -> tuple[
    dict[ObjectKey, tuple[str, ...]],
    dict[ObjectKey, tuple[LoadedObject, bool]],
    list[ManifestError],
]:
    """Rule 4: claim queues, each key's chosen object (and whether strongly), conflict errors."""
    declared: dict[ObjectKey, dict[str, Entry]] = {}
    for name in sorted(files):
        for entry in files[name].entries:
            declared.setdefault(entry[0].key, {})[name] = entry
    claims: dict[ObjectKey, tuple[str, ...]] = {}
    chosen: dict[ObjectKey, tuple[LoadedObject, bool]] = {}
    errors: list[ManifestError] = []
    for key, by_file in declared.items():
        known = [name for name in previous.get(key, ()) if name in by_file]
        ordered = known + sorted(set(by_file) - set(known))
        strong = [name for name in ordered if files[name].hold is None]
        queue = strong + [name for name in ordered if files[name].hold is not None]
        claims[key] = tuple(queue)  # a weak claim goes behind: declaring again makes it a newcomer
        owner = by_file[queue[0]][0]
        chosen[key] = (owner, bool(strong))
        for name in strong[1:]:
            obj, line = by_file[name]
            errors.append(_conflict(obj.file, line, key, f"{owner.file}:{owner.line}"))
    return claims, chosen, errors


def _short(
    key: ObjectKey,
    base: Mapping[ObjectKey, LoadedObject],
    chosen: Mapping[ObjectKey, tuple[LoadedObject, bool]],
) -> int:
    """Pods of `base[key]` that the chosen declaration (if any) would remove."""
    got = chosen.get(key)
    return pod_count(base[key].obj) - (pod_count(got[0].obj) if got else 0)


def guard_deletions(
    effective: Mapping[ObjectKey, LoadedObject],
    chosen: Mapping[ObjectKey, tuple[LoadedObject, bool]],
    pending: Mapping[ObjectKey, float],
    now: float,
    settings: WatchSettings,
) -> tuple[dict[ObjectKey, LoadedObject], dict[ObjectKey, float]]:
    """Rule 3: the new effective set, and the held removals with the time they became pending."""
    base = dict(effective)
    held: dict[ObjectKey, float] = {}
    while True:
        removing = {k: n for k in base if (n := _short(k, base, chosen)) > 0}
        total = sum(pod_count(obj.obj) for obj in base.values())
        if sum(removing.values()) <= settings.max_deletion_fraction * total:
            break  # small enough (or nothing): applied at once
        expired = [k for k in removing if now >= pending.get(k, now) + settings.hold_seconds]
        if not expired:
            held = {k: pending.get(k, now) for k in removing}
            break
        for key in expired:  # apply these, judge the rest against what remains
            if key in chosen:
                base[key] = chosen[key][0]
            else:
                del base[key]
    result = {key: obj for key, (obj, _) in chosen.items() if key not in held}
    result.update({key: base[key] for key in held})
    return result, held


def _pending(
    effective: Mapping[ObjectKey, LoadedObject],
    chosen: Mapping[ObjectKey, tuple[LoadedObject, bool]],
    previous: Mapping[ObjectKey, float],
    now: float,
) -> dict[ObjectKey, float]:
    pending: dict[ObjectKey, float] = {}
    for key, obj in effective.items():
        got = chosen.get(key)
        if got is None or not got[1] or pod_count(got[0].obj) < pod_count(obj.obj):
            pending[key] = previous.get(key, now)
    return pending


def advance(state: WatchState, scan: FolderScan, now: float, settings: WatchSettings) -> Outcome:
    """All five rules for one scan; see the module docstring."""
    files: dict[str, FileMemory] = {}
    for name in sorted(set(state.files) | set(scan.files)):
        memory = file_step(
            name,
            state.files.get(name),
            scan.files.get(name),
            scan.folders,
            now,
            settings.hold_seconds,
        )
        if memory is not None:
            files[name] = memory
    claims, chosen, conflicts = _own(files, state.claims)
    chosen, refused = keep_immutable(state.effective, chosen)
    conflicts += refused
    pending = _pending(state.effective, chosen, state.pending, now)
    effective, held = guard_deletions(state.effective, chosen, pending, now, settings)
    start = judge_start(state.start, state.start_total, effective, scan.files, now, settings)
    new_state = WatchState(
        files,
        claims,
        effective,
        _pending(effective, chosen, pending, now),
        start.claims,
        state.start_total,
        state.baselined,
    )
    holds = _holds(files, held, state.effective, settings) + start.holds
    claimed = {key: claim.file for key, claim in start.claims.items()}
    snapshot = DesiredSnapshot(
        objects=tuple(effective[key] for key in sorted(effective)),
        errors=scan.errors + tuple(sorted(_file_errors(files, conflicts), key=_error_order)),
        notices=tuple(hold.notice(now, settings) for hold in holds),
        files=_statuses(files, conflicts, holds, effective.values(), claimed),
        holds=holds,
        baselined=state.baselined,
    )
    wake = min((hold.until for hold in holds), default=None)
    return Outcome(new_state, snapshot, wake)


def _file_errors(
    files: Mapping[str, FileMemory], conflicts: Iterable[ManifestError]
) -> list[ManifestError]:
    return [error for memory in files.values() for error in memory.errors] + list(conflicts)


def _error_order(error: ManifestError) -> tuple[tuple[str, ...], int]:
    return error.file.parts, error.line


def _holds(
    files: Mapping[str, FileMemory],
    held: Mapping[ObjectKey, float],
    before: Mapping[ObjectKey, LoadedObject],
    settings: WatchSettings,
) -> tuple[Hold, ...]:
    holds = [
        Hold(
            memory.hold.reason,
            memory.hold.since + settings.hold_seconds,
            tuple(sorted(obj.key for obj, _ in memory.entries)),
            file=name,
        )
        for name, memory in files.items()
        if memory.hold is not None
    ]
    if held:
        total = sum(pod_count(obj.obj) for obj in before.values())
        removed = sum(pod_count(before[key].obj) for key in held)
        until = min(held.values()) + settings.hold_seconds
        keys = tuple(sorted(held))
        holds.append(Hold(HoldReason.MASS_DELETION, until, keys, pods=removed, total=total))
    return tuple(holds)


def _statuses(
    files: Mapping[str, FileMemory],
    conflicts: Iterable[ManifestError],
    holds: Iterable[Hold],
    effective: Iterable[LoadedObject],
    claimed: Mapping[ObjectKey, str],
) -> dict[str, FileStatus]:
    """Per file: invalid, held or ok; `claimed` maps held start claims to their files."""
    published: dict[str, int] = {}
    for obj in effective:
        published[obj.file.as_posix()] = published.get(obj.file.as_posix(), 0) + 1
    errors: dict[str, list[ManifestError]] = {}
    for error in [*(e for m in files.values() for e in m.errors), *conflicts]:
        errors.setdefault(error.file.as_posix(), []).append(error)
    held: dict[str, str] = {}
    for hold in holds:
        if hold.reason is HoldReason.MASS_DELETION:
            files_of = {obj.key: obj.file.as_posix() for obj in effective} | dict(claimed)
            for key in hold.keys:
                if key in files_of:
                    held.setdefault(files_of[key], "removal held: mass deletion")
        else:
            held[hold.file] = f"{hold.reason}: keeping its {len(hold.keys)} object(s) for now"
    statuses: dict[str, FileStatus] = {}
    for name in sorted(set(files) | set(held)):
        count = published.get(name, 0)
        if name in errors:
            found = sorted(errors[name], key=_error_order)
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            statuses[name] = FileStatus(FileState.INVALID, f"{found[0]}{more}", count)
        elif name in held:
            statuses[name] = FileStatus(FileState.HELD, held[name], count)
        else:
            statuses[name] = FileStatus(FileState.OK, "", count)
    return statuses
