"""Desired state as the engine holds it: a declared pod plus the hashes computed once on load.

Hashes are computed by serde (canonical JSON) when a manifest is loaded, so `decide` can compare
them with the hashes on the engine's labels without depending on serde.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller.model.meta import PodKey
from controller.model.pod import Pod


@attrs.frozen
class DesiredPod:
    pod: Pod
    spec_hash: str
    container_hashes: Mapping[str, str]
    owner: str = ""
    source: str = ""
    """Where the pod was declared (a manifest file), for messages."""
    manifest: str = ""
    """The pod object as JSON, stored on its sandbox so the engine alone can restore it."""

    @property
    def key(self) -> PodKey:
        return PodKey(self.pod.metadata.namespace, self.pod.metadata.name)
