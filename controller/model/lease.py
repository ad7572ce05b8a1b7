"""The engine lease as data: who holds it, what the engine last stamped, how it is written in labels.

A controller acts on an engine only while it holds that engine's lease (`engine/lease.py` runs it,
`runtime` stores it as a container named `LEASE_NAME`). This module holds the frozen types and the
label contract of that container; it reads no clock and does no I/O.

Traps:

* **Labels are written once.** Docker cannot change a container's labels, so they carry only what
  never changes for one holding: the holder's identity and the lease duration. What changes (the
  renewals) is the engine's own `State.StartedAt`, read back as `LeaseRecord.renewed`.
* **Reading is tolerant.** A container of that name without the lease label, or with a holder id
  missing, is `foreign`: nobody holds it and nobody may remove it. The engine then runs without a
  lease of its own and says so, rather than touch what it did not make.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller.model.meta import ContainerId, NodeName

LEASE_NAME = "podyard-lease"
"""The lease container's name on every engine: Docker's unique names make its creation the lock."""

LEASE = "io.podyard.lease"
"""Marks the lease container (value "1"); filters find it with `label=io.podyard.lease`."""
HOLDER_ID = "io.podyard.lease.holder"
HOLDER_HOST = "io.podyard.lease.host"
HOLDER_PID = "io.podyard.lease.pid"
HOLDER_BOOT_ID = "io.podyard.lease.boot-id"
HOLDER_PID_NAMESPACE = "io.podyard.lease.pid-namespace"
HOLDER_MANIFESTS = "io.podyard.lease.manifests"
HOLDER_API = "io.podyard.lease.api"
DURATION = "io.podyard.lease.duration-seconds"


@attrs.frozen
class LeaseHolder:
    """One controller process: a random `id` (new at every start) and where it runs."""

    id: str
    host: str
    pid: int
    manifests: str
    """The holder's manifests folder, as it was given."""
    api: str
    """The holder's API address (http://host:port)."""
    boot_id: str = ""
    """The kernel's boot id of the holder's machine: with `pid_namespace`, it tells whether an
    observer can see the holder's process at all (same machine, same pid namespace)."""
    pid_namespace: str = ""

    def describe(self) -> str:
        return f"{self.host} pid {self.pid} (folder {self.manifests}, API {self.api})"


@attrs.frozen
class LeaseRecord:
    """The lease container as read from one engine."""

    container_id: ContainerId
    holder: LeaseHolder | None
    """None when the container is not a lease Podyard wrote (see `foreign`)."""
    duration_seconds: float
    renewed: str
    """The engine's `StartedAt` text (nanoseconds): it changes at every renewal. Compared, never
    parsed for decisions: an observer judges expiry on its own clock, not the engine's."""
    renewed_at: float | None = None
    """`renewed` as epoch seconds, for people."""
    created_at: float | None = None

    @property
    def foreign(self) -> bool:
        return self.holder is None

    @property
    def stamp(self) -> tuple[ContainerId, str]:
        """What an observer remembers: a new container or a new renewal is a change."""
        return (self.container_id, self.renewed)


@attrs.frozen
class LeaseView:
    """One node's lease as this controller judges it, for the API, the metric and the logs."""

    node: NodeName
    held: bool
    """This controller holds it (and so acts on the node)."""
    holder: LeaseHolder | None
    container_id: ContainerId | None
    acquired_at: float | None
    """Epoch seconds the engine created the lease container."""
    renewed_at: float | None
    """Epoch seconds of the engine's last renewal stamp."""
    expires_in: float | None
    """Seconds until this controller would judge the lease expired; None when there is no lease
    or it has not been read yet."""
    duration_seconds: float
    losses: int = 0
    """Times this controller lost the lease while holding it (since it started)."""
    slow_renewals: int = 0
    """Renewals slow enough (longer than a retry period) that the node's pod calls waited for them."""
    held_back_seconds: float = 0.0
    """How long, in all, the node's pod calls waited for slow renewals."""


def lease_labels(holder: LeaseHolder, duration_seconds: float) -> dict[str, str]:
    return {
        LEASE: "1",
        HOLDER_ID: holder.id,
        HOLDER_HOST: holder.host,
        HOLDER_PID: str(holder.pid),
        HOLDER_BOOT_ID: holder.boot_id,
        HOLDER_PID_NAMESPACE: holder.pid_namespace,
        HOLDER_MANIFESTS: holder.manifests,
        HOLDER_API: holder.api,
        DURATION: f"{duration_seconds:g}",
    }


def holder_from_labels(labels: Mapping[str, str]) -> tuple[LeaseHolder | None, float]:
    """The holder and duration written on a lease container; (None, 0) if it is not a lease."""
    if labels.get(LEASE) != "1" or not labels.get(HOLDER_ID):
        return None, 0.0
    try:
        pid = int(labels.get(HOLDER_PID, "0"))
        duration = float(labels.get(DURATION, "0"))
    except ValueError:
        return None, 0.0
    holder = LeaseHolder(
        id=labels[HOLDER_ID],
        host=labels.get(HOLDER_HOST, ""),
        pid=pid,
        manifests=labels.get(HOLDER_MANIFESTS, ""),
        api=labels.get(HOLDER_API, ""),
        boot_id=labels.get(HOLDER_BOOT_ID, ""),
        pid_namespace=labels.get(HOLDER_PID_NAMESPACE, ""),
    )
    return holder, duration
