"""How a pod refers to ConfigMaps, Secrets and its own fields: env sources and volume sources.

The types a Container's `env[].valueFrom`, its `envFrom` and a Volume's `configMap` / `secret`
structure into, and `referenced_configs(spec)`: which ConfigMaps and Secrets a pod spec reads, so
the engine can requeue the pods that read an object when it changes.

Traps:
- These are references only: a pod spec (and so its spec hash, its API view and the manifest label
  on its sandbox) never holds a ConfigMap's or Secret's value. Values are resolved when a container
  is created (env) or when a volume's files are written.
- `optional` is tri-state in Kubernetes (unset means false): None and False behave the same.
"""

from __future__ import annotations

import attrs

FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "status.podIP",
    "status.hostIP",
)
"""The downward API's fields Podyard resolves for `valueFrom.fieldRef`."""
K8S_ONLY_FIELD_PATHS = (
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
    "spec.serviceAccountName",
    "status.hostIPs",
    "status.podIPs",
)
"""fieldRef paths Kubernetes resolves and Podyard does not (`not supported`)."""
CONFIG_MAP = "ConfigMap"
SECRET = "Secret"


@attrs.frozen
class ConfigMapKeySelector:
    key: str
    name: str = ""
    optional: bool | None = None


@attrs.frozen
class SecretKeySelector:
    key: str
    name: str = ""
    optional: bool | None = None


@attrs.frozen
class ObjectFieldSelector:
    field_path: str
    api_version: str | None = None


@attrs.frozen
class EnvVarSource:
    """Exactly one source is set (validated)."""

    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None
    field_ref: ObjectFieldSelector | None = None


@attrs.frozen
class ConfigMapEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen
class SecretEnvSource:
    name: str = ""
    optional: bool | None = None


@attrs.frozen
class EnvFromSource:
    """Exactly one of the refs is set (validated); every key becomes `prefix + key`."""

    prefix: str = ""
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


@attrs.frozen
class KeyToPath:
    key: str
    path: str
    mode: int | None = None


@attrs.frozen
class ConfigMapVolumeSource:
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None
    optional: bool | None = None


@attrs.frozen
class SecretVolumeSource:
    secret_name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None
    optional: bool | None = None


DEFAULT_MODE = 0o644
"""Kubernetes' default file mode of a configMap or secret volume."""
