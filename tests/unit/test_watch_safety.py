"""The folder source's safety rules, as pure functions: no folder, no clock, no watchdog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config import WatchSettings
from controller.model.configdata import ConfigMap, Secret
from controller.model.meta import ObjectKey, ObjectMeta
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    LabelSelector,
    PodTemplateSpec,
    TemplateMeta,
)
from controller.source.loader import LoadedObject, ManifestError
from controller.source.safety import Outcome, WatchState, advance, pod_count
from controller.source.snapshot import (
    DesiredSnapshot,
    FileScan,
    FileState,
    FolderScan,
    HoldReason,
)
from tests import factories

HOLD = 30.0
CONFIRM = "; create .podyard-confirm-deletion in the folder to apply it now"
SETTINGS = WatchSettings(hold_seconds=HOLD)


def key(name: str, kind: str = "Pod") -> ObjectKey:
    return ObjectKey(kind, "default", name)


def loaded(file: str, name: str, *, index: int = 0, image: str = "") -> LoadedObject:
    obj = factories.pod(name)
    if image:
        spec = attrs.evolve(obj.spec, containers=(factories.container(image=image),))
        obj = attrs.evolve(obj, spec=spec)
    return LoadedObject(Path(file), index, 1 + 8 * index, obj)


def deployment(file: str, name: str, replicas: int) -> LoadedObject:
    template = PodTemplateSpec(TemplateMeta(labels={"app": name}), factories.pod(name).spec)
    spec = DeploymentSpec(LabelSelector(match_labels={"app": name}), template, replicas=replicas)
    return LoadedObject(Path(file), 0, 1, Deployment(ObjectMeta(name=name), spec))


def ok(*objects: LoadedObject) -> FileScan:
    return FileScan(tuple((obj, obj.line + 3) for obj in objects))


def broken(
    file: str, *objects: LoadedObject, declared: Iterable[ObjectKey] | None = None
) -> FileScan:
    error = ManifestError(Path(file), 9, "spec.containers", "Required value")
    keys = None if declared is None else frozenset(declared)
    return FileScan(tuple((obj, obj.line + 3) for obj in objects), (error,), keys)


def pods(file: str, *names: str) -> FileScan:
    return ok(*(loaded(file, name, index=i) for i, name in enumerate(names)))


def folder(files: Mapping[str, FileScan], folders: Iterable[str] = (".",)) -> FolderScan:
    return FolderScan(dict(files), frozenset(folders))


class Run:
    """Feeds scans to `advance` like the watcher does, keeping state and time."""

    def __init__(self, config: WatchSettings = SETTINGS) -> None:
        self.state = WatchState()
        self.now = 1000.0
        self.settings = config
        self.last: Outcome | None = None

    def step(self, scan: FolderScan, *, after: float = 0.0) -> DesiredSnapshot:
        self.now += after
        self.last = advance(self.state, scan, self.now, self.settings)
        self.state = self.last.state
        return self.last.snapshot


def names(snapshot: DesiredSnapshot) -> set[str]:
    return {obj.key.name for obj in snapshot.objects}


def by_name(snapshot: DesiredSnapshot, name: str) -> LoadedObject:
    [found] = [obj for obj in snapshot.objects if obj.key.name == name]
    return found


# Rule 1: a broken file keeps its last good objects.


def test_a_broken_file_keeps_its_last_good_objects_and_reports_errors() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "web", "db"), "b.yaml": pods("b.yaml", "x")}))
    snapshot = run.step(folder({"a.yaml": broken("a.yaml"), "b.yaml": pods("b.yaml", "x")}))
    assert names(snapshot) == {"web", "db", "x"}
    assert [str(e) for e in snapshot.errors] == ["a.yaml:9: spec.containers: Required value"]
    assert snapshot.files["a.yaml"].state is FileState.INVALID
    assert snapshot.files["a.yaml"].objects == 2
    assert snapshot.files["b.yaml"].state is FileState.OK
    fixed = run.step(folder({"a.yaml": pods("a.yaml", "web"), "b.yaml": pods("b.yaml", "x")}))
    assert names(fixed) == {"web", "x"}
    assert fixed.errors == ()


def test_good_documents_apply_and_the_broken_one_keeps_its_last_version() -> None:
    run = Run()
    run.step(folder({"a.yaml": ok(loaded("a.yaml", "web"), loaded("a.yaml", "db", index=1))}))
    edited = loaded("a.yaml", "web", image="web:2")
    snapshot = run.step(
        folder({"a.yaml": broken("a.yaml", edited, declared=[key("web"), key("db")])})
    )
    assert by_name(snapshot, "web") == edited
    assert by_name(snapshot, "db") == loaded("a.yaml", "db", index=1)


def test_a_document_deleted_next_to_a_broken_one_is_deleted_when_keys_are_readable() -> None:
    run = Run()
    three = pods("a.yaml", "web", "db", "cache")
    run.step(folder({"a.yaml": three}))
    web = loaded("a.yaml", "web")
    snapshot = run.step(folder({"a.yaml": broken("a.yaml", web, declared=[key("web"), key("db")])}))
    assert names(snapshot) == {"web", "db"}  # cache is really gone, db is only broken


def test_when_a_key_cannot_be_read_every_last_good_object_of_the_file_stays() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "web", "db", "cache")}))
    snapshot = run.step(folder({"a.yaml": broken("a.yaml", loaded("a.yaml", "web"))}))
    assert names(snapshot) == {"web", "db", "cache"}


def test_a_new_broken_file_contributes_only_what_parses() -> None:
    run = Run()
    snapshot = run.step(folder({"a.yaml": broken("a.yaml", loaded("a.yaml", "web"))}))
    assert names(snapshot) == {"web"}
    assert snapshot.files["a.yaml"].state is FileState.INVALID


def test_a_file_read_while_it_changed_is_left_as_it_was() -> None:
    run = Run()
    first = run.step(folder({"a.yaml": pods("a.yaml", "web", "db")}))
    moving = attrs.evolve(pods("a.yaml", "web"), settled=False)
    assert run.step(folder({"a.yaml": moving})) == first


# Rule 2: an emptied file or a vanished folder is held, then applied.


def test_an_emptied_file_is_held_then_applied() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "web"), "b.yaml": pods("b.yaml", "x", "y")}))
    empty = folder({"a.yaml": FileScan(), "b.yaml": pods("b.yaml", "x", "y")})
    held = run.step(empty, after=1)
    assert names(held) == {"web", "x", "y"}
    assert held.notices == ("a.yaml is empty: keeping its 1 object(s) for 30 s more" + CONFIRM,)
    assert held.files["a.yaml"].state is FileState.HELD
    assert run.last is not None
    assert run.last.wake_at == run.now + HOLD
    later = run.step(empty, after=HOLD - 2)
    assert later == held  # the countdown alone does not make a new snapshot
    assert later.notices == ("a.yaml is empty: keeping its 1 object(s) for 2 s more" + CONFIRM,)
    applied = run.step(empty, after=2)
    assert names(applied) == {"x", "y"}
    assert applied.notices == ()
    assert applied.files["a.yaml"].state is FileState.OK


def test_a_file_filled_again_during_the_hold_loses_nothing() -> None:
    run = Run()
    full = folder({"a.yaml": pods("a.yaml", "web")})
    run.step(full)
    run.step(folder({"a.yaml": FileScan()}), after=1)
    again = run.step(full, after=HOLD - 1)
    assert names(again) == {"web"}
    assert again.holds == ()
    run.step(folder({"a.yaml": FileScan()}), after=1)  # a new hold starts from scratch
    assert names(run.step(folder({"a.yaml": FileScan()}), after=HOLD - 1)) == {"web"}


def test_a_vanished_subfolder_is_held_then_applied() -> None:
    run = Run()
    files = {"a.yaml": pods("a.yaml", "x", "y"), "sub/c.yaml": pods("sub/c.yaml", "web")}
    run.step(folder(files, [".", "sub"]))
    gone = folder({"a.yaml": files["a.yaml"]})
    held = run.step(gone)
    assert names(held) == {"x", "y", "web"}
    assert held.notices == (
        "folder sub is gone or unreadable: keeping the 1 object(s) of sub/c.yaml for 30 s more"
        + CONFIRM,
    )
    assert held.files["sub/c.yaml"].state is FileState.HELD
    assert names(run.step(gone, after=HOLD)) == {"x", "y"}


def test_a_vanished_root_is_held_once_then_everything_goes() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "web")}))
    missing = ManifestError(
        Path("."), 0, "", "the manifests folder does not exist (or is no folder)"
    )
    nothing = FolderScan({}, frozenset(), (missing,))
    held = run.step(nothing, after=1)
    assert names(held) == {"web"}
    assert held.errors == (missing,)
    assert [h.reason for h in held.holds] == [HoldReason.FOLDER_GONE]
    # one pod of one is a mass deletion too, but both holds run on one clock: 30 s in all
    assert names(run.step(nothing, after=HOLD)) == set()


def test_a_file_deleted_from_a_folder_still_there_is_deleted_at_once() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "x", "y"), "b.yaml": pods("b.yaml", "web")}))
    assert names(run.step(folder({"a.yaml": pods("a.yaml", "x", "y")}))) == {"x", "y"}


def test_a_moved_folder_hands_its_objects_over_without_conflicts() -> None:
    run = Run()
    run.step(folder({"old/a.yaml": pods("old/a.yaml", "web")}, [".", "old"]))
    moved = folder({"new/a.yaml": pods("new/a.yaml", "web")}, [".", "new"])
    snapshot = run.step(moved)
    assert by_name(snapshot, "web").file == Path("new/a.yaml")
    assert snapshot.errors == ()


# Rule 3: a mass deletion is held.


def test_removing_more_than_half_of_the_pods_is_held_then_applied() -> None:
    run = Run()
    three = {
        name: pods(name, name.removesuffix(".yaml")) for name in ("a.yaml", "b.yaml", "c.yaml")
    }
    run.step(folder(three))
    one = folder({"a.yaml": three["a.yaml"]})
    held = run.step(one, after=1)
    assert names(held) == {"a", "b", "c"}
    assert held.notices == (
        "removing 2 of 3 pod(s) at once is more than 50%: keeping Pod/default/b, Pod/default/c "
        "for 30 s more (restore the files to cancel)" + CONFIRM,
    )
    assert held.files["b.yaml"].state is FileState.HELD  # a file that is gone, shown while held
    assert names(run.step(one, after=HOLD - 0.5)) == {"a", "b", "c"}
    assert names(run.step(one, after=0.5)) == {"a"}


def test_removing_exactly_half_applies_at_once() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "a", "b"), "c.yaml": pods("c.yaml", "c", "d")}))
    assert names(run.step(folder({"a.yaml": pods("a.yaml", "a", "b")}))) == {"a", "b"}


def test_the_only_pod_of_a_folder_is_held_before_it_goes() -> None:
    run = Run()
    run.step(folder({"a.yaml": pods("a.yaml", "web")}))
    held = run.step(folder({}))
    assert names(held) == {"web"}
    assert [h.reason for h in held.holds] == [HoldReason.MASS_DELETION]
    assert names(run.step(folder({}), after=HOLD)) == set()


def test_restoring_the_files_during_the_hold_cancels_it() -> None:
    run = Run()
    two = folder({"a.yaml": pods("a.yaml", "a", "b")})
    run.step(two)
    run.step(folder({}), after=1)
    restored = run.step(two, after=HOLD - 5)
    assert names(restored) == {"a", "b"}
    assert restored.holds == ()
    assert names(run.step(folder({}), after=6)) == {"a", "b"}  # a new deletion, a new hold


def test_replicas_count_as_pods_and_a_scale_down_removes_the_difference() -> None:
    run = Run()
    run.step(folder({"d.yaml": ok(deployment("d.yaml", "web", 10))}))
    to_two = folder({"d.yaml": ok(deployment("d.yaml", "web", 2))})
    held = run.step(to_two)
    assert pod_count(by_name(held, "web").obj) == 10
    assert [(h.pods, h.total) for h in held.holds] == [(10, 10)]
    assert pod_count(by_name(run.step(to_two, after=HOLD), "web").obj) == 2
    to_one = folder({"d.yaml": ok(deployment("d.yaml", "web", 1))})
    assert pod_count(by_name(run.step(to_one), "web").obj) == 1  # 1 of 2: at once


def test_each_removal_waits_its_own_hold() -> None:
    run = Run()
    files = {f"{n}.yaml": pods(f"{n}.yaml", n) for n in "abcd"}
    run.step(folder(files))
    run.step(folder({"d.yaml": files["d.yaml"]}))  # 3 of 4: held
    run.step(folder({}), after=HOLD - 1)  # and the last one, late in that hold
    assert names(run.step(folder({}), after=1)) == {"d"}  # a, b, c went; d is 1 of 1 left
    assert names(run.step(folder({}), after=HOLD - 1.5)) == {"d"}
    assert names(run.step(folder({}), after=0.5)) == set()


def test_after_expired_removals_the_rest_is_judged_against_what_remains() -> None:
    run = Run()
    files = {f"{n}.yaml": pods(f"{n}.yaml", n) for n in "abcdefgh"}
    run.step(folder(files))
    kept = {k: v for k, v in files.items() if k in {"f.yaml", "g.yaml", "h.yaml"}}
    run.step(folder(kept))  # 5 of 8: held
    del kept["f.yaml"]
    run.step(folder(kept), after=HOLD - 1)
    assert names(run.step(folder(kept), after=1)) == {"g", "h"}  # then f is 1 of 3: at once


# Rule 4: the first owner keeps a key.


def test_a_new_file_never_steals_a_declared_object() -> None:
    run = Run()
    run.step(folder({"b.yaml": pods("b.yaml", "web")}))
    both = folder({"a.yaml": pods("a.yaml", "web"), "b.yaml": pods("b.yaml", "web")})
    snapshot = run.step(both)
    assert by_name(snapshot, "web").file == Path("b.yaml")
    assert [str(e) for e in snapshot.errors] == [
        "a.yaml:4: metadata.name: pod default/web is already declared in b.yaml:1; "
        "this declaration is ignored"
    ]
    assert snapshot.files["a.yaml"].state is FileState.INVALID
    assert run.step(both, after=100) == snapshot
    handed = run.step(folder({"a.yaml": pods("a.yaml", "web"), "b.yaml": FileScan()}))
    assert by_name(handed, "web").file == Path("a.yaml")  # the emptied file's claim is weak
    assert handed.errors == ()


def test_files_new_in_one_scan_are_ordered_by_path() -> None:
    run = Run()
    both = folder({"b.yaml": pods("b.yaml", "web"), "a.yaml": pods("a.yaml", "web")})
    assert by_name(run.step(both), "web").file == Path("a.yaml")


def test_two_documents_of_one_file_with_one_key_the_first_wins() -> None:
    run = Run()
    scan = ok(loaded("a.yaml", "web", image="one:1"), loaded("a.yaml", "web", index=1))
    snapshot = run.step(folder({"a.yaml": scan}))
    assert by_name(snapshot, "web") == loaded("a.yaml", "web", image="one:1")
    assert [e.line for e in snapshot.errors] == [12]


def test_the_next_claimant_in_time_takes_over_not_the_first_by_path() -> None:
    run = Run()
    run.step(folder({"m.yaml": pods("m.yaml", "web")}))
    run.step(folder({"m.yaml": pods("m.yaml", "web"), "z.yaml": pods("z.yaml", "web")}))
    three = {"a.yaml": pods("a.yaml", "web"), "z.yaml": pods("z.yaml", "web")}
    three["m.yaml"] = pods("m.yaml", "web")
    run.step(folder(three))
    del three["m.yaml"]
    assert by_name(run.step(folder(three)), "web").file == Path("z.yaml")


# Properties over sequences of file states.

FILES = ("a.yaml", "b.yaml", "sub/c.yaml")
KEYS = ("p0", "p1", "p2", "p3")


@attrs.frozen
class Case:
    """One file's state in one step of a generated sequence."""

    kind: str
    """ok, broken, empty, deleted (its folder is still there) or gone (its folder vanished)."""
    produced: frozenset[str] = frozenset()
    declared: frozenset[str] | None = None
    """broken: the keys still readable besides `produced`; None when some key is unreadable."""


