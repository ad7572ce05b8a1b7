"""Orphaned configMap and secret volume folders: found and removed, never from ignorance.

A pod instance's volume folders (`<config_volume_dir>/<pod uid>/...`, see configvolumes) go when
the executor removes the instance's last container. They stay behind when that never happens
here: the controller killed between the two steps, or the pod's containers removed behind its
back (`docker rm -f`) and the pod made anew with a new uid. Each left folder is disk, and a
Secret's is a tmpfs holding its values in memory, for as long as the host runs.

So every `SWEEP_INTERVAL_SECONDS` the folders are looked at, and one is removed only when all of
this holds:

- it carries the mark `ENGINE_MARK`, written with its first volume, naming the engine (Docker's
  `ID`) the instance runs on: folders of another controller's engines on this host (they share the
  default folder) and folders written before marks existed are never judged;
- that engine is the engine of a node this controller knows right now (relisted since start or
  since it was last unreachable): a node that did not answer is not a node without pods;
- no container of that uid is on that engine's nodes in the observed cache;
- the mark is older than `MIN_AGE_SECONDS`: a folder is written just before its first container
  is created, and the cache read before the folder scan must not judge a pod being made.

The removal is configvolumes' own (a Secret's tmpfs unmounted first), logged with the uid.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Mapping

from controller.engine.nodes import NodeRegistry
from controller.model.meta import NodeName
from controller.model.observed import ObservedContainer

log = logging.getLogger(__name__)

ENGINE_MARK = ".engine"
"""In `<config_volume_dir>/<pod uid>/`: the id of the engine the pod instance runs on."""
SWEEP_INTERVAL_SECONDS = 300.0
MIN_AGE_SECONDS = 60.0


def engine_id(nodes: NodeRegistry, node: NodeName) -> str:
    """Docker's `ID` of the node's engine, or "" while its `/info` was not read."""
    status = nodes.get(node)
    capacity = status.capacity if status is not None else None
    engine = capacity.engine if capacity is not None else None
    return engine.engine_id if engine is not None else ""


def live_uids(nodes: NodeRegistry, containers: Iterable[ObservedContainer]) -> dict[str, set[str]]:
    """Per engine of a node known now, the pod uids that have a container there."""
    engines: dict[NodeName, str] = {}
    for node in nodes.known():
        engine = engine_id(nodes, node)
        if engine:
            engines[node] = engine
    live: dict[str, set[str]] = {engine: set() for engine in engines.values()}
    for container in containers:
        on = engines.get(container.node)
        if on is not None:
            live[on].add(container.identity.pod.uid)
    return live


def orphaned(
    base_dir: str, live: Mapping[str, set[str]], now: float, min_age: float = MIN_AGE_SECONDS
) -> list[str]:
    """The uids under `base_dir` that the module docstring's rules let go (blocking: a thread)."""
    found: list[str] = []
    try:
        entries = list(os.scandir(base_dir))
    except OSError:  # none yet, or not ours to read (not root): nothing to judge
        return found
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        mark = os.path.join(entry.path, ENGINE_MARK)
        try:
            written = os.lstat(mark).st_mtime
            with open(mark, encoding="utf-8") as file:
                engine = file.read().strip()
        except (OSError, UnicodeDecodeError):
            continue  # no mark: not ours to judge
        if engine not in live or entry.name in live[engine]:
            continue
        if now - written < min_age:
            continue
        found.append(entry.name)
    return found


async def find_orphans(
    base_dir: str, nodes: NodeRegistry, containers: Iterable[ObservedContainer]
) -> list[str]:
    """The cache is read first, in the loop; the folder after, in a thread."""
    live = live_uids(nodes, containers)
    if not live:
        return []
    return await asyncio.to_thread(orphaned, base_dir, live, time.time())
