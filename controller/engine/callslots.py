"""The slots of one engine's calls: two lanes, and a wait that gives up only on an engine that stalls.

`slots.SlottedRuntime` bounds the calls that do work on one engine; this module is its semaphore.
Two things a plain `asyncio.Semaphore` with a timeout got wrong once hundreds of pods came up at once:

- **The relist waited behind the bring-up.** Every pod has its own worker, so 200 pods coming up
  queue about 200 calls for the slots, and the relist (the node's heartbeat: its absence turns the
  node NotReady) queued behind all of them. Urgent calls (the relist's listings, a ping, the
  capacity) have a lane of their own, served before any pod's call; they are few and short.
- **A long queue read as a dead engine.** A call gave up after `patience` seconds in the queue, so
  with a few hundred calls ahead of it a busy but healthy engine failed calls ("no free call slot"),
  which were retried and reported as errors. Now a waiting call gives up only when no call to the
  engine was answered for `patience` seconds (counted from the later of its own arrival and the
  last answer): a hung engine still fails every waiting call within `patience`, and a busy one only
  makes them wait their turn. An answer is any call that returned or raised anything but
  `EngineUnavailable` (a refusal is an answer; a deadline hit is not).

- **A slow lease renewal lost the lease.** The renewal goes to the same engine, outside the slots;
  while it is slow to come back, the node's `RenewalGate` (renewalgate.py) is closed and pod calls
  get no slot (the urgent lane still does), so the engine drains and answers it. When the gate
  opens, the slots freed meanwhile go to the waiting pod calls.

Traps: a waiter cancelled or giving up just as a slot was handed to it must pass the slot on, or
the slot leaks; times are the event loop's (`loop.time()`), the clock `asyncio.wait` measures with,
so the engine tests' virtual time drives both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from controller.engine.renewalgate import RenewalGate


class NoSlot(Exception):
    """No call to the engine was answered for `patience` seconds while this call waited."""


class CallSlots:
    """`slots` calls at once; urgent waiters first; waiting bounded by the engine's progress."""

    def __init__(self, slots: int, patience: float, gate: RenewalGate | None = None) -> None:
        self.slots = slots
        self.patience = patience
        self._gate = gate
        if gate is not None:
            gate.listen(self)
        self._free = slots
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()
        self._answered_at = float("-inf")
        """Loop time of the last call the engine answered."""

    def waiting(self) -> int:
        return len(self._urgent) + len(self._normal)

    async def acquire(self, *, urgent: bool) -> None:
        """Take a slot; `NoSlot` if the engine answered nothing for `patience` seconds meanwhile."""
        lane = self._urgent if urgent else self._normal
        if self._free > 0 and not self._urgent and (urgent or not (self._normal or self._held())):
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        granted: asyncio.Future[None] = loop.create_future()
        lane.append(granted)
        try:
            while not granted.done():
                quiet_since = max(arrived, self._answered_at)
                left = self.patience - (loop.time() - quiet_since)
                if left <= 0:
                    break
                await asyncio.wait({granted}, timeout=left)
        except BaseException:
            self._withdraw(lane, granted)
            raise
        if not granted.done():
            self._withdraw(lane, granted)
            raise NoSlot
        # granted: the slot was handed over by `release` (its count never went back up)

    def release(self, *, answered: bool) -> None:
        """Give the slot back; `answered` when the engine answered the call that held it."""
        if answered:
            self._answered_at = asyncio.get_running_loop().time()
        if not self._hand_over():
            self._free += 1

    def gate_opened(self) -> None:
        """The renewal gate opened: the slots freed while it was closed go to the waiters."""
        while self._free > 0 and self._hand_over():
            self._free -= 1

    def _held(self) -> bool:
        """Pod calls wait: the lease renewal on this engine is slow (renewalgate.py)."""
        return self._gate is not None and self._gate.closed

    def _hand_over(self) -> bool:
        """Hand one slot to the first waiter that may have it; False if none may."""
        lanes = (self._urgent,) if self._held() else (self._urgent, self._normal)
        for lane in lanes:
            while lane:
                waiter = lane.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return True
        return False

    def _withdraw(self, lane: deque[asyncio.Future[None]], granted: asyncio.Future[None]) -> None:
        """A waiter leaves: out of its lane, or, if a slot reached it already, the slot goes on."""
        if granted.done():
            self.release(answered=False)
            return
        granted.cancel()
        with contextlib.suppress(ValueError):  # `release` may have taken it out already
            lane.remove(granted)