keysets = st.frozensets(st.sampled_from(KEYS))
cases = st.one_of(
    st.builds(Case, st.just("ok"), keysets),
    st.builds(Case, st.just("broken"), keysets, st.none() | keysets),
    st.sampled_from([Case("empty"), Case("deleted"), Case("gone")]),
)
Step = tuple[float, bool, tuple[Case, ...]]
steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.25 * HOLD, 0.5 * HOLD, HOLD, 2 * HOLD]),  # time since the last
        st.sampled_from([False] * 5 + [True]),  # the whole folder is gone
        st.tuples(*(cases for _ in FILES)),
    ),
    min_size=1,
    max_size=12,
)


def realise(root_gone: bool, wanted: tuple[Case, ...]) -> tuple[FolderScan, tuple[Case, ...]]:
    """The FolderScan for these states, and the states as they can be (only sub/ can go alone)."""
    if root_gone:
        return FolderScan({}, frozenset()), tuple(Case("gone") for _ in FILES)
    files: dict[str, FileScan] = {}
    real: list[Case] = []
    for file, case in zip(FILES, wanted, strict=True):
        if case.kind == "gone" and file != "sub/c.yaml":
            case = Case("deleted")
        real.append(case)
        objects = [loaded(file, n, index=i) for i, n in enumerate(sorted(case.produced))]
        if case.kind == "ok":
            files[file] = ok(*objects)
        elif case.kind == "broken":
            declared = None if case.declared is None else case.declared | case.produced
            files[file] = broken(
                file, *objects, declared=None if declared is None else map(key, declared)
            )
        elif case.kind == "empty":
            files[file] = FileScan()
    folders = {"."} if real[2].kind == "gone" else {".", "sub"}
    return FolderScan(files, frozenset(folders)), tuple(real)


