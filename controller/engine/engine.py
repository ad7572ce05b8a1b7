"""The engine: queue, pod workers, per-node watchers and the pod reconciler, wired together.

Start-up order matters for recovery: every node is relisted once *before* any worker runs, so the
first decision about a pod already sees the containers a previous controller left behind, and never
creates a duplicate. Knowledge before action: each node that becomes known (its first good relist,
or the first after it was unreachable) has its ReplicaSet pods restored from their sandboxes; once
every node was listed, the pods found running go to `on_baseline` (the folder compares its first
reading with them) and `settle()` (called back once the folder was applied against them) recovers
Deployments and lets pods and workloads act. A node that answers late thus never reads as empty.
Shutdown cancels tasks and closes runtimes but leaves every container running, as a kubelet restart
does.

Each pod key is synced by a task of its own (`podworkers`); calls to each engine share that node's
slots (`slots`). Every long-running loop runs under the `Supervisor`, which restarts it if it dies;
the steps after a pod's reconcile (start tracking, probes, its ReplicaSet, back-off events) are each
guarded, so one failing is counted and retried and ends nothing. `health` and `readiness` are what
`/healthz` and `/readyz` report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from controller.config import (
    BackoffSettings,
    EngineSettings,
    HealthSettings,
    ImagePullSettings,
    NodeLifecycleSettings,
    NodeSettings,
    RuntimeSettings,
    SupervisionSettings,
)
from controller.engine.backoffevents import BackoffEvents
from controller.engine.baseline import running_baseline
from controller.engine.changesignal import ChangeSignal
from controller.engine.configstore import ConfigStore, readers
from controller.engine.configvolumes import ConfigVolumes
from controller.engine.deletions import PodDeleter
from controller.engine.deployments import DeploymentController
from controller.engine.events import EventRecorder
from controller.engine.executor import Executor, PlanAborted
from controller.engine.health import HealthChecks, LoopLagMonitor, sync_checks
from controller.engine.metered import MeteredRuntime
from controller.engine.nodelifecycle import NodeLifecycle
from controller.engine.nodes import NodeRegistry
from controller.engine.pleg import NodeWatcher
from controller.engine.podstart import PodStartTracker
from controller.engine.podworkers import PodWorkers
from controller.engine.ports import Clock, ContainerRuntime, MetricsSink, NoMetrics
from controller.engine.prober import Prober
from controller.engine.reconciler import PodReconciler, new_pod_uid
from controller.engine.renewalgate import RenewalGate
from controller.engine.replicasets import ReplicaSetController
from controller.engine.slots import SlottedRuntime
from controller.engine.stores import DesiredStore, NoteBook, ObservedCache
from controller.engine.tasks import Supervisor, cancel_all, spawn
from controller.engine.workqueue import QueueShutDown, WorkQueue
from controller.model.claims import PersistentVolumeClaim
from controller.model.configdata import ConfigMap, Secret
from controller.model.desired import DesiredPod
from controller.model.errors import RuntimeFailure
from controller.model.events import EventType, ObjectReference
from controller.model.health import HealthCheck
from controller.model.manifests import RunningObject
from controller.model.meta import NodeName, ObjectKey, PodKey, PodUid
from controller.model.status import PodView, WaitingReason
from controller.model.telemetry import ControllerName, ReconcileResult
from controller.model.workloads import Deployment, ReplicaSet

log = logging.getLogger(__name__)

WORKLOAD_WORKERS = 2
"""ReplicaSet syncs at once: they only touch memory, so two keep up with any folder."""

POD_WORKERS_TASK = "pod-workers"
"""Task name under which errors of the steps after a pod's reconcile are counted."""

MAX_CHANGING_PASSES = 25
"""Consecutive passes that changed the engine before a key is slowed down: a guard against a plan
that never converges (a bug), so it cannot spin a core."""


