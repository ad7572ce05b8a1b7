"""Health checks as `/healthz` and `/readyz` report them: a name, and why it fails if it does.

Kubernetes' shape: each check is listed as `[+]name ok` or `[-]name failed: reason`, and the
endpoint fails (HTTP 500) when any check fails. The engine computes checks from what it already
holds in memory (relist times, supervised tasks, the loop's lag), so answering never waits on an
engine: a hung Docker engine must make `/healthz` fail, not hang.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class HealthCheck:
    name: str
    """Kubernetes-style check name (`ping`, `pleg`, `tasks`, `loop-lag`, ...)."""
    failure: str = ""
    """Why the check fails; empty when it passes."""

    @property
    def ok(self) -> bool:
        return not self.failure
