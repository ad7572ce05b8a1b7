"""Immutable ConfigMaps and Secrets: an edit in the folder is refused, as the API server refuses it.

Kubernetes rejects an update of a ConfigMap or Secret whose `immutable` is true when it changes
`data` or `binaryData` (a Secret: its data after `stringData` is merged in) or unsets
`immutable` ("field is immutable when `immutable` is set"); deleting it is allowed, and so is
creating it again. Users rely on that: pods reading an immutable object may assume it never
changes under them, and the kubelet stops watching it.

In the folder an edit is not a request that can be turned down, so the rule keeps the object as it
was published, reports the edit as an error at the file, line and field, and applies nothing of it
until the file says what was published again. To change such an object, remove it from the folder
(or give it a new name, the usual way) and declare it anew.

Pure, like the rest of the safety rules (safety.py calls it). The memory is the published set, so a
controller that starts while the file holds an edit takes the file as it finds it: there is nothing
published to compare with.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.model.configdata import ConfigMap, Secret
from controller.model.meta import ObjectKey
from controller.source.results import LoadedObject, ManifestError

FORBIDDEN = "Forbidden: field is immutable when `immutable` is set"


def immutable_change(old: object, new: object) -> str:
    """The field an edit from `old` to `new` may not change ("" if it may be applied)."""
    if isinstance(old, ConfigMap) and isinstance(new, ConfigMap) and old.immutable:
        if dict(old.data) != dict(new.data):
            return "data"
        if dict(old.binary_data) != dict(new.binary_data):
            return "binaryData"
        return "" if new.immutable else "immutable"
    if isinstance(old, Secret) and isinstance(new, Secret) and old.immutable:
        try:
            changed = old.payload() != new.payload()
        except ValueError:  # the loader checked the base64; never fail the folder over it
            changed = True
        if changed:
            return "data"
        return "" if new.immutable else "immutable"
    return ""


def keep_immutable(
    published: Mapping[ObjectKey, LoadedObject],
    chosen: Mapping[ObjectKey, tuple[LoadedObject, bool]],
) -> tuple[dict[ObjectKey, tuple[LoadedObject, bool]], list[ManifestError]]:
    """`chosen` with each refused edit replaced by the published object, and an error for each."""
    kept = dict(chosen)
    errors: list[ManifestError] = []
    for key, (new, strong) in chosen.items():
        old = published.get(key)
        if old is None or old.obj is new.obj:
            continue
        field = immutable_change(old.obj, new.obj)
        if not field:
            continue
        kept[key] = (old, strong)
        message = (
            f"{key.kind} {key.namespace}/{key.name}: {FORBIDDEN}; the published object stays: "
            "remove it from the folder (or give it a new name) to change it"
        )
        errors.append(ManifestError(new.file, new.line, field, message))
    return kept, errors