class Oracle:
    """What each file declares, from the rules' definitions alone, as sets of names."""

    def __init__(self) -> None:
        self.last: dict[str, frozenset[str]] = dict.fromkeys(FILES, frozenset())
        self.weak_since: dict[str, float | None] = dict.fromkeys(FILES)

    def apply(self, file: str, case: Case, now: float) -> None:
        since = self.weak_since[file]
        if since is not None and now >= since + HOLD:  # a hold that ended lets go first
            self.last[file], self.weak_since[file] = frozenset(), None
        kind = "empty" if case.kind == "ok" and not case.produced else case.kind
        if kind == "ok":
            self.last[file], self.weak_since[file] = case.produced, None
        elif kind == "broken":
            known = case.declared
            kept = {k for k in self.last[file] if known is None or k in known | case.produced}
            self.last[file], self.weak_since[file] = case.produced | kept, None
        elif kind == "deleted":
            self.last[file], self.weak_since[file] = frozenset(), None
        elif self.last[file]:  # emptied or its folder gone: kept weakly while the hold runs
            since = self.weak_since[file]
            self.weak_since[file] = now if since is None else since
        else:
            self.weak_since[file] = None

    def strong(self) -> set[str]:
        return {k for f in FILES if self.weak_since[f] is None for k in self.last[f]}

    def weak(self) -> set[str]:
        return {k for f in FILES if self.weak_since[f] is not None for k in self.last[f]}

    def strong_files(self, name: str) -> set[str]:
        return {f for f in FILES if self.weak_since[f] is None and name in self.last[f]}


