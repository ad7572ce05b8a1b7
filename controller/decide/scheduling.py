"""Binding a new pod to a node: filter the nodes that can take it, then the one with fewest pods.

kube-scheduler's shape, for the filters Podyard has today: a node must be Ready, and must have the
pod's host ports free (its NodePorts plugin): the same port and protocol on the same hostIP, or on a
wildcard address (0.0.0.0) on either side, is taken. Among the nodes left, the one with the fewest
pods wins, ties broken by name. A pod no node can take gets Kubernetes' FailedScheduling message
(`0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.`) and
no sandbox is attempted for it.

A port is held by a pod whose sandbox runs (or was just created and is about to start), and by a pod
placed earlier in this pass whose sandbox is not observed yet (the caller's reservations, as the
scheduler's assumed pods): without them, two workers placing two pods at once would both pick the
same free port. A dead sandbox holds nothing (the engine frees its ports): a pod waiting out its
sandbox backoff may lose its port to another, and then keeps failing, visibly and boundedly.

Pure, so property tests can check that no pod is ever bound to a node that is not Ready.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import attrs

from controller.model.meta import NodeName, PodKey
from controller.model.observed import HostPort, ObservedContainer, RunState

NO_FREE_PORTS = "didn't have free ports for the requested pod ports"
"""kube-scheduler's NodePorts reason, word for word."""


@attrs.frozen
class PortUse:
    """A host port held on a node, and the pod holding it."""

    key: PodKey
    port: HostPort


@attrs.frozen
class Placement:
    """Where a new pod goes; `node` None with `unschedulable` set when no node can take it (the
    message is empty when there is simply no Ready node: node health requeues that)."""

    node: NodeName | None
    unschedulable: str = ""


def ports_in_use(containers: Iterable[ObservedContainer]) -> dict[NodeName, list[PortUse]]:
    """Host ports held per node by the sandboxes the engine holds (running or about to start)."""
    held: dict[NodeName, list[PortUse]] = defaultdict(list)
    for container in containers:
        if not container.is_sandbox or not container.host_ports:
            continue
        live = container.state is RunState.RUNNING
        starting = container.state is RunState.CREATED and not container.failed_to_start
        if live or starting:
            held[container.node].extend(PortUse(container.pod.key, p) for p in container.host_ports)
    return held


def free_ports(key: PodKey, wanted: Sequence[HostPort], used: Iterable[PortUse]) -> bool:
    """No port `key` wants is held by another pod (its own old instance does not count)."""
    return not any(use.key != key and port.clashes(use.port) for use in used for port in wanted)


def unschedulable_message(nodes: int, reasons: Mapping[str, int]) -> str:
    """`0/N nodes are available: k node(s) <reason>, ...`, as kube-scheduler writes it."""
    parts = ", ".join(f"{count} node(s) {reason}" for reason, count in sorted(reasons.items()))
    return f"0/{nodes} nodes are available: {parts}."


def place_pod(
    key: PodKey,
    wanted: Sequence[HostPort],
    ready: Sequence[NodeName],
    load: Mapping[NodeName, int],
    used: Mapping[NodeName, Sequence[PortUse]],
) -> Placement:
    if not ready:
        return Placement(None)
    fits = [node for node in ready if free_ports(key, wanted, used.get(node, ()))]
    if not fits:
        return Placement(None, unschedulable_message(len(ready), {NO_FREE_PORTS: len(ready)}))
    return Placement(pick_node(fits, load))


def pick_node(ready: Sequence[NodeName], load: Mapping[NodeName, int]) -> NodeName | None:
    if not ready:
        return None
    return min(ready, key=lambda node: (load.get(node, 0), node))
