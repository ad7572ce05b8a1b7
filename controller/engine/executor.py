"""The executor: applies a Plan's actions in order through the runtime port.

Steps, per action kind:

1. EnsureVolume   create the pod's volume (idempotent), note it in the cache.
2. RunContainer   make the image present per pull policy (a failure becomes an ErrImagePull note and
                  ends the plan: a user error, retried only after ImagePullBackOff); create (a name
                  conflict means an earlier attempt already made it: re-read it and end the plan);
                  start (a start failure is not an error here: the container is re-read, shows as
                  ContainerCannotRun, and the restart policy handles it). A sandbox that cannot
                  be created or started is FailedCreatePodSandBox and ends the plan: no container
                  is made to join a sandbox that is not running; decide backs the pod off.
3. StartContainer start a container created earlier (a crash between create and start).
   A started app container's postStart runs next (see `hooks`): a failure stops it again.
4. StopContainers stop together with the grace period (each its preStop first, see `hooks`, then
                  SIGTERM, then SIGKILL), re-read each.
5. RemoveContainer / RemoveVolume.

Each step reports Kubernetes' pod events through `on_event`: Scheduled (a new instance's first
sandbox), SandboxChanged (a rebuilt sandbox), Pulling/Pulled (pull policy Always only: for the other
policies the runtime does not say whether it pulled), Created, Started, Killing (per app container
stopped), Failed (pull, create or start refused) and FailedCreatePodSandBox.

After every change the container is re-read from the engine and put in the observed cache, so the
next decision sees this pass's writes. The first failing action raises `PlanAborted`; what was done
before it stays done, and the next decision starts from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Protocol

import attrs

from controller.decide.configenv import ConfigLookups, ConfigMissing, PodFacts, resolve_env
from controller.engine.configvolumes import ConfigVolumes
from controller.engine.hooks import HookRunner
from controller.engine.ports import Clock, ContainerRuntime, MetricsSink, NoMetrics
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
from controller.model.events import EventType
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import ContainerRole, ObservedVolume, RuntimeEvent
from controller.model.plan import (
    Action,
    ContainerConfig,
    EnsureVolume,
    Plan,
    PlanReason,
    RemoveContainer,
    RemoveVolume,
    RunContainer,
    StartContainer,
    StopContainers,
)
from controller.model.pod import PullPolicy
from controller.model.status import WaitingReason
from controller.model.telemetry import RescheduleReason

log = logging.getLogger(__name__)


SANDBOX_CHANGED = "Pod sandbox changed, it will be killed and re-created."
FAILED_SANDBOX = "FailedCreatePodSandBox"

_STOP_REASONS = {
    PlanReason.DELETE_POD.value: "",
    PlanReason.REPLACE_POD.value: "the pod's spec changed, it will be replaced",
    PlanReason.REBUILD_SANDBOX.value: "the pod sandbox changed",
    PlanReason.COMPLETE_POD.value: "the pod has completed",
    PlanReason.CLEAN_UP.value: "no longer in the pod's spec",
}
"""Why a container is stopped, in words, per plan reason (a delete needs none, as in Kubernetes)."""


def sandbox_failed_message(engine_message: str) -> str:
    """Kubernetes' words for a sandbox the runtime could not make or start."""
    return f"Failed to create pod sandbox: {engine_message}"


class PlanAborted(Exception):
    """An action failed; `user_error` says retrying soon cannot help (bad image, refused config)."""

    def __init__(self, message: str, *, user_error: bool = False, stale: bool = False) -> None:
        super().__init__(message)
        self.user_error = user_error
        self.stale = stale
        """The plan was made from a picture older than the engine (a relist raced a create):
        nothing failed, the next decision simply starts from the fresher picture."""


class PodEventSink(Protocol):
    """Where the executor reports what it did to a pod (the engine's event recorder)."""

    def __call__(
        self,
        key: PodKey,
        type: EventType,
        reason: str,
        message: str,
        *,
        uid: str = "",
        node: NodeName | None = None,
    ) -> None: ...


def _no_events(
    key: PodKey,
    type: EventType,
    reason: str,
    message: str,
    *,
    uid: str = "",
    node: NodeName | None = None,
) -> None:
    pass