def play(
    run: Run, oracle: Oracle, after: float, root_gone: bool, wanted: tuple[Case, ...]
) -> tuple[DesiredSnapshot, FolderScan]:
    run.now += after
    scan, real = realise(root_gone, wanted)
    for file, case in zip(FILES, real, strict=True):
        oracle.apply(file, case, run.now)
    return run.step(scan), scan


@settings(max_examples=300, deadline=None)
@given(steps)
def test_nothing_disappears_without_a_real_deletion_or_an_expired_hold(
    sequence: list[Step],
) -> None:
    run, oracle = Run(), Oracle()
    undeclared_since: dict[str, float] = {}
    before: set[str] = set()
    for after, root_gone, wanted in sequence:
        snapshot, _ = play(run, oracle, after, root_gone, wanted)
        strong, weak = oracle.strong(), oracle.weak()
        for name in KEYS:
            if name in strong:
                undeclared_since.pop(name, None)
            else:
                undeclared_since.setdefault(name, run.now)
        published = names(snapshot)
        removed = before - published
        # a removal is a real deletion: nothing declares it, not even weakly under a running hold
        assert not removed & (strong | weak)
        # and it is small, or its own hold (counted from when it stopped being declared) ended
        expired = {n for n in removed if run.now >= undeclared_since[n] + HOLD}
        fresh = removed - expired
        assert len(fresh) <= SETTINGS.max_deletion_fraction * (len(before) - len(expired))
        # everything declared is published; anything else published is reported as held
        assert strong | weak <= published
        assert published - strong <= {k.name for h in snapshot.holds for k in h.keys}
        before = published
    # files that stay as they are for long enough: every hold ends, the folder is the truth
    _, last_root_gone, last_wanted = sequence[-1]
    play(run, oracle, HOLD, last_root_gone, last_wanted)
    final, _ = play(run, oracle, HOLD, last_root_gone, last_wanted)
    assert names(final) == oracle.strong()
    assert final.holds == ()


