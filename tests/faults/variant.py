"""How hard the fault suite pushes: the short variant (`make test`) or the long one.

`PODYARD_FAULTS=long` (what `make faults-long` sets) selects the long variant; anything else, or
nothing, the short one: the issue's own figures (30 kills, a 30 s freeze), within a few minutes on
two cores. The long one soaks: 100 kills, a 60 s freeze, 120 s behind the faulty socket.
`PODYARD_FAULTS_SEED` replays a run: every random choice of the suite (kill points, injected
faults) comes from a generator seeded with it and the case's name, and the seed is printed with
the figures. Without it a new seed is drawn per session, so repeated runs explore new points.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultVariant:
    name: str
    seed: int
    kills: int
    """Controller SIGKILLs in the kill case (the promise speaks of 30)."""
    freeze_seconds: float
    """How long dockerd stays SIGSTOPped (the promise: 30 s)."""
    proxy_seconds: float
    """How long the controller runs behind the fault-injecting socket proxy."""

    def rng(self, case: str) -> random.Random:
        """The case's own generator: cases draw independently of which others ran."""
        return random.Random(f"{self.seed}:{case}")


def variant_from_environment(environ: Mapping[str, str] | None = None) -> FaultVariant:
    env = os.environ if environ is None else environ
    seed_text = env.get("PODYARD_FAULTS_SEED", "").strip()
    seed = int(seed_text) if seed_text else random.SystemRandom().randrange(1, 2**31)
    if env.get("PODYARD_FAULTS", "").strip().lower() == "long":
        return FaultVariant("long", seed, kills=100, freeze_seconds=60.0, proxy_seconds=120.0)
    return FaultVariant("short", seed, kills=30, freeze_seconds=30.0, proxy_seconds=30.0)
