"""The Docker event stream of one engine, as an endless, self-reconnecting stream of `RuntimeEvent`.

`DockerRuntime.events` hands out `relay_events`; it is separate because its reconnect loop, its
resume point and its outage logging change together and share nothing with the request/response
calls but the connection (`DockerCalls`). `container_event` is the pure translation of one Docker
event, unit-tested without an engine.

Traps this module deals with:

* **The event stream.** aiodocker's subscription publishes `None` when the stream breaks and never
  reconnects, so `relay_events` runs its own loop: it waits for the engine (warning once per
  outage), subscribes with `since` set to the engine's clock (first connect) or one nanosecond after
  the last event seen, yields a synthetic `relist` event, then relays container events. Events are
  hints: the receiver re-inspects, and the relist is the truth. aiodocker rewrites `time` into a
  naive local datetime, so only `timeNano` is used; `Action`, `Actor.ID` and `Actor.Attributes`
  are read (newer engines dropped `status`/`id`/`from`); `exec_*` events are skipped. One consumer
  per runtime: the aiodocker client holds a single event subscription task.
* **Cached inspections.** Every relayed event drops the runtime's cached inspection of that
  container (the `forget` callback), so the next listing inspects it afresh.

Verified on dockerd 20.10: events arrive well under a second after the fact (the `die` of a
container is typically seen tens of milliseconds after it exits).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import aiodocker
from aiodocker.exceptions import DockerError

from controller.model import labels
from controller.model.errors import RuntimeFailure
from controller.model.meta import ContainerId, NodeName
from controller.model.observed import RuntimeEvent
from controller.runtime.docker.calls import DockerCalls, _docker_message, _untyped
from controller.runtime.docker.json import (
    _mapping,
    _pod_ref,
    _since,
    _str_labels,
    parse_docker_time_ns,
)

__all__ = ["RELIST", "container_event", "relay_events"]

log = logging.getLogger("podyard.runtime")

RELIST = "relist"
"""Action of the synthetic event yielded after every (re)connect of the event stream."""


def container_event(raw: Mapping[str, Any], node: NodeName) -> RuntimeEvent | None:
    """One Docker event as a `RuntimeEvent`, or None for events that are not a container's."""
    if str(raw.get("Type") or "container") != "container":
        return None
    action = str(raw.get("Action") or "")
    if not action or action.startswith("exec_"):
        return None
    actor = _mapping(raw.get("Actor"))
    container_id = str(actor.get("ID") or "")
    if not container_id:
        return None
    time_ns = raw.get("timeNano")
    return RuntimeEvent(
        node=node,
        container_id=ContainerId(container_id),
        action=action,
        pod=_pod_ref(_str_labels(actor.get("Attributes"))),
        time_ns=time_ns if isinstance(time_ns, int) else 0,
    )


async def _engine_time_ns(calls: DockerCalls) -> int:
    """The engine's clock now (its `SystemTime`), falling back to ours if it gives none."""
    try:
        info = await calls.call("info", lambda d: d.system.info())
    except DockerError as exc:
        raise RuntimeFailure(f"{calls.node}: info failed: {_docker_message(exc)}") from exc
    nanos = parse_docker_time_ns(_mapping(info).get("SystemTime"))
    return nanos if nanos is not None else time.time_ns()


async def relay_events(
    calls: DockerCalls, forget: Callable[[ContainerId], None]
) -> AsyncGenerator[RuntimeEvent, None]:
    """Endless stream of container events of Podyard's containers; see the module docstring.

    Ends only when the runtime is closed.
    """
    node = calls.node
    cap = max(0.05, calls.settings.events_reconnect_max_seconds)
    delay = min(0.1, cap)
    since: int | None = None
    outage = False
    while not calls.is_closed():
        try:
            if since is None:
                since = await _engine_time_ns(calls)
            else:
                await calls.ping()
            resume_from = since
        except RuntimeFailure as failure:
            if calls.is_closed():
                return
            if not outage:
                log.warning("node %s: event stream waits for the Docker engine: %s", node, failure)
                outage = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap)
            continue
        if calls.is_closed():
            return
        if outage:
            log.info("node %s: Docker engine reachable again; event stream resumes", node)
            outage = False

        docker = calls.client()
        subscriber = _untyped(docker.events).subscribe(
            filters={"type": ["container"], "label": [labels.POD_UID]},
            since=_since(resume_from),
        )
        connected = time.monotonic()
        try:
            yield RuntimeEvent(node, ContainerId(""), RELIST)
            while True:
                raw = await subscriber.get()
                if raw is None:
                    break
                raw_map = _mapping(raw)
                time_ns = raw_map.get("timeNano")
                if isinstance(time_ns, int):
                    resume_from = max(resume_from, time_ns + 1)
                    since = resume_from
                event = container_event(raw_map, node)
                if event is not None:
                    forget(event.container_id)
                    yield event
        finally:
            del subscriber
            await _stop_events(docker)
        if calls.is_closed():
            return
        log.info("node %s: Docker event stream ended; reconnecting", node)
        if time.monotonic() - connected > cap:
            delay = min(0.1, cap)
        await asyncio.sleep(delay)
        delay = min(delay * 2, cap)


async def _stop_events(docker: aiodocker.Docker) -> None:
    """Stop aiodocker's event task so that the next subscribe starts a fresh one."""
    try:
        await _untyped(docker.events).stop()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the task ended with the connection error that broke it
        log.debug("event task ended with %r", exc)