@settings(max_examples=300, deadline=None)
@given(steps)
def test_conflicts_never_flap(sequence: list[Step]) -> None:
    run, oracle = Run(), Oracle()
    owners: dict[str, str] = {}
    for after, root_gone, wanted in sequence:
        snapshot, scan = play(run, oracle, after, root_gone, wanted)
        for name in KEYS:
            claimants = oracle.strong_files(name)
            if not claimants:
                owners.pop(name, None)
                continue
            owner = by_name(snapshot, name).file.as_posix()
            assert owner in claimants
            if owners.get(name) in claimants:
                assert owner == owners[name]  # an owner that still declares it keeps it
            owners[name] = owner
            conflicts = [e for e in snapshot.errors if f"pod default/{name} is" in e.message]
            assert sorted(e.file.as_posix() for e in conflicts) == sorted(claimants - {owner})
            assert all(f"declared in {owner}:" in e.message for e in conflicts)
        if not snapshot.holds:  # the same files again, later: nothing new to publish
            assert run.step(scan, after=0.1) == snapshot


# Rule 5: an immutable ConfigMap or Secret keeps what was published.


def config_map(data: dict[str, str], *, immutable: bool | None = True) -> LoadedObject:
    return LoadedObject(
        Path("cm.yaml"), 0, 1, ConfigMap(ObjectMeta("settings"), data, {}, immutable)
    )


