"""Reading a container's log on the node that runs it, for the API's `pods/{name}/log`.

The API names the node and the container instance (from the pod's status); this picks that
node's runtime among the engine's and opens the stream. It reads through the engine's wrapped
runtimes, so the read is timed per node like other calls, passes the lease fence (it changes
nothing) and takes no call slot (a follow stays open as long as its reader).

Trap: the engine is replaced at each lease term; the caller passes the current one's runtimes
on every read, never a mapping kept from an earlier term.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from controller.engine.ports import ContainerRuntime
from controller.model.errors import EngineUnavailable
from controller.model.logs import LogOptions
from controller.model.meta import ContainerId, NodeName


def open_logs(
    runtimes: Mapping[NodeName, ContainerRuntime],
    node: str,
    container_id: str,
    options: LogOptions,
) -> AsyncIterator[bytes]:
    """The stream of `container_id` on `node`; `EngineUnavailable` for a node not served here."""
    runtime = runtimes.get(NodeName(node))
    if runtime is None:
        raise EngineUnavailable(f"{node}: no container runtime serves this node")
    return runtime.container_logs(ContainerId(container_id), options)