class Executor:
    def __init__(
        self,
        runtimes: Mapping[NodeName, ContainerRuntime],
        cache: ObservedCache,
        notes: NoteBook,
        clock: Clock,
        on_event: PodEventSink | None = None,
        metrics: MetricsSink | None = None,
        configs: ConfigLookups | None = None,
        volumes: ConfigVolumes | None = None,
        host_ip: Callable[[NodeName], str] | None = None,
    ) -> None:
        self._host_ip = host_ip or (lambda node: "")
        self._runtimes = runtimes
        self._configs = configs
        self._volumes = volumes
        self._metrics: MetricsSink = metrics or NoMetrics()
        self._cache = cache
        self._notes = notes
        self._clock = clock
        self._on_event: PodEventSink = on_event or _no_events
        self.hooks = HookRunner(cache, clock, self._on_event)
        """Runs postStart and preStop; its `gate` hides containers still in their postStart."""
        self._running: Counter[str] = Counter()
        """Pod uid -> containers being created and started now (each is read after its start)."""

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
                self._killing(key, action)
                await asyncio.gather(
                    *(
                        self.hooks.stop(key, runtime, cid, action.grace_seconds)
                        for cid in action.container_ids
                    )
                )
                for cid in action.container_ids:
                    await self._refresh(runtime, cid)
            case RemoveContainer():
                gone = self._cache.get(action.node, action.container_id)
                await runtime.remove_container(action.container_id)
                self._cache.remove(action.node, action.container_id)
                if gone is not None and self._volumes is not None:
                    uid = gone.identity.pod.uid
                    if not any(c.identity.pod.uid == uid for c in self._cache.containers_for(key)):
                        await self._volumes.remove(uid)  # the instance's last container went
            case RemoveVolume():
                await runtime.remove_volume(action.docker_name)
                self._cache.remove_volume(action.node, action.docker_name)

    def reads_itself(self, event: RuntimeEvent) -> bool:
        """True for the `create` and `start` events of a pod whose container the executor is
        creating and starting now: it reads that container itself once started, so reading it
        for each event too would triple the inspects of a bring-up. If the pass ends before its
        read, the next decision meets the name (a conflict, then a read) or the relist finds it."""
        return (
            event.action in ("create", "start")
            and event.pod is not None
            and self._running[event.pod.uid] > 0
        )

    async def _run(self, key: PodKey, runtime: ContainerRuntime, action: RunContainer) -> None:
        uid = action.config.identity.pod.uid
        self._running[uid] += 1
        try:
            await self._create_and_start(key, runtime, action)
        finally:
            self._running[uid] -= 1
            if not self._running[uid]:
                del self._running[uid]

    async def _create_and_start(
        self, key: PodKey, runtime: ContainerRuntime, action: RunContainer
    ) -> None:
        config = action.config
        name = config.identity.container_name
        uid = config.identity.pod.uid
        app = config.identity.role is not ContainerRole.SANDBOX
        pulls = app and config.pull_policy is PullPolicy.ALWAYS  # the one policy that always pulls

        def event(type: EventType, reason: str, message: str) -> None:
            self._on_event(key, type, reason, message, uid=uid, node=action.node)

        if pulls:
            event(EventType.NORMAL, "Pulling", f'Pulling image "{config.image}"')
        try:
            await runtime.ensure_image(config.image, config.pull_policy)
        except ImageNeverPull as failure:
            self._note(key, action, WaitingReason.ERR_IMAGE_NEVER_PULL, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        except ImagePullFailed as failure:
            self._note(key, action, WaitingReason.ERR_IMAGE_PULL, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        if pulls:
            event(EventType.NORMAL, "Pulled", f'Successfully pulled image "{config.image}"')
        try:
            if self._volumes is not None:
                await self._volumes.prepare(key, config, action.node)
            if config.env_spec is not None:
                config = self._with_env(key, action)
        except (ConfigMissing, OSError) as missing:
            self._note(key, action, WaitingReason.CREATE_CONTAINER_CONFIG_ERROR, str(missing))
            raise PlanAborted(f"{key}: {name}: {missing}", user_error=True) from missing
        try:
            container_id = await runtime.create_container(config)
        except NameConflict as conflict:
            # An earlier pass (maybe before a crash) created it: re-read it, decide again.
            await self._refresh(runtime, ContainerId(config.docker_name))
            raise PlanAborted(
                f"{key}: {config.docker_name} exists already", stale=True
            ) from conflict
        except ConfigRefused as failure:
            self._note(key, action, WaitingReason.CREATE_CONTAINER_CONFIG_ERROR, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        except CreateFailed as failure:
            self._note(key, action, WaitingReason.CREATE_CONTAINER_ERROR, str(failure))
            raise PlanAborted(f"{key}: {name}: {failure}", user_error=True) from failure
        except RuntimeFailure as failure:
            # An engine error (HTTP 5xx), not the pod's: no note, so no 10 s CreateContainerError
            # pacing; the work queue retries at its rate limit. Still an event the user sees.
            event(EventType.WARNING, "Failed", f"Error: {failure}")
            raise
        self._notes.clear(key, name)
        if not app:
            pod = f"{key.namespace}/{key.name}"
            if config.identity.attempt == 0:
                event(
                    EventType.NORMAL, "Scheduled", f"Successfully assigned {pod} to {action.node}"
                )
            else:
                event(EventType.NORMAL, "SandboxChanged", SANDBOX_CHANGED)
                self._metrics.pod_rescheduled(RescheduleReason.SANDBOX_CHANGED)
            start_error = await self._start(runtime, container_id)
            if start_error is not None:
                event(EventType.WARNING, FAILED_SANDBOX, sandbox_failed_message(start_error))
                raise PlanAborted(f"{key}: sandbox: {start_error}", user_error=True)
            return
        if config.identity.attempt > 0:
            self._metrics.container_restarted(action.node)
        event(EventType.NORMAL, "Created", f"Created container {name}")
        start_error = await self._start(runtime, container_id)
        if start_error is None:
            event(EventType.NORMAL, "Started", f"Started container {name}")
        else:
            event(EventType.WARNING, "Failed", f"Error: {start_error}")
        if start_error is None and config.post_start is not None:
            passed = await self.hooks.post_start(
                key, runtime, container_id, config.post_start, config.stop_grace_seconds
            )
            if not passed:
                await self._refresh(runtime, container_id)

    def _with_env(self, key: PodKey, action: RunContainer) -> ContainerConfig:
        """The config with its env resolved from the ConfigMaps and Secrets as they are now.

        The result holds Secret values: it goes to the create call and nowhere else."""
        config = action.config
        assert config.env_spec is not None
        sandbox = next(
            (
                c
                for c in self._cache.containers_for(key)
                if c.docker_name == config.join_sandbox and c.node == action.node
            ),
            None,
        )
        facts = PodFacts(
            key.namespace,
            key.name,
            str(action.node),
            (sandbox.ip or "") if sandbox else "",
            self._host_ip(action.node),
        )
        if self._configs is None:
            raise ConfigMissing("no ConfigMaps or Secrets are known to this engine")
        resolved = resolve_env(config.env_spec, facts, self._configs)
        if resolved.skipped:
            log.warning(
                "%s: %s: envFrom keys that are not valid variable names were skipped: %s",
                key,
                config.identity.container_name,
                ", ".join(resolved.skipped),
            )
        return attrs.evolve(config, env=resolved.env, env_spec=None)

    async def _start(self, runtime: ContainerRuntime, container_id: ContainerId) -> str | None:
        """Start and re-read a container; the start failure's message, or None."""
        failed = None
        try:
            await runtime.start_container(container_id)
        except StartFailed as failure:
            log.warning("container %s could not start: %s", container_id, failure)
            failed = str(failure)
        await self._refresh(runtime, container_id)
        return failed

    def _killing(self, key: PodKey, action: StopContainers) -> None:
        """Kubernetes' `Killing`, one per app container about to be stopped."""
        why = _STOP_REASONS.get(action.reason, action.reason)
        for cid in action.container_ids:
            observed = self._cache.get(action.node, cid)
            if observed is None or observed.identity.role is ContainerRole.SANDBOX:
                continue
            name = observed.identity.container_name
            self._on_event(
                key,
                EventType.NORMAL,
                "Killing",
                f"Stopping container {name}" + (f": {why}" if why else ""),
                uid=observed.identity.pod.uid,
                node=action.node,
            )

    async def _refresh(self, runtime: ContainerRuntime, container_id: ContainerId) -> None:
        observed = await runtime.inspect_container(container_id)
        if observed is not None:
            self._cache.upsert(observed)

    def _note(self, key: PodKey, action: RunContainer, reason: WaitingReason, message: str) -> None:
        identity = action.config.identity
        self._notes.record(key, identity.container_name, reason.value, message, self._clock.now())
        sandbox_refused = identity.role is ContainerRole.SANDBOX and reason in (
            WaitingReason.CREATE_CONTAINER_CONFIG_ERROR,
            WaitingReason.CREATE_CONTAINER_ERROR,
        )
        self._on_event(
            key,
            EventType.WARNING,
            FAILED_SANDBOX if sandbox_refused else "Failed",
            sandbox_failed_message(message)
            if sandbox_refused
            else f"Error: {reason.value}: {message}",
            uid=identity.pod.uid,
            node=action.node,
        )

    def _runtime(self, node: NodeName) -> ContainerRuntime:
        try:
            return self._runtimes[node]
        except KeyError:
            raise PlanAborted(f"unknown node {node!r}") from None
