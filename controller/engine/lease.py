"""One engine's lease as one controller sees it: acquire, renew, judge expiry, take over, release.

Two controllers on one engine must never both act (each would delete the other's pods). Docker has
no lock, so the lock is a container with a fixed name (see `runtime/docker/lease.py`): creating it
is atomic, its labels say who holds it, and each renewal is a `start` that makes the engine stamp
it anew. `Leadership` (leadership.py) drives one `NodeLease` per node; this class makes one step
at a time and reads time only through the injected `monotonic`, so tests drive it with a fake.

The rules, after client-go's leader election:

* **Expiry is judged on the observer's own clock.** An observer remembers the lease's stamp
  (container id, engine renewal stamp) and the local monotonic time it last saw that stamp change.
  The lease is expired when the stamp has not changed for the holder's duration. Engine and
  observer clocks are never compared, so neither skew nor a wall-clock jump moves a decision.
* **The holder stops before anyone may take over.** The holder counts a renewal as good only when
  it completed within `renew_deadline_seconds` of the previous good one being *sent*, and it holds
  until that deadline (each call bounded by the time left). An observer saw any stamp no earlier
  than it was sent, so when an observer's duration runs out, the holder's shorter deadline has
  already passed: the margin between them absorbs scheduling delays. A renewal that lands late is
  not counted (an observer may have judged the lease expired meanwhile): the lease is lost.
* **Takeover removes by id, then creates.** Removing the expired container by the id that was
  judged removes nothing if someone replaced it meanwhile; the create is the atomic step, and of
  two standbys taking over at once one gets a name conflict.
* **A dead holder need not be waited for.** When the holder ran on this machine (same kernel boot
  id) in this pid namespace and no process has its pid, it died without releasing (SIGKILL):
  the lease is taken at once. Any doubt (another machine, another namespace, a reused pid) waits
  for expiry: the check can only err towards waiting.
* **An engine that does not answer** cannot be renewed: the holder keeps its lease until the
  deadline (a short outage does not flap), then loses it. A failed renewal is tried again soon
  (`Leadership.wait`), not a whole retry period later. Once lost, a lease is never renewed again.
* **Our own container is replaced at once, not waited for.** A lease container that names this
  very controller (its random id) while it does not hold the lease is one whose create answer was
  lost, or one left by a term it already ended: nobody acts on it. It is removed by id and created
  anew, which is safe against a standby that judged it expired meanwhile: of the two removals by the
  same id one finds nothing, and of the two creates one gets a name conflict. Waiting out our own
  lease would only idle the engine for a whole duration.

Traps: a holder whose whole process freezes (SIGSTOP, swap) acts on when it wakes until its next
renewal finds the lease gone; that window is one retry period, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from controller.config import LeaseSettings
from controller.engine.ports import ContainerRuntime
from controller.engine.renewalgate import RenewalGate
from controller.model.errors import NameConflict, RuntimeFailure
from controller.model.lease import LEASE_NAME, LeaseHolder, LeaseRecord, LeaseView
from controller.model.meta import ContainerId, NodeName

log = logging.getLogger(__name__)


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def local_holder(manifests: str, api: str) -> LeaseHolder:
    """This process as a lease holder: a new random id at every start."""
    return LeaseHolder(
        id=uuid.uuid4().hex,
        host=socket.gethostname(),
        pid=os.getpid(),
        manifests=manifests,
        api=api,
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        pid_namespace=_pid_namespace(),
    )


def process_gone(holder: LeaseHolder) -> bool:
    """True only when `holder`'s process provably no longer exists (see the module docstring)."""
    here = local_holder("", "")
    if not holder.boot_id or holder.boot_id != here.boot_id or holder.pid <= 0:
        return False
    if not holder.pid_namespace or holder.pid_namespace != here.pid_namespace:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class NodeLease:
    """The lease of one node: held by this controller or watched while another holds it."""

    def __init__(
        self,
        runtime: ContainerRuntime,
        me: LeaseHolder,
        settings: LeaseSettings,
        monotonic: Callable[[], float],
        holder_gone: Callable[[LeaseHolder], bool] = process_gone,
        gate: RenewalGate | None = None,
    ) -> None:
        self.runtime = runtime
        self.node: NodeName = runtime.node
        self.gate = gate or RenewalGate(
            self.node, settings.renew_deadline_seconds, settings.retry_period_seconds
        )
        """Closed while a renewal is slow: the engine's pod calls make way (renewalgate.py)."""
        self.me = me
        self.settings = settings
        self._monotonic = monotonic
        self._holder_gone = holder_gone
        self.held: ContainerId | None = None
        self.acquire_failing = False
        """The last try to take the lease failed on the engine (not because another controller
        holds it): the next try comes sooner, as after a failed renewal."""
        """The id of our lease container while we hold the lease."""
        self.good_until = 0.0
        """Local monotonic time until which we hold it without another good renewal."""
        self.seen: LeaseRecord | None = None
        self.seen_changed_at: float | None = None
        self.error = ""
        """Why the last step failed (engine unavailable, a foreign container), for the logs."""
        self.losses = 0
        """Times the lease was lost while held (a metric: podyard_lease_lost_total)."""

    # -- judging -----------------------------------------------------------------------------

    def _observe(self, record: LeaseRecord | None, now: float) -> None:
        if record is None:
            self.seen, self.seen_changed_at = None, None
        elif self.seen is None or record.stamp != self.seen.stamp:
            self.seen, self.seen_changed_at = record, now
        else:
            self.seen = record

    def expires_in(self, now: float) -> float | None:
        """Seconds until the lease seen is judged expired (<= 0: expired); None if none seen."""
        if self.held is not None:
            return self.good_until - now
        if self.seen is None or self.seen_changed_at is None:
            return None
        duration = self.seen.duration_seconds or self.settings.duration_seconds
        return self.seen_changed_at + duration - now

    def valid(self) -> bool:
        """Held, and its renew deadline not passed on the local clock: this controller may act."""
        return self.held is not None and self._monotonic() < self.good_until

    def remaining(self) -> float | None:
        """`expires_in` now."""
        return self.expires_in(self._monotonic())

    def view(self) -> LeaseView:
        seen = self.seen
        return LeaseView(
            node=self.node,
            held=self.held is not None,
            holder=seen.holder if seen else None,
            container_id=seen.container_id if seen else None,
            acquired_at=seen.created_at if seen else None,
            renewed_at=seen.renewed_at if seen else None,
            expires_in=self.expires_in(self._monotonic()),
            duration_seconds=(seen.duration_seconds if seen else 0.0)
            or self.settings.duration_seconds,
            losses=self.losses,
            slow_renewals=self.gate.closings,
            held_back_seconds=self.gate.closed_seconds,
        )

    # -- steps -------------------------------------------------------------------------------

    async def try_acquire(self) -> bool:
        """One attempt while not holding; True when this controller now holds the lease."""
        if self.held is not None:
            return True
        started = self._monotonic()
        bound = self.settings.renew_deadline_seconds
        try:
            async with asyncio.timeout(bound):
                record = await self.runtime.read_lease()
                self._observe(record, self._monotonic())
                if record is not None and not self._may_take(record):
                    self.acquire_failing = False  # held by a live controller: wait for it
                    return False
                if record is not None:
                    log.warning(
                        "node %s: taking over the lease of %s (%s)",
                        self.node,
                        record.holder.describe() if record.holder else "nobody",
                        self._takeover_reason(record),
                    )
                    await self.runtime.remove_lease(record.container_id)
                # the engine stamps the lease during this call, so nobody can see it expire
                # earlier than a duration after now: the reading and removing before it (slow
                # on a flaky engine) must not eat into the new holder's deadline
                started = self._monotonic()
                mine = await self.runtime.create_lease(self.me, self.settings.duration_seconds)
        except NameConflict as conflict:
            self.error = str(conflict)  # another standby was quicker: it holds the lease now
            self.acquire_failing = False
            return False
        except (RuntimeFailure, TimeoutError) as failure:
            self.error = (
                str(failure) or f"{self.node}: the engine did not answer within {bound:g} s"
            )
            self.acquire_failing = True
            return False
        self.error = ""
        self.acquire_failing = False
        self.held = mine.container_id
        self.good_until = started + self.settings.renew_deadline_seconds
        self._observe(mine, self._monotonic())
        return True

    def _takeover_reason(self, record: LeaseRecord) -> str:
        if record.holder == self.me:
            return "it is this controller's own"
        if (self.remaining() or 0) > 0:
            return "its process is gone"
        return f"not renewed for {record.duration_seconds or 0:g} s"

    def _may_take(self, record: LeaseRecord) -> bool:
        if record.holder is None:
            self.error = (
                f"{self.node}: a container named {LEASE_NAME} exists that Podyard "
                "did not make; remove it to let a controller act on this engine"
            )
            return False
        remaining = self.expires_in(self._monotonic())
        if remaining is not None and remaining <= 0:
            return True
        if record.holder == self.me:
            return True  # our own, from a lost create answer or an ended term: see the docstring
        return self._holder_gone(record.holder)

    async def renew(self) -> bool:
        """One renewal while holding; False when the lease is lost (stop acting at once).

        The gate is pending from the first attempt until one goes through or the lease is lost: a
        failed attempt tried again soon keeps it pending."""
        if self.held is not None:
            self.gate.pending()
        try:
            kept = await self._renew_once()
        except BaseException:
            self.gate.settled()
            raise
        if not kept or not self.error:
            self.gate.settled()
        return kept

    async def _renew_once(self) -> bool:
        held = self.held
        if held is None:
            return False
        sent = self._monotonic()
        left = self.good_until - sent
        if left <= 0:
            return self._lose(f"not renewed for {self.settings.renew_deadline_seconds:g} s")
        try:  # one attempt gets a retry period: a call that hangs must not eat the deadline
            async with asyncio.timeout(min(left, self.settings.retry_period_seconds)):
                renewed = await self.runtime.renew_lease(held)
                record = await self.runtime.read_lease()  # also: who holds it, if not us
        except (RuntimeFailure, TimeoutError) as failure:
            self.error = str(failure) or f"{self.node}: the engine did not answer in time"
            if self._monotonic() >= self.good_until:
                return self._lose(f"not renewed for {self.settings.renew_deadline_seconds:g} s")
            return True  # a short outage: held until the deadline
        done = self._monotonic()
        if not renewed or record is None or record.container_id != held:
            self._observe(record, done)
            return self._lose("the lease container was removed or replaced")
        if done >= self.good_until:
            self._observe(record, done)
            return self._lose("the renewal completed after the deadline")
        self.error = ""
        self.good_until = sent + self.settings.renew_deadline_seconds
        self._observe(record, done)
        return True

    @property
    def renewal_failing(self) -> bool:
        """Held, but the last renewal did not go through (it is tried again soon)."""
        return self.held is not None and bool(self.error)

    def _lose(self, reason: str) -> bool:
        self.held = None
        self.losses += 1
        self.error = f"{self.node}: lease lost: {reason}"
        return False

    async def release(self) -> None:
        """Give the lease back (remove our container by id) so a standby takes over at once."""
        held, self.held = self.held, None
        self.gate.settled()
        if held is None:
            return
        try:
            async with asyncio.timeout(self.settings.renew_deadline_seconds):
                await self.runtime.remove_lease(held)
        except (RuntimeFailure, TimeoutError) as failure:
            log.warning(
                "node %s: could not release the lease (%s); it expires in %g s",
                self.node,
                failure or "no answer",
                self.settings.duration_seconds,
            )
            return
        self.seen, self.seen_changed_at = None, None
