"""A request, made through the API, to delete one instance of a pod (`kubectl delete pod`).

The request names the instance by its uid, so it can never reach the pod that replaces it (a
bare pod's file makes a new instance under the same name). It carries the grace period asked
for and when it was asked: the decision stops the instance's containers with what is left of that
grace (`remaining`), so a controller that takes over mid-deletion does not start the grace again.

Traps: the grace asked for overrides the pod's `terminationGracePeriodSeconds` whichever is longer,
as Kubernetes does on a first delete; 0 (`--grace-period=0 --force`) stops at once (SIGKILL).
"""

from __future__ import annotations

import enum
import math

import attrs

from controller.model.meta import PodUid
from controller.model.status import PodView


@attrs.frozen
class PodDeletion:
    uid: PodUid
    grace_seconds: int
    requested_at: float
    """Seconds since the epoch (the engine's clock) when the API received the request."""

    def remaining(self, now: float) -> int:
        """Whole seconds of grace left at `now` (rounded up, so a grace of 1 is never 0)."""
        left = self.requested_at + self.grace_seconds - now
        return max(0, min(self.grace_seconds, math.ceil(left)))

    def shortened(self, grace_seconds: int, now: float) -> PodDeletion:
        """A second delete may only shorten the grace still left (Kubernetes' rule)."""
        if grace_seconds >= self.remaining(now):
            return self
        return PodDeletion(self.uid, grace_seconds, now)


class DeleteVerdict(enum.Enum):
    ACCEPTED = "Accepted"
    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"


@attrs.frozen
class DeleteResult:
    """What the engine answers a delete: the pod as it is now (marked for deletion), and a
    warning for the client when the pod will come back (a bare pod declared by a file)."""

    verdict: DeleteVerdict
    view: PodView | None = None
    warning: str = ""
    message: str = ""
    """Why a delete was refused (a Conflict's words)."""