def secret(data: dict[str, str], *, immutable: bool | None = True) -> LoadedObject:
    obj = Secret(ObjectMeta("token"), string_data=data, immutable=immutable)
    return LoadedObject(Path("s.yaml"), 0, 1, obj)


def published_data(snapshot: DesiredSnapshot, name: str) -> object:
    obj = by_name(snapshot, name).obj
    return obj.payload()  # type: ignore[union-attr]


def test_an_edit_of_an_immutable_config_map_is_refused_at_its_file_and_field() -> None:
    run = Run()
    run.step(folder({"cm.yaml": ok(config_map({"a": "1"}))}))
    snapshot = run.step(folder({"cm.yaml": ok(config_map({"a": "2"}))}))
    assert published_data(snapshot, "settings") == {"a": b"1"}
    [error] = snapshot.errors
    assert (error.file, error.line, error.path) == (Path("cm.yaml"), 1, "data")
    assert str(error).startswith(
        "cm.yaml:1: data: ConfigMap default/settings: Forbidden: field is immutable when"
    )
    assert snapshot.files["cm.yaml"].state is FileState.INVALID
    # unsetting `immutable` with the same data is refused too; the published data never moves
    again = run.step(folder({"cm.yaml": ok(config_map({"a": "1"}, immutable=False))}))
    assert [e.path for e in again.errors] == ["immutable"]
    assert published_data(again, "settings") == {"a": b"1"}
    # the file back to what was published: no error
    back = run.step(folder({"cm.yaml": ok(config_map({"a": "1"}))}))
    assert back.errors == ()
    assert back.files["cm.yaml"].state is FileState.OK


def test_an_immutable_object_may_be_removed_and_declared_anew() -> None:
    run = Run()
    run.step(folder({"cm.yaml": ok(config_map({"a": "1"})), "p.yaml": pods("p.yaml", "web")}))
    gone = run.step(folder({"p.yaml": pods("p.yaml", "web")}))
    assert names(gone) == {"web"}
    anew = run.step(
        folder({"cm.yaml": ok(config_map({"a": "2"})), "p.yaml": pods("p.yaml", "web")})
    )
    assert anew.errors == ()
    assert published_data(anew, "settings") == {"a": b"2"}


def test_a_mutable_object_and_making_one_immutable_are_edits_like_any_other() -> None:
    run = Run()
    run.step(folder({"cm.yaml": ok(config_map({"a": "1"}, immutable=None))}))
    sealed = run.step(folder({"cm.yaml": ok(config_map({"a": "2"}, immutable=True))}))
    assert sealed.errors == ()
    assert published_data(sealed, "settings") == {"a": b"2"}


def test_an_immutable_secret_compares_its_data_after_string_data() -> None:
    run = Run()
    run.step(folder({"s.yaml": ok(secret({"k": "v"}))}))
    same = run.step(folder({"s.yaml": ok(secret({"k": "v"}))}))
    assert same.errors == ()
    edited = run.step(folder({"s.yaml": ok(secret({"k": "w"}))}))
    assert [(e.path, e.line) for e in edited.errors] == [("data", 1)]
    assert published_data(edited, "token") == {"k": b"v"}
