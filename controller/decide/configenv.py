"""A container's environment, resolved from its ConfigMaps, Secrets and the downward API.

`resolve_env(spec, facts, configs)` is the kubelet's makeEnvironmentVariables for the sources
Podyard has: first every `envFrom` in order (a later source overrides an earlier one), then every
`env` entry in order. It is pure: the caller passes what the store holds now and the pod's facts
(name, namespace, node, IP). It runs when a container is created, never when a plan is decided,
so resolved values live only in the engine's create call.

Traps:
- A missing object or key that is not `optional` raises `ConfigMissing` with the kubelet's own
  message (`configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`): the container
  waits in CreateContainerConfigError and is created once the object or key appears.
- Like the kubelet, `configMapKeyRef` and a ConfigMap `envFrom` read `data` only, never
  `binaryData`; an `envFrom` key that is not a valid variable name (after its prefix) is skipped,
  and reported back so the caller can say so without showing any value.
- A Secret's value must never be logged: `ConfigMissing` messages name keys and objects only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from controller.model.configdata import ConfigMap, Secret
from controller.model.configrefs import DEFAULT_MODE, EnvFromSource
from controller.model.plan import EnvSpec
from controller.model.pod import EnvVar, Volume

ConfigMapLookup = Callable[[str, str], ConfigMap | None]
"""(namespace, name) -> the ConfigMap now, or None."""
SecretLookup = Callable[[str, str], Secret | None]
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ConfigMissing(Exception):
    """A referenced ConfigMap, Secret or key is missing and not optional (CreateContainerConfigError)."""


@attrs.frozen
class PodFacts:
    """The downward API's values for one pod instance."""

    namespace: str
    name: str
    node: str
    pod_ip: str = ""
    host_ip: str = ""

    def field(self, path: str) -> str:
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "spec.nodeName": self.node,
            "status.podIP": self.pod_ip,
            "status.hostIP": self.host_ip,
        }[path]


@attrs.frozen
class ConfigLookups:
    config_map: ConfigMapLookup
    secret: SecretLookup


@attrs.frozen
class ResolvedEnv:
    env: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...] = ()
    """envFrom keys left out as invalid variable names (names only, never values)."""


def resolve_env(spec: EnvSpec, facts: PodFacts, configs: ConfigLookups) -> ResolvedEnv:
    """The container's env in order, or ConfigMissing naming what is missing."""
    values: dict[str, str] = {}
    skipped: list[str] = []
    for source in spec.env_from:
        for key, value in _env_from(source, facts.namespace, configs).items():
            name = source.prefix + key
            if _ENV_NAME.match(name):
                values[name] = value
            else:
                skipped.append(name)
    for env in spec.env:
        resolved = _value(env, facts, configs)
        if resolved is not None:
            values[env.name] = resolved
    return ResolvedEnv(tuple(values.items()), tuple(skipped))


def _env_from(source: EnvFromSource, namespace: str, configs: ConfigLookups) -> dict[str, str]:
    if source.config_map_ref is not None:
        ref = source.config_map_ref
        config_map = configs.config_map(namespace, ref.name)
        if config_map is None:
            if ref.optional:
                return {}
            raise ConfigMissing(f'configmap "{ref.name}" not found')
        return dict(config_map.data)
    if source.secret_ref is not None:
        sref = source.secret_ref
        secret = configs.secret(namespace, sref.name)
        if secret is None:
            if sref.optional:
                return {}
            raise ConfigMissing(f'secret "{sref.name}" not found')
        return {key: value.decode(errors="replace") for key, value in secret.payload().items()}
    return {}


def _value(env: EnvVar, facts: PodFacts, configs: ConfigLookups) -> str | None:
    """The variable's value; None when an optional source is missing (the variable is left out)."""
    source = env.value_from
    if source is None:
        return env.value
    namespace = facts.namespace
    if source.config_map_key_ref is not None:
        ref = source.config_map_key_ref
        config_map = configs.config_map(namespace, ref.name)
        if config_map is None:
            if ref.optional:
                return None
            raise ConfigMissing(f'configmap "{ref.name}" not found')
        if ref.key not in config_map.data:
            if ref.optional:
                return None
            raise ConfigMissing(f"couldn't find key {ref.key} in ConfigMap {namespace}/{ref.name}")
        return config_map.data[ref.key]
    if source.secret_key_ref is not None:
        sref = source.secret_key_ref
        secret = configs.secret(namespace, sref.name)
        if secret is None:
            if sref.optional:
                return None
            raise ConfigMissing(f'secret "{sref.name}" not found')
        payload = secret.payload()
        if sref.key not in payload:
            if sref.optional:
                return None
            raise ConfigMissing(f"couldn't find key {sref.key} in Secret {namespace}/{sref.name}")
        return payload[sref.key].decode(errors="replace")
    if source.field_ref is not None:
        return facts.field(source.field_ref.field_path)
    return None


def volume_files(
    volume: Volume, namespace: str, configs: ConfigLookups
) -> dict[str, tuple[bytes, int]]:
    """The files of a configMap or secret volume (path -> bytes, mode), as the kubelet lays them
    out: every key, or only `items`; `defaultMode` unless an item sets its own. A missing optional
    object gives an empty volume; a missing one that is not optional raises ConfigMissing, and so
    does an item naming a key the object lacks (unless optional)."""
    if volume.config_map is not None:
        source = volume.config_map
        config_map = configs.config_map(namespace, source.name)
        if config_map is None:
            if source.optional:
                return {}
            raise ConfigMissing(f'configmap "{source.name}" not found')
        payload, what = config_map.payload(), "configmap references non-existent config key"
        items, mode, optional = source.items, source.default_mode, source.optional
    elif volume.secret is not None:
        ssource = volume.secret
        secret = configs.secret(namespace, ssource.secret_name)
        if secret is None:
            if ssource.optional:
                return {}
            raise ConfigMissing(f'secret "{ssource.secret_name}" not found')
        payload, what = secret.payload(), "references non-existent secret key"
        items, mode, optional = ssource.items, ssource.default_mode, ssource.optional
    else:
        return {}
    default = DEFAULT_MODE if mode is None else mode
    if not items:
        return {key: (value, default) for key, value in payload.items()}
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item.key not in payload:
            if optional:
                continue
            raise ConfigMissing(f"{what}: {item.key}")
        files[item.path] = (payload[item.key], default if item.mode is None else item.mode)
    return files
