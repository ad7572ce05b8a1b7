"""Start-time safety rules: the pods found running are the baseline, as the published set is live.

Role: a controller that starts has published nothing, so the live rules (an emptied file held,
"more than half of all pods" held) would take its first reading of the folder as it is, and an
emptied folder would delete everything at once. `claims_from(running, now)` turns what the engine
shows at start (`RunningObject`: per declaring object, its file and how many pods run) into
*start claims*, and `judge_start(...)` holds them, pure and clock-free like `safety.advance`:

1. A claim lets go as soon as the folder declares its object with at least the pods that run
   (nothing would be deleted), when its file is broken (the broken-file rule keeps its pods), or
   when its hold (`hold_seconds` from the baseline) ran out.
2. A claim whose file is missing or empty is held, as an emptied file is held live.
3. If the pods the remaining claims would lose (all of them, or a scale-down's difference) are
   more than `max_deletion_fraction` of the pods found running, every remaining claim is held
   (a mass deletion); else the others let go at once.

Held claims publish no object: the source has no manifest for them, only their pods. They are
reported as holds (file statuses, notices) and the engine keeps the pods of a held file as it
keeps those of a broken one. Trap: a claim that let go never comes back; a claim holds at most
`hold_seconds` from the baseline, whatever the folder does meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from controller.config import WatchSettings
from controller.model.claims import PersistentVolumeClaim
from controller.model.configdata import ConfigMap, Secret
from controller.model.manifests import Namespace, RunningObject
from controller.model.meta import ObjectKey
from controller.model.workloads import Deployment, ReplicaSet
from controller.source.loader import LoadedObject
from controller.source.snapshot import FileScan, Hold, HoldReason


@attrs.frozen
class StartClaim:
    file: str
    pods: int
    since: float


@attrs.frozen
class StartJudgement:
    claims: dict[ObjectKey, StartClaim]
    """The claims still held."""
    holds: tuple[Hold, ...]


def claims_from(running: Iterable[RunningObject], now: float) -> dict[ObjectKey, StartClaim]:
    return {obj.key: StartClaim(obj.file, obj.pods, now) for obj in running if obj.pods > 0}


def pod_count(obj: object) -> int:
    """Pods an object stands for: its replicas for a workload, 1 for a Pod, 0 for a Namespace,
    configuration or a claim (removing a claim removes no pod, and no data: Retain)."""
    if isinstance(obj, ConfigMap | Secret | PersistentVolumeClaim | Namespace):
        return 0
    if isinstance(obj, ReplicaSet | Deployment):
        return max(obj.spec.replicas, 0)
    return 1


def _gone_or_empty(scan: FileScan | None) -> HoldReason | None:
    if scan is None:
        return HoldReason.FILE_MISSING
    if not scan.objects and not scan.errors and scan.settled:
        return HoldReason.EMPTY_FILE
    return None


def judge_start(
    claims: Mapping[ObjectKey, StartClaim],
    total: int,
    effective: Mapping[ObjectKey, LoadedObject],
    files: Mapping[str, FileScan],
    now: float,
    settings: WatchSettings,
) -> StartJudgement:
    """Rules 1-3 of the module docstring; `total` is the pods found running at start."""
    remaining: dict[ObjectKey, StartClaim] = {}
    removed = 0
    for key, claim in claims.items():
        got = effective.get(key)
        short = claim.pods - (pod_count(got.obj) if got is not None else 0)
        if now >= claim.since + settings.hold_seconds:
            continue  # held long enough: applied
        if short <= 0:
            continue  # declared as it runs: nothing to delete
        scan = files.get(claim.file)
        if scan is not None and scan.errors:
            continue  # a broken file keeps its pods by the broken-file rule
        remaining[key] = claim
        removed += short
    mass = removed > settings.max_deletion_fraction * total
    held: dict[ObjectKey, StartClaim] = {}
    by_file: dict[tuple[str, HoldReason], list[ObjectKey]] = {}
    for key, claim in sorted(remaining.items()):
        reason = _gone_or_empty(files.get(claim.file))
        if reason is not None:
            by_file.setdefault((claim.file, reason), []).append(key)
        if reason is not None or mass:
            held[key] = claim
    holds = [
        Hold(reason, held[keys[0]].since + settings.hold_seconds, tuple(keys), file=name)
        for (name, reason), keys in sorted(by_file.items())
    ]
    if mass:
        until = min(claim.since for claim in held.values()) + settings.hold_seconds
        holds.append(
            Hold(HoldReason.MASS_DELETION, until, tuple(sorted(held)), pods=removed, total=total)
        )
    return StartJudgement(held, tuple(holds))
