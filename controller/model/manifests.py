"""The state of each manifest file, as the API and the metrics show it."""

from __future__ import annotations

import attrs


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
