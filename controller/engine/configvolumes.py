"""The files of configMap and secret volumes: written before a container mounts them, rewritten
when their ConfigMap or Secret changes, removed with the pod's sandbox.

Each pod instance's volume has a folder `<config_volume_dir>/<pod uid>/<volume>` on the engine's
host (the Docker runtime binds it read-only, and refuses engines that do not share this host).
The files are laid out by `runtime.projection` as the kubelet does, so an edit of the ConfigMap in
the folder reaches the running container atomically (`..data` swapped), without a restart.

Traps:
- Secret folders are tmpfs mounts (needs root): a Secret's values never reach a disk.
- A ConfigMap or Secret that went missing leaves the files as they were (the kubelet keeps the
  last good content too); only a container create needs them present.
- Nothing here logs file contents; messages name objects, keys and folders only.
- Blocking file-system work runs in a worker thread.
- Folders left behind (a crash between removing the last container and its folders, containers
  removed behind the controller's back) are swept by `sweep_forever` under configsweep's rules;
  the mark `ENGINE_MARK` each instance folder gets is what lets the sweep judge it at all.
"""

from __future__ import annotations

import asyncio
import logging
import os

from controller.decide.configenv import ConfigLookups, ConfigMissing, volume_files
from controller.engine.configsweep import (
    ENGINE_MARK,
    SWEEP_INTERVAL_SECONDS,
    engine_id,
    find_orphans,
)
from controller.engine.nodes import NodeRegistry
from controller.engine.projection import mount_tmpfs, remove_projection, write_projection
from controller.engine.stores import DesiredStore, ObservedCache
from controller.model.meta import NodeName, PodKey
from controller.model.observed import ContainerRole
from controller.model.plan import PROJECTED, ContainerConfig
from controller.model.pod import Volume

log = logging.getLogger(__name__)


class ConfigVolumes:
    def __init__(
        self,
        base_dir: str,
        desired: DesiredStore,
        cache: ObservedCache,
        configs: ConfigLookups,
        nodes: NodeRegistry | None = None,
    ) -> None:
        self.base_dir = base_dir
        self._desired = desired
        self._cache = cache
        self._configs = configs
        self._nodes = nodes
        """Whose engine ids mark the folders (without it nothing is marked, nothing swept)."""
        self._stale: set[PodKey] = set()

    async def prepare(
        self, key: PodKey, config: ContainerConfig, node: NodeName | None = None
    ) -> None:
        """Write the files of every configMap / secret volume `config` mounts (on `node`: the
        instance's folder is marked with its engine, for the sweep).

        ConfigMissing when an object or key is missing and not optional (the container then
        waits in CreateContainerConfigError); OSError when the files cannot be written."""
        names = [m.volume_name for m in config.mounts if m.kind == PROJECTED]
        if not names:
            return
        desired = self._desired.get(key)
        if desired is None:
            raise ConfigMissing(f"pod {key} is no longer declared")
        engine = engine_id(self._nodes, node) if self._nodes is not None and node else ""
        if engine:
            await asyncio.to_thread(self._mark, config.identity.pod.uid, engine)
        for name in names:
            volume = desired.pod.spec.volume(name)
            if volume is None:
                raise ConfigMissing(f'volume "{name}" is not declared by pod {key}')
            await self._write(config.identity.pod.uid, volume, key.namespace)

    async def _write(
        self, uid: str, volume: Volume, namespace: str, *, only_existing: bool = False
    ) -> bool:
        files = volume_files(volume, namespace, self._configs)
        folder = os.path.join(self.base_dir, uid, volume.name)

        def write() -> bool:
            if only_existing and not os.path.isdir(folder):
                return False  # never written: its container was not created yet
            if volume.secret is not None:
                mount_tmpfs(folder)
            return write_projection(folder, files)

        return await asyncio.to_thread(write)

    def _mark(self, uid: str, engine: str) -> None:
        """Name the instance's engine in its folder, once (its time is the folder's age)."""
        folder = os.path.join(self.base_dir, uid)
        mark = os.path.join(folder, ENGINE_MARK)
        if os.path.exists(mark):
            return
        os.makedirs(folder, mode=0o755, exist_ok=True)
        try:
            with open(mark, "x", encoding="utf-8") as file:
                file.write(engine + "\n")
        except FileExistsError:
            return  # another container of the instance marked it meanwhile

    def changed(self, keys: set[PodKey]) -> None:
        """These pods read a ConfigMap or Secret that changed: rewrite their files at next sync."""
        self._stale |= keys

    async def refresh(self, key: PodKey) -> None:
        """Rewrite the files of `key`'s running instances if an object they show changed."""
        if key not in self._stale:
            return
        self._stale.discard(key)
        desired = self._desired.get(key)
        if desired is None:
            return
        uids = {
            c.identity.pod.uid
            for c in self._cache.containers_for(key)
            if c.identity.role is ContainerRole.SANDBOX
        }
        for uid in uids:
            for volume in desired.pod.spec.volumes:
                if volume.config_map is None and volume.secret is None:
                    continue
                try:
                    if await self._write(uid, volume, key.namespace, only_existing=True):
                        log.info("%s: volume %s updated", key, volume.name)
                except ConfigMissing as missing:
                    log.warning("%s: volume %s keeps its files: %s", key, volume.name, missing)
                except OSError as failed:
                    self._stale.add(key)
                    log.warning("%s: volume %s not updated: %s", key, volume.name, failed)

    async def remove(self, uid: str) -> None:
        """The pod instance's sandbox is gone: its volumes' folders go (never raises)."""
        folder = os.path.join(self.base_dir, uid)

        def remove() -> None:
            if not os.path.isdir(folder):
                return
            for name in os.listdir(folder):
                if name != ENGINE_MARK:
                    remove_projection(os.path.join(folder, name))
            if os.path.lexists(os.path.join(folder, ENGINE_MARK)):
                os.unlink(os.path.join(folder, ENGINE_MARK))  # last: a failure keeps it judged
            os.rmdir(folder)

        try:
            await asyncio.to_thread(remove)
        except OSError as failed:
            log.warning("configMap/secret volumes of pod %s not removed: %s", uid, failed)

    async def sweep(self) -> list[str]:
        """Remove the folders configsweep finds orphaned; the uids removed."""
        if self._nodes is None:
            return []
        uids = await find_orphans(self.base_dir, self._nodes, self._cache.all_containers())
        for uid in uids:
            log.info(
                "removing the configMap/secret volumes of pod instance %s: no container of it "
                "is left on its engine",
                uid,
            )
            await self.remove(uid)
        return uids

    async def sweep_forever(self) -> None:
        """Sweep every `SWEEP_INTERVAL_SECONDS` (the first after one interval: nodes known)."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
            await self.sweep()
