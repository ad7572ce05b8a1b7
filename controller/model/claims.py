"""PersistentVolumeClaim (v1): storage that outlives pods, as a frozen type.

A claim in the folder stands for one named Docker volume per node (`docker_volume_name`), made by
the local driver on the node where the first pod using it runs, labelled as the claim's
(`labels.CLAIM`) and never carrying a pod's uid label: the pod clean-up, which removes only volumes
labelled with a pod uid, can never take a claim's data with it. The claim's reclaim policy is
Kubernetes' default for pre-provisioned volumes, Retain: deleting the claim's file keeps the volume
and its data, and a claim of the same name declared again finds them.

Traps:
- Field names are the snake_case of Kubernetes'; `resources.requests.storage` is the requested
  size, which the local driver cannot enforce: it is reported as the capacity, as a PV would.
- Only `volumeMode: Filesystem` exists for a Docker volume; `Block` is refused by validation.
"""

from __future__ import annotations

import enum
import hashlib

import attrs

from controller.model.meta import NodeName, ObjectMeta
from controller.model.quantity import Quantity

RECLAIM_POLICY = "Retain"
"""What happens to a claim's volume when the claim goes: it stays, with its data."""

DOCKER_VOLUME_PREFIX = "podyard-pvc-"
_MAX_DOCKER_NAME = 128


class AccessMode(enum.StrEnum):
    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_ONLY_MANY = "ReadOnlyMany"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_WRITE_ONCE_POD = "ReadWriteOncePod"


class VolumeMode(enum.StrEnum):
    FILESYSTEM = "Filesystem"
    BLOCK = "Block"


@attrs.frozen
class StorageList:
    """The one resource a claim may ask for."""

    storage: Quantity | None = None


@attrs.frozen
class VolumeResourceRequirements:
    requests: StorageList = StorageList()
    limits: StorageList = StorageList()


@attrs.frozen
class PersistentVolumeClaimSpec:
    access_modes: tuple[AccessMode, ...] = ()
    resources: VolumeResourceRequirements = VolumeResourceRequirements()
    storage_class_name: str | None = None
    """Accepted and shown; every claim is a volume of Docker's local driver whatever it says."""
    volume_mode: VolumeMode = VolumeMode.FILESYSTEM


@attrs.frozen
class PersistentVolumeClaim:
    metadata: ObjectMeta
    spec: PersistentVolumeClaimSpec
    api_version: str = "v1"
    kind: str = "PersistentVolumeClaim"


def docker_volume_name(namespace: str, name: str) -> str:
    """`podyard-pvc-<ns>-<name>`; a hash suffix keeps it unique and within Docker's limits.

    Namespace and name are DNS labels/subdomains (no `-` is special in them), so `<ns>-<name>`
    alone could collide (`a-b`/`c` and `a`/`b-c`); the short hash of `ns/name` cannot.
    """
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    base = f"{DOCKER_VOLUME_PREFIX}{namespace}-{name}"
    return f"{base[: _MAX_DOCKER_NAME - 9]}-{digest}"


@attrs.frozen
class ClaimFacts:
    """What placing a new pod reads of the claims it mounts (made by the engine's claim book)."""

    missing: tuple[str, ...] = ()
    """Claims the pod names that are not declared in its namespace: the pod waits."""
    nodes: frozenset[str] | None = None
    """The nodes holding the volume of every bound claim the pod mounts (ReadWriteOnce: the
    data is there); None when none of its claims is bound yet, so any node will do."""


@attrs.frozen
class ClaimView:
    """A declared claim as the API shows it: bound (to a volume on nodes) or still pending."""

    claim: PersistentVolumeClaim
    volume: str
    """The Docker volume's name; empty while no pod has used the claim."""
    nodes: tuple[NodeName, ...]
    declared_at: float
    """When this controller first read the claim in the folder (its creationTimestamp)."""
