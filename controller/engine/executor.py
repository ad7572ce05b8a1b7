"""The executor: applies a Plan's actions in order through the runtime port.

Steps, per action kind:

1. EnsureVolume   create the pod's volume (idempotent), note it in the cache.
2. RunContainer   make the image present per pull policy (a failure becomes an ErrImagePull note and
                  ends the plan: a user error, retried only after ImagePullBackOff); create (a name
                  conflict means an earlier attempt already made it: re-read it and end the plan);
                  start (a start failure is not an error here: the container is re-read, shows as
                  ContainerCannotRun, and the restart policy handles it).
3. StartContainer start a container created earlier (a crash between create and start).
4. StopContainers stop together with the grace period (SIGTERM, then SIGKILL), re-read each.
5. RemoveContainer / RemoveVolume.

After every change the container is re-read from the engine and put in the observed cache, so the
next decision sees this pass's writes. The first failing action raises `PlanAborted`; what was done
before it stays done, and the next decision starts from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from controller.engine.ports import Clock, ContainerRuntime
from controller.engine.stores import NoteBook, ObservedCache
from controller.model.errors import (
    ConfigRefused,
    CreateFailed,
    ImageNeverPull,
    ImagePullFailed,
    NameConflict,
    RuntimeFailure,
    StartFailed,
)
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import ObservedVolume
from controller.model.plan import (
    Action,
    EnsureVolume,
    Plan,
    RemoveContainer,
    RemoveVolume,
    RunContainer,
    StartContainer,
    StopContainers,
)
from controller.model.status import WaitingReason

log = logging.getLogger(__name__)


class PlanAborted(Exception):
    """An action failed; `user_error` says retrying soon cannot help (bad image, refused config)."""

    def __init__(self, message: str, *, user_error: bool = False, stale: bool = False) -> None:
        super().__init__(message)
        self.user_error = user_error
        self.stale = stale
        """The plan was made from a picture older than the engine (a relist raced a create):
        nothing failed, the next decision simply starts from the fresher picture."""


class Executor:
    def __init__(
        self,
        runtimes: Mapping[NodeName, ContainerRuntime],
        cache: ObservedCache,
        notes: NoteBook,
        clock: Clock,
        on_event: Callable[[PodKey, str, str], None] | None = None,
    ) -> None:
        self._runtimes = runtimes
        self._cache = cache
        self._notes = notes
        self._clock = clock
        self._on_event = on_event or (lambda key, reason, message: None)

    async def apply(self, plan: Plan) -> None:
        for number, action in enumerate(plan.actions, start=1):
            try:
                await self._apply_one(plan.key, action)
            except PlanAborted:
                raise
            except RuntimeFailure as failure:
                raise PlanAborted(
                    f"{plan.key}: step {number} ({type(action).__name__}) failed: {failure}"
                ) from failure

    async def _apply_one(self, key: PodKey, action: Action) -> None:
        runtime = self._runtime(action.node)
        match action:
            case EnsureVolume():
                await runtime.ensure_volume(action)
                self._cache.upsert_volume(
                    ObservedVolume(action.docker_name, action.node, action.pod, action.volume_name)
                )
            case RunContainer():
                await self._run(key, runtime, action)
            case StartContainer():
                await self._start(runtime, action.container_id)
            case StopContainers():
                await asyncio.gather(
                    *(
                        runtime.stop_container(cid, action.grace_seconds)
                        for cid in action.container_ids
                    )
                )
                for cid in action.container_ids:
                    await self._refresh(runtime, cid)
                self._on_event(
                    key,
                    "Killing",
                    f"stopped {len(action.container_ids)} container(s): {action.reason}",
                )
            case RemoveContainer():
                await runtime.remove_container(action.container_id)
                self._cache.remove(action.node, action.container_id)
            case RemoveVolume():
                await runtime.remove_volume(action.docker_name)
                self._cache.remove_volume(action.node, action.docker_name)

    async def _run(self, key: PodKey, runtime: ContainerRuntime, action: RunContainer) -> None:
        config = action.config
        name = config.identity.container_name
        try:
            await runtime.ensure_image(config.image, config.pull_policy)
        except ImageNeverPull as failure:
            self._note(key, name, WaitingReason.ERR_IMAGE_NEVER_PULL, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        except ImagePullFailed as failure:
            self._note(key, name, WaitingReason.ERR_IMAGE_PULL, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        try:
            container_id = await runtime.create_container(config)
        except NameConflict as conflict:
            # An earlier pass (maybe before a crash) created it: re-read it, decide again.
            await self._refresh(runtime, ContainerId(config.docker_name))
            raise PlanAborted(
                f"{key}: {config.docker_name} exists already", stale=True
            ) from conflict
        except ConfigRefused as failure:
            self._note(key, name, WaitingReason.CREATE_CONTAINER_CONFIG_ERROR, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        except CreateFailed as failure:
            self._note(key, name, WaitingReason.CREATE_CONTAINER_ERROR, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        self._notes.clear(key, name)
        await self._start(runtime, container_id)
        self._on_event(key, "Started", f"Started container {name}")

    async def _start(self, runtime: ContainerRuntime, container_id: ContainerId) -> None:
        try:
            await runtime.start_container(container_id)
        except StartFailed as failure:
            log.warning("container %s could not start: %s", container_id, failure)
        await self._refresh(runtime, container_id)

    async def _refresh(self, runtime: ContainerRuntime, container_id: ContainerId) -> None:
        observed = await runtime.inspect_container(container_id)
        if observed is not None:
            self._cache.upsert(observed)

    def _note(self, key: PodKey, container: str, reason: WaitingReason, message: str) -> None:
        note = self._notes.record(key, container, reason.value, message, self._clock.now())
        self._on_event(key, "Failed", f"{container}: {reason.value}: {message} (x{note.failures})")

    def _runtime(self, node: NodeName) -> ContainerRuntime:
        try:
            return self._runtimes[node]
        except KeyError:
            raise PlanAborted(f"unknown node {node!r}") from None
