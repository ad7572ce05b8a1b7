"""ConfigMap and Secret (apiVersion v1): the folder's configuration objects, as frozen types.

Pods read them as files (`configMap` / `secret` volumes) and as environment variables
(`valueFrom.configMapKeyRef` / `secretKeyRef`, `envFrom`). Validation lives in
`model.validation.configdata`; the engine keeps the current objects in a store the pod workers
read (`engine.configstore`).

Traps:
- A Secret's `data` holds base64 text, exactly as in the manifest; `payload()` decodes it and
  merges `stringData` over it (stringData wins on a shared key, as the API server's conversion
  does). Validation has proved the base64 sound before an object exists, so decoding never fails.
- A Secret's values must never be shown: `__repr__` of both kinds lists keys only, so an object
  that lands in a log line or a traceback reveals no value (a ConfigMap is treated alike, being
  cheap to treat alike).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import attrs

from controller.model.meta import ObjectKey, ObjectMeta

SECRET_TYPE_OPAQUE = "Opaque"
MAX_CONFIG_BYTES = 1024 * 1024
"""Kubernetes' limit on the total size of a ConfigMap's or Secret's values (1 MiB)."""


def decode_base64(text: str) -> bytes:
    """Kubernetes' decoding of a `[]byte` field: standard alphabet, padded; line breaks ignored.

    Raises ValueError (binascii.Error) on anything else."""
    cleaned = text.replace("\r", "").replace("\n", "")
    return base64.b64decode(cleaned, validate=True)


@attrs.frozen(repr=False)
class ConfigMap:
    metadata: ObjectMeta
    data: Mapping[str, str] = attrs.field(factory=dict)
    binary_data: Mapping[str, str] = attrs.field(factory=dict)
    """base64 text, as in the manifest."""
    immutable: bool | None = None
    api_version: str = "v1"
    kind: str = "ConfigMap"

    def payload(self) -> dict[str, bytes]:
        """Every key with its bytes: `data` as UTF-8, `binaryData` decoded."""
        values = {key: value.encode() for key, value in self.data.items()}
        values.update({key: decode_base64(value) for key, value in self.binary_data.items()})
        return values

    def __repr__(self) -> str:
        keys = sorted(self.data.keys() | self.binary_data.keys())
        return f"ConfigMap({self.metadata.namespace}/{self.metadata.name}, keys={keys})"

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.kind, self.metadata.namespace, self.metadata.name)


@attrs.frozen(repr=False)
class Secret:
    metadata: ObjectMeta
    data: Mapping[str, str] = attrs.field(factory=dict)
    """base64 text, as in the manifest."""
    string_data: Mapping[str, str] = attrs.field(factory=dict)
    type: str = SECRET_TYPE_OPAQUE
    immutable: bool | None = None
    api_version: str = "v1"
    kind: str = "Secret"

    def payload(self) -> dict[str, bytes]:
        """Every key with its bytes: `data` decoded, then `stringData` over it."""
        values = {key: decode_base64(value) for key, value in self.data.items()}
        values.update({key: value.encode() for key, value in self.string_data.items()})
        return values

    def keys(self) -> list[str]:
        return sorted(self.data.keys() | self.string_data.keys())

    def __repr__(self) -> str:
        meta = self.metadata
        return f"Secret({meta.namespace}/{meta.name}, type={self.type}, keys={self.keys()})"

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.kind, self.metadata.namespace, self.metadata.name)
