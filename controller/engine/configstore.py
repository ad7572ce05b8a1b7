"""The folder's ConfigMaps and Secrets as the engine holds them, and who reads them.

`ConfigStore.replace_all(objects)` installs the folder's current objects and returns the keys
(`ObjectKey`) that were added, changed or removed; `readers(pods, changed)` names the desired pods
whose spec refers to one of them, which the engine then requeues: a pod waiting in
CreateContainerConfigError for a missing key starts as soon as the key appears, and a pod's
configMap / secret volume files are rewritten.

Traps:
- The store holds Secret values in memory only; nothing here logs an object (their `repr` lists
  keys, never values, should one slip into a message).
- Lookups are per namespace: a pod reads only the objects of its own namespace, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.decide.configenv import ConfigLookups
from controller.model.configdata import ConfigMap, Secret
from controller.model.configrefs import CONFIG_MAP, SECRET
from controller.model.desired import DesiredPod
from controller.model.meta import ObjectKey, PodKey
from controller.model.pod import PodSpec


def referenced_configs(namespace: str, spec: PodSpec) -> set[ObjectKey]:
    """Every ConfigMap and Secret a pod spec reads, through env, envFrom or volumes."""
    keys: set[ObjectKey] = set()

    def add(kind: str, name: str) -> None:
        keys.add(ObjectKey(kind, namespace, name))

    for container in spec.containers:
        for env in container.env:
            source = env.value_from
            if source is not None and source.config_map_key_ref is not None:
                add(CONFIG_MAP, source.config_map_key_ref.name)
            if source is not None and source.secret_key_ref is not None:
                add(SECRET, source.secret_key_ref.name)
        for env_from in container.env_from:
            if env_from.config_map_ref is not None:
                add(CONFIG_MAP, env_from.config_map_ref.name)
            if env_from.secret_ref is not None:
                add(SECRET, env_from.secret_ref.name)
    for volume in spec.volumes:
        if volume.config_map is not None:
            add(CONFIG_MAP, volume.config_map.name)
        if volume.secret is not None:
            add(SECRET, volume.secret.secret_name)
    return keys


class ConfigStore:
    """ConfigMaps and Secrets by key; the lookups pod creation and volume files read."""

    def __init__(self) -> None:
        self._objects: dict[ObjectKey, ConfigMap | Secret] = {}
        self.lookups = ConfigLookups(self.config_map, self.secret)

    def replace_all(self, objects: Iterable[ConfigMap | Secret]) -> set[ObjectKey]:
        """Make the store equal to `objects`; the keys added, removed or changed."""
        new = {obj.key: obj for obj in objects}
        changed = {
            key
            for key in self._objects.keys() | new.keys()
            if self._objects.get(key) != new.get(key)
        }
        self._objects = new
        return changed

    def config_map(self, namespace: str, name: str) -> ConfigMap | None:
        obj = self._objects.get(ObjectKey(CONFIG_MAP, namespace, name))
        return obj if isinstance(obj, ConfigMap) else None

    def secret(self, namespace: str, name: str) -> Secret | None:
        obj = self._objects.get(ObjectKey(SECRET, namespace, name))
        return obj if isinstance(obj, Secret) else None

    def config_maps(self) -> list[ConfigMap]:
        return [o for _, o in sorted(self._objects.items()) if isinstance(o, ConfigMap)]

    def secrets(self) -> list[Secret]:
        return [o for _, o in sorted(self._objects.items()) if isinstance(o, Secret)]


def readers(pods: Iterable[DesiredPod], changed: set[ObjectKey]) -> set[PodKey]:
    """The desired pods that read one of the `changed` objects."""
    return {
        pod.key
        for pod in pods
        if changed and referenced_configs(pod.key.namespace, pod.pod.spec) & changed
    }