class Engine:
    def __init__(
        self,
        runtimes: Mapping[NodeName, ContainerRuntime],
        clock: Clock,
        *,
        host_ips: Mapping[NodeName, str] | None = None,
        node_settings: Mapping[NodeName, NodeSettings] | None = None,
        engine: EngineSettings | None = None,
        runtime: RuntimeSettings | None = None,
        backoff: BackoffSettings | None = None,
        image_pull: ImagePullSettings | None = None,
        uid_factory: Callable[[], PodUid] = new_pod_uid,
        metrics: MetricsSink | None = None,
        events: EventRecorder | None = None,
        health: HealthSettings | None = None,
        supervision: SupervisionSettings | None = None,
        node_lifecycle: NodeLifecycleSettings | None = None,
        renewal_gates: Mapping[NodeName, RenewalGate] | None = None,
    ) -> None:
        self.settings = engine or EngineSettings()
        self.metrics: MetricsSink = metrics or NoMetrics()
        self.runtime_settings = runtime or RuntimeSettings()
        self.clock = clock
        self.runtimes = dict(runtimes)
        self.supervisor = Supervisor(clock, self.metrics, supervision)
        self.slotted = {
            node: SlottedRuntime(
                MeteredRuntime(r, self.metrics),
                self.runtime_settings.calls_per_node,
                self.runtime_settings.call_timeout_seconds,
                (renewal_gates or {}).get(node),
            )
            for node, r in self.runtimes.items()
        }
        metered: dict[NodeName, ContainerRuntime] = dict(self.slotted)
        self.desired = DesiredStore(clock.now)
        self.cache = ObservedCache()
        self.notes = NoteBook()
        self.nodes = NodeRegistry(
            {
                n: (node_settings or {}).get(n) or (host_ips or {}).get(n, "127.0.0.1")
                for n in self.runtimes
            }
        )
        self.queue: WorkQueue[PodKey] = WorkQueue(
            clock,
            self.settings.retry_initial_seconds,
            self.settings.retry_max_seconds,
            name=ControllerName.POD,
            metrics=self.metrics,
        )
        self.pause_images: dict[NodeName, str] = dict.fromkeys(
            self.runtimes, self.runtime_settings.pause_image
        )
        self.events = events if events is not None else EventRecorder(clock)
        self.prober = Prober(
            metered,
            self.desired,
            self.cache,
            clock,
            self.queue.add,
            self._pod_event,
            self.metrics,
            on_error=self.supervisor.error,
        )
        self.configs = ConfigStore()
        self.config_volumes = ConfigVolumes(
            self.runtime_settings.config_volume_dir,
            self.desired,
            self.cache,
            self.configs.lookups,
            self.nodes,
        )
        self.executor = Executor(
            metered,
            self.cache,
            self.notes,
            clock,
            self._pod_event,
            metrics=self.metrics,
            configs=self.configs.lookups,
            volumes=self.config_volumes,
            host_ip=self._host_ip,
        )
        self.reconciler = PodReconciler(
            self.desired,
            self.cache,
            self.notes,
            self.nodes,
            self.executor,
            clock,
            self.pause_images,
            backoff or BackoffSettings(),
            image_pull or ImagePullSettings(),
            uid_factory,
            metrics=self.metrics,
            probes=lambda: self.executor.hooks.gate(self.prober.states()),
            on_event=self._pod_event,
            requeue=self.queue.add,
        )
        self.watchers = [
            NodeWatcher(
                r,
                self.cache,
                self.nodes,
                self.queue.add,
                self.runtime_settings,
                clock,
                self._requeue_all,
                self.events,
                metrics=self.metrics,
                on_known=self.on_node_known,
                on_error=self.supervisor.error,
                claims=self.reconciler.claims,
                read_elsewhere=self.executor.reads_itself,
            )
            for r in metered.values()
        ]
        self.replicasets = ReplicaSetController(
            self.desired,
            self.cache,
            self.reconciler.views,
            self.queue.add,
            clock,
            failed_pods_kept=self.settings.failed_pods_kept,
            events=self.events,
            metrics=self.metrics,
        )
        self.deployments = DeploymentController(
            self.replicasets,
            self.desired,
            self.cache,
            clock,
            events=self.events,
            metrics=self.metrics,
        )
        self.lifecycle = NodeLifecycle(
            self.nodes,
            self.cache,
            self.desired,
            clock,
            node_lifecycle or NodeLifecycleSettings(),
            evict=self.replicasets.evict,
            forget=self.replicasets.forget,
            requeue=self.queue.add,
            requeue_all=self._requeue_all,
            events=self.events,
        )
        self.reconciler.node_lost = self.lifecycle.lost
        self.changes = ChangeSignal()
        """What the API's views read has changed (see `changesignal`)."""
        self.queue.on_change = self.changes.pod
        self.replicasets.queue.on_change = lambda key: self.changes.objects()
        self.deployments.queue.on_change = lambda key: self.changes.objects()
        self.nodes.on_change(self.changes.objects)
        self.events.on_record = self.changes.events
        self.deleter = PodDeleter(
            self.reconciler.deletions,
            self.desired,
            self.reconciler.views,
            self.replicasets.evict,
            self.queue.add,
            clock,
            self.metrics,
            interrupt=lambda key: self.pod_workers.interrupt(key),
        )
        """Deletes asked through the API (see engine.deletions)."""
        self.lifecycle.on_written_off = self._knowledge_changed
        self.starts = PodStartTracker(self.desired, self.cache, clock, self.metrics)
        self.replicasets.protected = self.reconciler.protected
        self._changing: dict[PodKey, int] = {}
        self.backoff_events = BackoffEvents(
            self.reconciler.views, self.notes.for_key, self._pod_event
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.on_baseline: Callable[[tuple[RunningObject, ...]], None] | None = None
        """Given the pods found running once every node was listed; whoever takes it calls
        `settle()` when the folder was applied against them. None: settle at once."""
        self._baseline_taken = False
        self._settled = asyncio.Event()
        self.pod_workers = PodWorkers(self.queue, self._sync_pod)
        self._step_failures: dict[PodKey, int] = {}
        """Per pod, syncs in a row in which a step after the reconcile failed (paces the retry)."""
        self._step_failed: set[PodKey] = set()
        self.lag = LoopLagMonitor((health or HealthSettings()).loop_lag_interval_seconds)
        self.health = HealthChecks(
            health or HealthSettings(),
            clock.now,
            lambda: [(w.runtime.node, w.last_relisted_at) for w in self.watchers],
            self.supervisor.failing,
            self.lag.lag,
        )
        self._initial: set[PodKey] | None = None
        """Pod keys known at start not synced yet; None before start."""
        self._synced = False
        self._pods_counted_at = float("-inf")
        self.reconciles_total = 0
        self.reconcile_errors_total = 0

    async def start(self) -> None:
        self.lifecycle.started_at = self.clock.now()
        prepared = await asyncio.gather(*(self._prepare_node(w) for w in self.watchers))
        await asyncio.gather(*(w.relist() for w in self.watchers))
        self.health.started_at = self.clock.now()
        supervise = self.supervisor.supervise
        for watcher, ready in zip(self.watchers, prepared, strict=True):
            node = watcher.runtime.node
            if not ready:
                self._tasks.append(
                    spawn(f"prepare:{node}", self._prepare_until_ready(watcher), forever=False)
                )
            supervise(watcher.relist_task, watcher.relist_forever)
            supervise(watcher.events_task, watcher.watch_events)
        self.metrics.workers(ControllerName.REPLICASET, WORKLOAD_WORKERS)
        self.metrics.workers(ControllerName.DEPLOYMENT, 1)
        self.supervisor.declare(POD_WORKERS_TASK)
        self.supervisor.declare("prober")
        supervise("pod-dispatcher", self.pod_workers.dispatch)
        for number in range(WORKLOAD_WORKERS):
            supervise(
                f"replicaset-worker:{number}",
                lambda: self._workload_worker(self.replicasets.queue, self.replicasets.reconcile),
            )
        supervise(
            "deployment-worker",
            lambda: self._workload_worker(self.deployments.queue, self.deployments.reconcile),
        )
        supervise("loop-lag", self.lag.run)
        supervise("node-lifecycle", self.lifecycle.run)
        supervise("config-volume-sweep", self.config_volumes.sweep_forever)
        keys = self.desired.keys() | self.cache.keys()
        self._initial = set(keys)
        self._pod_count_changed()
        for key in keys:
            self.queue.add(key)

    def on_node_known(self, node: NodeName) -> None:
        """A node's first good relist since start or since it was unreachable: its cache is the
        truth again. Runs inside the relist, before any worker sees the new picture."""
        self.lifecycle.node_known(node)  # what was replaced meanwhile goes first
        self.replicasets.restore_owned_pods()  # idempotent: only pods not desired yet
        self._knowledge_changed()

    def _knowledge_changed(self) -> None:
        """A node became known or was written off: act on what may be acted on now."""
        if self._settled.is_set():
            self._requeue_all()  # pods held for want of this node act now
            return
        if self._baseline_taken or not self.nodes.all_listed():
            return
        self._baseline_taken = True
        running = running_baseline(self.cache)
        log.info("every node listed: %d folder object(s) have pods running", len(running))
        if self.on_baseline is None:
            self.settle()
        else:
            self.on_baseline(running)

    @property
    def settled(self) -> bool:
        """True once the engine acts: every node listed, the folder applied against them."""
        return self._settled.is_set()

    def settle(self) -> None:
        """Both sides are known (every node listed, the folder applied against the pods found
        running): rebuild Deployments' ReplicaSets from their pods, then let everything act."""
        if self._settled.is_set() or not self.nodes.all_listed():
            return
        self.replicasets.restore_owned_pods()
        self.deployments.recover()
        self.reconciler.settled = True
        self._settled.set()
        self._requeue_all()
        for rs in self.replicasets.declared:
            self.replicasets.queue.add(rs)
        for deployment in self.deployments.declared:
            self.deployments.queue.add(deployment)

    async def _prepare_node(self, watcher: NodeWatcher) -> bool:
        """Resolve the node's sandbox image; False while the node's engine cannot be reached."""
        node = watcher.runtime.node
        try:
            image = await watcher.runtime.prepare_pause_image(self.runtime_settings.pause_image)
            self.nodes.set_capacity(node, await watcher.runtime.capacity())
        except RuntimeFailure as failure:
            log.error("node %s: cannot prepare the pause image: %s", node, failure)
            watcher.prepared = False
            return False
        self.pause_images[node] = image
        watcher.prepared = True
        return True

    async def _prepare_until_ready(self, watcher: NodeWatcher) -> None:
        """A node that was down at start gets its sandbox image once it answers again."""
        while not await self._prepare_node(watcher):  # noqa: ASYNC110 - polling an engine, not an event
            await asyncio.sleep(self.runtime_settings.relist_interval_seconds)
        await watcher.relist()

    async def stop(self) -> None:
        self.prober.stop()
        await self.supervisor.stop()  # first: loops ending on a shut-down queue stay ended
        self.queue.shut_down()
        self.replicasets.queue.shut_down()
        self.deployments.queue.shut_down()
        await self.pod_workers.stop()
        await cancel_all(self._tasks)
        self._tasks.clear()
        for runtime in self.runtimes.values():
            await runtime.close()

    def _requeue_all(self) -> None:
        for key in self.desired.keys() | self.cache.keys():
            self.queue.add(key)

    def set_desired(self, pods: Iterable[DesiredPod]) -> None:
        """The folder's bare pods; pods that controllers own are kept."""
        for key in self.desired.replace_owned("", pods):
            self.queue.add(key)

    def set_configs(self, objects: Iterable[ConfigMap | Secret]) -> None:
        """The folder's ConfigMaps and Secrets; the pods that read a changed one are synced
        again at once (a pod waiting for a missing key is not held by its retry pacing)."""
        changed = self.configs.replace_all(objects)
        if changed:
            self.changes.objects()
        keys = readers(self.desired.all(), changed)
        self.config_volumes.changed(keys)  # their files are rewritten at the next sync
        for key in keys:
            self.notes.clear_reason(key, WaitingReason.CREATE_CONTAINER_CONFIG_ERROR.value)
            self.queue.add(key)

    def _host_ip(self, node: NodeName) -> str:
        """The downward API's status.hostIP: the node's address from the nodes settings."""
        status = self.nodes.get(node)
        return status.host_ip if status is not None else ""

    def pod_views(self) -> list[PodView]:
        return self.reconciler.views()

    def in_flight(self) -> dict[str, list[float]]:
        """Per work queue, when each item being processed now was taken (for the stuck-worker
        gauges, read at scrape time)."""
        return {
            ControllerName.POD: self.queue.in_flight(),
            ControllerName.REPLICASET: self.replicasets.queue.in_flight(),
            ControllerName.DEPLOYMENT: self.deployments.queue.in_flight(),
        }

    def idle(self) -> bool:
        return len(self.queue) == 0 and self.queue.processing == 0

    def liveness(self) -> list[HealthCheck]:
        """`/healthz`'s checks (see `health`)."""
        return self.health.liveness()

    def readiness(self) -> list[HealthCheck]:
        """`/readyz`'s checks beyond liveness: the first full sync, until it has happened."""
        if self._synced:
            return sync_checks(True, [], 0)
        written_off = self.nodes.written_off()  # acted without: no longer awaited
        never = [
            w.runtime.node
            for w in self.watchers
            if w.last_relisted_at is None and w.runtime.node not in written_off
        ]
        if self._initial is not None and not self._initial and not never and self.settled:
            self._synced = True
        checks = sync_checks(self._initial is not None, never, len(self._initial or ()))
        if self._initial is not None and not self.settled:  # knowledge before action
            waiting = "every node to be listed" if never else "the folder applied to what runs"
            checks.append(HealthCheck("settled", f"waiting for {waiting}"))
        return checks

    def _pod_count_changed(self) -> None:
        """Each pod has its own worker: the most reconciles at once is the number of pods.

        Counting the pods walks every container, so it is done at most once a second."""
        now = time.monotonic()
        if now - self._pods_counted_at < 1.0:
            return
        self._pods_counted_at = now
        self.metrics.workers(ControllerName.POD, len(self.desired.keys() | self.cache.keys()))

    async def _sync_pod(self, key: PodKey) -> None:
        """One pod worker's run: reconcile `key`, then the steps that follow a reconcile."""
        self.metrics.reconcile_started(ControllerName.POD)
        self._pod_count_changed()
        started = time.monotonic()
        result = ReconcileResult.ERROR
        try:
            result = await self._process(key)
        finally:
            self.metrics.reconciled(ControllerName.POD, result, time.monotonic() - started)
        await self.config_volumes.refresh(key)
        self._step("pod start tracking", self.starts.check, key)
        self._step("probe sync", self.prober.sync, key)
        self._step("ReplicaSet notice", self.replicasets.pod_changed, key)
        if key in self._step_failed:
            self._step_failed.discard(key)
            failures = self._step_failures.get(key, 0)
            self._step_failures[key] = failures + 1
            retry = self.settings.retry_initial_seconds * 2.0**failures
            self.queue.add_after(key, min(retry, self.settings.retry_max_seconds))
        else:
            self._step_failures.pop(key, None)
        if self._initial:
            self._initial.discard(key)

    def _step(self, what: str, step: Callable[[PodKey], object], key: PodKey) -> None:
        """Run one step after a reconcile; a failure is counted and the pod synced again later
        (at a doubling pace), and never ends the pod's worker or anything else."""
        try:
            step(key)
        except Exception as exc:
            self._step_failed.add(key)
            self.supervisor.error(POD_WORKERS_TASK, f"{what} of {key.namespace}/{key.name}", exc)

    async def _workload_worker(
        self,
        queue: WorkQueue[ObjectKey],
        reconcile: Callable[[ObjectKey], Awaitable[float | None]],
    ) -> None:
        """ReplicaSets and Deployments: sync, then look again when asked or on error.

        None syncs before `settle()`: a ReplicaSet counting pods on a node not listed yet would
        create replacements for pods that run, then delete one of each pair."""
        await self._settled.wait()
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            self.metrics.reconcile_started(queue.name)
            started = time.monotonic()
            result = ReconcileResult.ERROR
            try:
                again = await reconcile(key)
            except Exception:
                delay = queue.add_rate_limited(key)
                log.exception("sync of %s failed (retry in %.2fs)", key, delay)
            else:
                queue.forget(key)
                result = ReconcileResult.SUCCESS
                if again is not None:
                    queue.add_after(key, again)
                    result = ReconcileResult.REQUEUE_AFTER
            finally:
                self.metrics.reconciled(queue.name, result, time.monotonic() - started)
                queue.done(key)

    def set_protected_sources(self, files: Iterable[str]) -> None:
        """Manifest files that are broken or held: pods behind them are kept whatever happens."""
        protected = frozenset(files)
        if protected != self.reconciler.protected.files:
            self.reconciler.protected.files = protected
            self._requeue_all()
            for key in self.replicasets.status:
                self.replicasets.queue.add(key)

    def set_deployments(self, items: Iterable[tuple[Deployment, str]]) -> None:
        """The folder's Deployments, each with the file it came from."""
        self.deployments.set_declared(items)

    def set_claims(self, claims: Iterable[PersistentVolumeClaim]) -> None:
        """The folder's PersistentVolumeClaims (a pod naming a missing one waits unscheduled)."""
        self.reconciler.claims.set_declared(claims, self.clock.now())
        self.changes.objects()

    def set_replicasets(self, items: Iterable[tuple[ReplicaSet, str]]) -> None:
        """The folder's ReplicaSets, each with the file it came from."""
        self.replicasets.set_declared("", items)

    async def _process(self, key: PodKey) -> ReconcileResult:
        """One reconcile of a pod key, and what controller-runtime would call its result.

        A user error (a bad image, a refused config) is not the controller's error: the pod's own
        status says it, so it counts as a requeue and does not feed the reconcile-error alert.
        """
        self.reconciles_total += 1
        try:
            outcome = await self.reconciler.reconcile(key)
        except PlanAborted as aborted:
            self._changing.pop(key, None)
            if aborted.stale:
                log.debug("%s", aborted)
                self.queue.add_rate_limited(key)  # quick, yet never a hot loop
                return ReconcileResult.REQUEUE
            if aborted.user_error:
                log.warning("%s", aborted)
                self.queue.add(key)  # the recorded note paces the retry; decide waits it out
                return ReconcileResult.REQUEUE
            self.reconcile_errors_total += 1
            delay = self.queue.add_rate_limited(key)
            log.warning("%s (retry in %.2fs)", aborted, delay)
            return ReconcileResult.ERROR
        except Exception:
            self.reconcile_errors_total += 1
            delay = self.queue.add_rate_limited(key)
            log.exception("reconcile of %s failed (retry in %.2fs)", key, delay)
            return ReconcileResult.ERROR
        if outcome.changed:
            passes = self._changing.get(key, 0) + 1
            self._changing[key] = passes
            if passes > MAX_CHANGING_PASSES:
                delay = self.queue.add_rate_limited(key)
                log.error(
                    "%s did not converge after %d passes; slowing to %.1fs", key, passes, delay
                )
            else:
                self.queue.add(key)
            return ReconcileResult.REQUEUE
        self._changing.pop(key, None)
        self.queue.forget(key)
        if outcome.requeue_after is not None:
            self.queue.add_after(key, outcome.requeue_after)
            self._step("back-off events", self.backoff_events.report, key)
            return ReconcileResult.REQUEUE_AFTER
        self.backoff_events.forget(key)
        return ReconcileResult.SUCCESS

    def _pod_event(
        self,
        key: PodKey,
        type: EventType,
        reason: str,
        message: str,
        *,
        uid: str = "",
        node: NodeName | None = None,
    ) -> None:
        obj = ObjectReference("Pod", key.namespace, key.name, uid)
        self.events.record(obj, type, reason, message, host=node or "")
