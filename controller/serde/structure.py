"""Manifest dicts -> model objects, with every problem of a document as a Kubernetes field error.

`structure_pod`, `structure_replicaset` and `structure_deployment` turn a plain dict (as loaded from
YAML or JSON) into a `Pod`, `ReplicaSet` or `Deployment`, and `structure_object` picks one of them
from `kind`; each raises `ManifestInvalid` with *every* problem of the document, each with a
Kubernetes-style field path (`spec.template.spec.containers[1].securityContext: not supported`).
Value rules (names, ports, references, selectors) come from `model.validation` and are raised
together with these. The converter (`serde.converter`) does the structuring; this module checks the
type meta, reads the converter's error tree back as field paths, and runs the value rules.

Traps:
- Structural errors stop the object from being built, so value rules only run once structure is
  sound: a document with an unknown field shows its structural errors only, the rest once fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

from controller.model.claims import PersistentVolumeClaim
from controller.model.configdata import ConfigMap, Secret
from controller.model.manifests import Namespace
from controller.model.pod import Pod
from controller.model.validation import (
    FieldError,
    show_value,
    validate_claim,
    validate_deployment,
    validate_namespace,
    validate_pod,
    validate_replicaset,
)
from controller.model.validation.configdata import validate_config_map, validate_secret
from controller.model.workloads import Deployment, ReplicaSet
from controller.serde.converter import InvalidValue, KeyProblem, converter, wrong_type
from controller.serde.fields import field_path, k8s_name

__all__ = [
    "OBJECT_KINDS",
    "ManifestInvalid",
    "ManifestObject",
    "structure_claim",
    "structure_config_map",
    "structure_deployment",
    "structure_namespace",
    "structure_object",
    "structure_pod",
    "structure_replicaset",
    "structure_secret",
]

ManifestObject = (
    Pod | ReplicaSet | Deployment | Namespace | ConfigMap | Secret | PersistentVolumeClaim
)
"""Every kind a manifest may declare."""

_T = TypeVar("_T")


class ManifestInvalid(Exception):
    """A document that cannot become an object; `errors` holds every problem found."""

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def _flatten(exc: BaseException, path: str, owner: type | None = None) -> list[FieldError]:
    """cattrs' error tree -> FieldErrors with Kubernetes paths (attribute names -> camelCase)."""
    if isinstance(exc, KeyProblem):
        return [FieldError(field_path(path, exc.key), exc.message)]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        errors: list[FieldError] = []
        for sub in exc.exceptions:
            notes = getattr(sub, "__notes__", [])
            step: str | int | None = None
            for note in reversed(notes):
                if isinstance(note, AttributeValidationNote):
                    step = k8s_name(note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    step = note.index
                    break
            sub_path = path if step is None else field_path(path, step)
            errors += _flatten(sub, sub_path)
        return errors
    if isinstance(exc, KeyError):
        return [FieldError(path, "Required value")]
    if isinstance(exc, InvalidValue):
        return [FieldError(path, str(exc))]
    return [FieldError(path, f"Invalid value: {exc}")]


def _check_type_meta(data: dict[Any, Any], api_version: str, kind: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key, wanted in (("apiVersion", api_version), ("kind", kind)):
        value = data.get(key)
        if value is None or value == "":
            errors.append(FieldError(key, "Required value"))
        elif isinstance(value, str) and value != wanted:
            errors.append(
                FieldError(
                    key,
                    f"Unsupported value: {show_value(value)}: supported values: {json.dumps(wanted)}",
                )
            )
    return errors


def _structure(
    data: object,
    cl: type[_T],
    api_version: str,
    kind: str,
    validate: Callable[[_T], list[FieldError]],
) -> _T:
    """Type meta, structure, then (only if structure is sound) value rules; all errors together."""
    errors = _check_type_meta(data, api_version, kind) if isinstance(data, dict) else []
    obj: _T | None = None
    try:
        obj = converter.structure(data, cl)
    except (ClassValidationError, IterableValidationError, InvalidValue) as exc:
        errors += _flatten(exc, "")
    if obj is not None:
        errors += validate(obj)
    if errors or obj is None:
        raise ManifestInvalid(tuple(errors))
    return obj


def structure_pod(data: object) -> Pod:
    """A validated Pod from a manifest dict, or ManifestInvalid listing every problem."""
    return _structure(data, Pod, "v1", "Pod", validate_pod)


def structure_replicaset(data: object) -> ReplicaSet:
    """A validated ReplicaSet (`apps/v1`) from a manifest dict, or ManifestInvalid.

    The template's pod spec is structured and validated exactly as a Pod's spec, with its errors
    under `spec.template.spec`. See `validate_replicaset` for where Podyard is stricter or looser
    than Kubernetes (name length, template restartPolicy).
    """
    return _structure(data, ReplicaSet, "apps/v1", "ReplicaSet", validate_replicaset)


def structure_deployment(data: object) -> Deployment:
    """A validated Deployment (`apps/v1`) from a manifest dict, or ManifestInvalid.

    Defaults are Kubernetes': strategy RollingUpdate (25% surge, 25% unavailable when
    `rollingUpdate` is absent), revisionHistoryLimit 10, progressDeadlineSeconds 600. `paused: true`
    is not supported (`paused: false` is accepted).
    """
    return _structure(data, Deployment, "apps/v1", "Deployment", validate_deployment)


def structure_namespace(data: object) -> Namespace:
    """A validated Namespace (`v1`, metadata only) from a manifest dict, or ManifestInvalid."""
    return _structure(data, Namespace, "v1", "Namespace", validate_namespace)


def structure_config_map(data: object) -> ConfigMap:
    """A validated ConfigMap (`v1`) from a manifest dict, or ManifestInvalid."""
    return _structure(data, ConfigMap, "v1", "ConfigMap", validate_config_map)


def structure_secret(data: object) -> Secret:
    """A validated Secret (`v1`) from a manifest dict, or ManifestInvalid; no message shows a
    value of the Secret (see `model.validation.configdata`)."""
    try:
        return _structure(data, Secret, "v1", "Secret", validate_secret)
    except ManifestInvalid as invalid:
        raise ManifestInvalid(tuple(_redacted(e) for e in invalid.errors)) from None


def _redacted(error: FieldError) -> FieldError:
    """A structural error on a Secret value without the value (`Invalid value: 123: ...`)."""
    if not error.path.startswith(("data", "stringData")):
        return error
    if not error.message.startswith("Invalid value: ") or "<redacted>" in error.message:
        return error
    detail = error.message.rsplit(": ", 1)[-1]
    return FieldError(error.path, f"Invalid value: <redacted>: {detail}")


def structure_claim(data: object) -> PersistentVolumeClaim:
    """A validated PersistentVolumeClaim (`v1`) from a manifest dict, or ManifestInvalid."""
    return _structure(data, PersistentVolumeClaim, "v1", "PersistentVolumeClaim", validate_claim)


OBJECT_KINDS: Mapping[str, Callable[[object], ManifestObject]] = {
    "Pod": structure_pod,
    "ReplicaSet": structure_replicaset,
    "Deployment": structure_deployment,
    "Namespace": structure_namespace,
    "ConfigMap": structure_config_map,
    "Secret": structure_secret,
    "PersistentVolumeClaim": structure_claim,
}
"""Kind -> structuring function, for every kind Podyard understands."""


def structure_object(data: object) -> ManifestObject:
    """A Pod, ReplicaSet or Deployment, chosen by `kind`; `apiVersion` must then match the kind.

    An unknown kind is reported on `kind` with the supported kinds listed; nothing else of the
    document is examined then (its fields would mean nothing).
    """
    if not isinstance(data, dict):
        raise ManifestInvalid((FieldError("", str(wrong_type(data, "an object"))),))
    kind = data.get("kind")
    if kind is None or kind == "":
        raise ManifestInvalid((FieldError("kind", "Required value"),))
    if not isinstance(kind, str):
        raise ManifestInvalid((FieldError("kind", str(wrong_type(kind, "a string"))),))
    structure = OBJECT_KINDS.get(kind)
    if structure is None:
        supported = ", ".join(json.dumps(name) for name in OBJECT_KINDS)
        raise ManifestInvalid(
            (
                FieldError(
                    "kind", f"Unsupported value: {show_value(kind)}: supported values: {supported}"
                ),
            )
        )
    return structure(data)
