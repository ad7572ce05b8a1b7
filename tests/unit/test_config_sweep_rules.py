"""Which configMap/secret volume folders the sweep may remove: only marked ones of an engine this
controller knows now, whose pod uid has no container there, and not freshly written."""

from __future__ import annotations

import os
from pathlib import Path

from controller.engine.configsweep import ENGINE_MARK, live_uids, orphaned
from controller.engine.nodes import NodeRegistry
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid
from controller.model.observed import (
    ContainerIdentity,
    ContainerRole,
    EngineInfo,
    NodeCapacity,
    ObservedContainer,
    RunState,
)

NOW = 1_900_000_000.0
OLD = NOW - 3600


def folder(base: Path, uid: str, engine: str | None, written: float = OLD) -> None:
    (base / uid / "cfg").mkdir(parents=True)
    if engine is not None:
        mark = base / uid / ENGINE_MARK
        mark.write_text(engine + "\n")
        os.utime(mark, (written, written))


def test_only_an_old_marked_folder_of_a_live_engine_without_its_uid_goes(tmp_path: Path) -> None:
    folder(tmp_path, "running", "engine-a")
    folder(tmp_path, "orphan", "engine-a")
    folder(tmp_path, "fresh", "engine-a", written=NOW - 5)  # its first container comes next
    folder(tmp_path, "elsewhere", "engine-b")  # another controller's engine on this host
    folder(tmp_path, "unmarked", None)  # written before marks, or not ours
    (tmp_path / "a-file").write_text("x")
    live = {"engine-a": {"running"}}
    assert orphaned(str(tmp_path), live, NOW) == ["orphan"]


def test_a_folder_that_cannot_be_read_has_no_orphans(tmp_path: Path) -> None:
    """Missing, or not a folder (or not readable, without root): nothing to judge, no failure."""
    assert orphaned(str(tmp_path / "never-made"), {"engine-a": set()}, NOW) == []
    (tmp_path / "a-file").write_text("x")
    assert orphaned(str(tmp_path / "a-file"), {"engine-a": set()}, NOW) == []


def test_only_known_nodes_with_an_engine_id_are_live() -> None:
    nodes = NodeRegistry(dict.fromkeys([NodeName("a"), NodeName("b"), NodeName("c")], "127.0.0.1"))
    nodes.set_capacity(NodeName("a"), NodeCapacity(2, 1 << 30, EngineInfo(engine_id="engine-a")))
    nodes.set_capacity(NodeName("b"), NodeCapacity(2, 1 << 30, EngineInfo(engine_id="engine-b")))
    nodes.set_capacity(NodeName("c"), NodeCapacity(2, 1 << 30))  # /info without an ID
    nodes.relisted(NodeName("a"))
    nodes.relisted(NodeName("c"))  # b never answered: not judged, whatever its folders say
    identity = ContainerIdentity(
        PodRef("default", "web", PodUid("uid-0")), "app", ContainerRole.APP, 0, "h", "ph", 1.0
    )
    on_a = ObservedContainer(ContainerId("c0"), NodeName("a"), "d0", identity, RunState.RUNNING)
    assert live_uids(nodes, [on_a]) == {"engine-a": {"uid-0"}}
