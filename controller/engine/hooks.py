"""Lifecycle hooks, run as the kubelet runs them: postStart right after a start, preStop before
every stop Podyard makes.

The executor and the prober hand their starts and stops here, so every path that stops an app
container (pod deletion, replacement, a sandbox rebuilt, scale-down, a failed liveness or startup
probe, a failed postStart) runs its preStop first. Both run in the pod's own worker (or the probe's
own task): a slow hook holds back its pod and nothing else.

- **postStart** (`post_start`): run once the container started; the pod worker waits for it, so
  the container is not probed before it returns, and `gate` shows it not started and not ready
  meanwhile (Kubernetes shows it Waiting; here it is Running, not ready: the engine says it runs).
  Exec and httpGet use the probes' machinery (`ContainerRuntime.run_probe`): exit 0 or HTTP
  200-399 passes. A failure (non-zero exit, other status, unreachable, past its deadline) is a
  Warning `FailedPostStartHook` with the kubelet's message; the container is then stopped (its
  preStop runs, as in the kubelet's killContainer), and the pod's restart policy and
  CrashLoopBackOff take it from there, exactly as after a crash.
- **preStop** (`stop`): run before SIGTERM on a running container that carries one (its label,
  see `model.lifecycle`, so a pod whose manifest is gone still runs it). The grace period counts
  from the start of the hook; the hook may use all of it, and SIGTERM then gets what is left, at
  least `MINIMUM_STOP_GRACE_SECONDS` (the kubelet's 2 s). A failing preStop is a Warning
  `FailedPreStopHook` and the stop goes on.
- **sleep**: the controller waits on its clock (`min(seconds, budget)`); the container is left
  alone, as the kubelet does.

Traps:
- No engine call slot is held while a hook runs (`run_probe` and `stop_container` take none, see
  `engine.slots`): a hook waits on the user's process or server, not on the engine's work.
- Docker cannot kill an exec'd process. A hook past its deadline is reported as failed; its process
  ends with the container, which both failure paths stop at once (a failed postStart is killed, a
  preStop's deadline is the stop itself), so nothing is left running behind.
- `POST_START_TIMEOUT_SECONDS` is Podyard's: the kubelet waits for a postStart without end, which
  would hold the pod's worker forever on a hung command.
- A controller that dies while a postStart runs does not run it again: after a restart the
  container is simply running, as the engine says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from controller.engine.ports import Clock, ContainerRuntime
from controller.engine.stores import ObservedCache
from controller.model.errors import RuntimeFailure
from controller.model.events import EventType
from controller.model.lifecycle import HookKind, LifecycleHandler, SleepAction
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import ObservedContainer, RunState
from controller.model.probes import ContainerProbeState, ProbeResult

log = logging.getLogger(__name__)

MINIMUM_STOP_GRACE_SECONDS = 2
"""What SIGTERM is given at least after a preStop that used up the grace period (the kubelet's)."""

POST_START_TIMEOUT_SECONDS = 120.0
"""How long a postStart may run before it counts as failed."""


class HookEventSink(Protocol):
    """Where hooks report their failures: the executor's PodEventSink (the engine's recorder)."""

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


async def clock_sleep(clock: Clock, seconds: float) -> None:
    """Wait `seconds` of the clock's time (a fake clock in tests moves it)."""
    if seconds <= 0:
        return
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    cancel = clock.call_at(clock.now() + seconds, wake)
    try:
        await woken
    finally:
        cancel()


def hook_failure_message(
    kind: HookKind, handler: LifecycleHandler, container: str, key: PodKey, uid: str, error: str
) -> str:
    """The kubelet's words: `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod
    "web_default(uid)" failed - error: ..., message: ""`."""
    if handler.exec is not None:
        what = f"Exec lifecycle hook ([{' '.join(handler.exec.command)}])"
    elif handler.http_get is not None:
        what = f"HTTP lifecycle hook ({handler.http_get.path})"
    else:
        what = f"{kind} sleep hook"
    pod = f"{key.name}_{key.namespace}({uid})"
    return f'{what} for Container "{container}" in Pod "{pod}" failed - error: {error}'


class HookRunner:
    """Runs the hooks of one engine's pods; `on_event` is the engine's pod event recorder."""

    def __init__(
        self,
        cache: ObservedCache,
        clock: Clock,
        on_event: HookEventSink,
        post_start_timeout: float = POST_START_TIMEOUT_SECONDS,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._on_event = on_event
        self._post_start_timeout = post_start_timeout
        self._post_starting: dict[ContainerId, float] = {}
        """Containers whose postStart runs now, and since when."""

    def gate(self, states: Mapping[str, ContainerProbeState]) -> dict[str, ContainerProbeState]:
        """The probes' verdicts per container id, with every container whose postStart still
        runs shown not started and not ready: the pod is not Ready before its hooks returned."""
        out = dict(states)
        for container_id, since in self._post_starting.items():
            out[container_id] = ContainerProbeState(ready=False, started=False, changed_at=since)
        return out

    async def run(
        self,
        runtime: ContainerRuntime,
        container_id: ContainerId,
        pod_ip: str,
        handler: LifecycleHandler,
        seconds: float,
    ) -> ProbeResult:
        """One run of `handler`, bounded by `seconds`; a failure is a result, an engine that
        cannot be reached raises."""
        action = handler.action
        if isinstance(action, SleepAction):
            await clock_sleep(self._clock, min(float(action.seconds), seconds))
            return ProbeResult(True)
        if action is None:
            return ProbeResult(True)
        return await runtime.run_probe(container_id, pod_ip, action, seconds)

    async def post_start(
        self,
        key: PodKey,
        runtime: ContainerRuntime,
        container_id: ContainerId,
        handler: LifecycleHandler,
        grace_seconds: int,
    ) -> bool:
        """Run a started container's postStart; on failure stop it (preStop first) and say so.
        True when the hook passed (or the container is not Podyard's to judge any more)."""
        observed = self._cache.get(runtime.node, container_id)
        if observed is None or observed.state is not RunState.RUNNING:
            return True  # exited at once: the restart policy handles it, no hook to run
        self._post_starting[container_id] = self._clock.now()
        try:
            result = await self.run(
                runtime, container_id, self.pod_ip(key, observed), handler, self._post_start_timeout
            )
        except RuntimeFailure as failure:
            result = ProbeResult(False, str(failure))
        finally:
            self._post_starting.pop(container_id, None)
        if result.success or not await self._still_running(runtime, container_id):
            return True  # it ended by itself meanwhile: a crash for the restart policy
        name = observed.identity.container_name
        uid = observed.identity.pod.uid
        message = hook_failure_message(
            HookKind.POST_START, handler, name, key, uid, result.message or "failed"
        )
        self._event(key, observed, EventType.WARNING, "FailedPostStartHook", message)
        self._event(
            key,
            observed,
            EventType.NORMAL,
            "Killing",
            f"Container {name} failed postStart hook, will be restarted",
        )
        await self.stop(key, runtime, container_id, grace_seconds)
        return False

    async def stop(
        self, key: PodKey, runtime: ContainerRuntime, container_id: ContainerId, grace_seconds: int
    ) -> None:
        """Stop a container: its preStop first (if it runs and has one), within the grace period;
        SIGTERM gets what is left, at least MINIMUM_STOP_GRACE_SECONDS."""
        observed = self._cache.get(runtime.node, container_id)
        grace = grace_seconds
        if (
            observed is not None
            and observed.pre_stop is not None
            and observed.state is RunState.RUNNING
            and grace_seconds > 0
        ):
            began = self._clock.now()
            await self._pre_stop(key, runtime, observed, observed.pre_stop, grace_seconds)
            used = self._clock.now() - began
            grace = max(MINIMUM_STOP_GRACE_SECONDS, int(grace_seconds - used))
        await runtime.stop_container(container_id, grace)

    async def _pre_stop(
        self,
        key: PodKey,
        runtime: ContainerRuntime,
        observed: ObservedContainer,
        handler: LifecycleHandler,
        grace_seconds: int,
    ) -> None:
        try:
            result = await self.run(
                runtime, observed.id, self.pod_ip(key, observed), handler, float(grace_seconds)
            )
        except RuntimeFailure as failure:
            result = ProbeResult(False, str(failure))
        if result.success or not await self._still_running(runtime, observed.id):
            return  # a container that ended meanwhile (a stale picture) is no failed hook
        name = observed.identity.container_name
        message = hook_failure_message(
            HookKind.PRE_STOP, handler, name, key, observed.identity.pod.uid, result.message
        )
        log.info("%s/%s: %s", key.namespace, key.name, message)
        self._event(key, observed, EventType.WARNING, "FailedPreStopHook", message)

    async def _still_running(self, runtime: ContainerRuntime, container_id: ContainerId) -> bool:
        try:
            now = await runtime.inspect_container(container_id)
        except RuntimeFailure:
            return True  # cannot tell: report the failure as it came
        if now is not None:
            self._cache.upsert(now)
        return now is not None and now.state is RunState.RUNNING

    def pod_ip(self, key: PodKey, container: ObservedContainer) -> str:
        """The IP of the sandbox `container` joined (a running one of its pod), or ""."""
        sandboxes = [
            c
            for c in self._cache.containers_for(key)
            if c.is_sandbox and c.identity.pod.uid == container.identity.pod.uid and c.ip
        ]
        joined = [
            c for c in sandboxes if c.identity.sandbox_attempt == container.identity.sandbox_attempt
        ]
        for candidate in (*joined, *sandboxes):
            if candidate.state is RunState.RUNNING and candidate.ip:
                return candidate.ip
        return ""

    def _event(
        self, key: PodKey, observed: ObservedContainer, type: EventType, reason: str, message: str
    ) -> None:
        self._on_event(
            key, type, reason, message, uid=observed.identity.pod.uid, node=observed.node
        )
