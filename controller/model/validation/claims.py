"""Kubernetes' rules for a PersistentVolumeClaim, and for a pod's `persistentVolumeClaim` volume.

The wording is ValidatePersistentVolumeClaimSpec's (`at least 1 access mode is required`,
`spec.resources[storage]: Required value`), so a message can be searched for.

Traps: a claim here is a Docker volume of the local driver, so `volumeMode: Block` cannot be
honoured and is refused rather than silently given a directory; `storageClassName` is accepted
with any value and changes nothing.
"""

from __future__ import annotations

from controller.model.claims import AccessMode, PersistentVolumeClaim, VolumeMode
from controller.model.pod import PersistentVolumeClaimVolumeSource
from controller.model.validation.meta import (
    FieldError,
    invalid,
    metadata_errors,
    name_errors,
    required,
    show_value,
)

__all__ = ["claim_source_errors", "validate_claim"]


def validate_claim(claim: PersistentVolumeClaim) -> list[FieldError]:
    """Every problem of `claim`, in document order."""
    errors = metadata_errors(claim.metadata)
    spec = claim.spec
    modes = spec.access_modes
    if not modes:
        errors.append(required("spec.accessModes", "at least 1 access mode is required"))
    if AccessMode.READ_WRITE_ONCE_POD in modes and len(modes) > 1:
        errors.append(
            FieldError(
                "spec.accessModes",
                "Forbidden: may not use ReadWriteOncePod with other access modes",
            )
        )
    storage = spec.resources.requests.storage
    if storage is None:
        errors.append(required("spec.resources[storage]"))
    elif storage.value <= 0:
        errors.append(invalid("spec.resources[storage]", storage.text, "must be greater than zero"))
    limit = spec.resources.limits.storage
    if storage is not None and limit is not None and limit.value < storage.value:
        errors.append(
            invalid(
                "spec.resources.limits[storage]",
                limit.text,
                "must be greater than or equal to the request",
            )
        )
    if spec.volume_mode is not VolumeMode.FILESYSTEM:
        errors.append(
            FieldError(
                "spec.volumeMode",
                f"Unsupported value: {show_value(spec.volume_mode.value)}: supported values: "
                '"Filesystem" (a claim is a Docker volume, a directory)',
            )
        )
    return errors


def claim_source_errors(path: str, source: PersistentVolumeClaimVolumeSource) -> list[FieldError]:
    """A pod's `persistentVolumeClaim` volume: the claim's name must be a valid object name."""
    if not source.claim_name:
        return [required(f"{path}.claimName")]
    return name_errors(f"{path}.claimName", source.claim_name, rules="subdomain")
