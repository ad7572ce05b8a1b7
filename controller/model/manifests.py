"""The state of each manifest file, as the API and the metrics show it; and the Namespace kind.

A folder's `kind: Namespace` carries only metadata (name and labels): Podyard reads its
`pod-security.kubernetes.io/enforce` label (see decide.podsecurity) and nothing else; namespaces
need not be declared to be used, as before.
"""

from __future__ import annotations

import attrs

from controller.model.meta import ObjectKey, ObjectMeta


@attrs.frozen
class ManifestFileStatus:
    file: str
    """Relative to the manifests folder."""
    state: str
    """`ok`, `invalid` (its last good objects are kept) or `held` (a change waits out its grace)."""
    message: str = ""
    objects: int = 0
    """Objects of this file in effect now."""
    errors: tuple[str, ...] = ()
    """Every current problem of this file, `file:line: field: message`."""


@attrs.frozen
class RunningObject:
    """An object of the folder as the engine shows it at start: the pods found running from it.

    The baseline of the start-time safety rules: a controller started onto an emptied folder
    compares the folder with these, not with nothing.
    """

    key: ObjectKey
    """`Pod`, `ReplicaSet` or `Deployment`, with its namespace and name."""
    file: str
    """The manifest file the pods were made from (their `io.podyard.pod.source` label)."""
    pods: int


@attrs.frozen
class Namespace:
    """A Namespace object of the folder: its name and labels; it runs nothing."""

    metadata: ObjectMeta
    api_version: str = "v1"
    kind: str = "Namespace"
