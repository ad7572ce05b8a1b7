"""The pod reconciler: key -> frozen snapshots -> decide -> executor -> an explicit outcome.

Outcomes, as controller-runtime's reconcileHandler spells them:
- `Outcome.requeue_now`: the plan changed the engine; decide again at once (level-triggered).
- `Outcome.after(s)`: nothing to do now; look again in s seconds (a backoff timer is running).
- `Outcome.done()`: converged; forget the key's failure count.
- PlanAborted / RuntimeFailure propagate to the worker, which retries with a rate limit (or, for a
  user error such as a bad image, lets the recorded note pace the retry).

It also renders status views for the API, from the same snapshots and the same pure functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping

import attrs

from controller.config import BackoffSettings, ImagePullSettings
from controller.decide.instance import Instance, group_instances
from controller.decide.nodelost import LostNode, lost_pod_status
from controller.decide.podinputs import PodInputs
from controller.decide.pods import compute_pod_plan
from controller.decide.status import compute_pod_status
from controller.engine.claims import ClaimBook
from controller.engine.deletions import DeletionBook
from controller.engine.executor import Executor, PodEventSink
from controller.engine.nodeinfo import NodeInfoBuilder
from controller.engine.nodes import NodeRegistry
from controller.engine.placement import AssumedPods, UnschedulablePods
from controller.engine.ports import Clock, MetricsSink, NoMetrics
from controller.engine.stores import DesiredStore, NoteBook, ObservedCache, ProtectedSources
from controller.model.claims import ClaimFacts
from controller.model.desired import DesiredPod
from controller.model.events import EventType
from controller.model.meta import NodeName, ObjectMeta, PodKey, PodUid
from controller.model.observed import ContainerRole, ObservedContainer
from controller.model.plan import Plan, PlanReason, RemoveContainer, StopContainers
from controller.model.pod import Container, Pod, PodSpec
from controller.model.probes import ContainerProbeState
from controller.model.status import PodView
from controller.model.telemetry import RescheduleReason


@attrs.frozen
class Outcome:
    requeue_after: float | None
    changed: bool = False

    @classmethod
    def requeue_now(cls) -> Outcome:
        return cls(0.0, changed=True)

    @classmethod
    def after(cls, seconds: float) -> Outcome:
        return cls(seconds)

    @classmethod
    def done(cls) -> Outcome:
        return cls(None)


PROTECTED_RECHECK_SECONDS = 5.0
"""How often a pod kept for a broken manifest is looked at again (the folder also requeues)."""


def new_pod_uid() -> PodUid:
    return PodUid(str(uuid.uuid4()))


class PodReconciler:
    def __init__(
        self,
        desired: DesiredStore,
        cache: ObservedCache,
        notes: NoteBook,
        nodes: NodeRegistry,
        executor: Executor,
        clock: Clock,
        pause_images: Mapping[NodeName, str],
        backoff: BackoffSettings,
        image_pull: ImagePullSettings,
        uid_factory: Callable[[], PodUid] = new_pod_uid,
        metrics: MetricsSink | None = None,
        probes: Callable[[], Mapping[str, ContainerProbeState]] = dict,
        on_event: PodEventSink | None = None,
        requeue: Callable[[PodKey], None] | None = None,
    ) -> None:
        self._requeue = requeue
        self._probes = probes
        self._on_event = on_event
        self._desired = desired
        self._metrics: MetricsSink = metrics or NoMetrics()
        self._cache = cache
        self._notes = notes
        self._nodes = nodes
        self._executor = executor
        self._clock = clock
        self._pause_images = pause_images
        self._backoff = backoff
        self._image_pull = image_pull
        self._uid_factory = uid_factory
        self.protected = ProtectedSources()
        self.assumed = AssumedPods()
        self.claims = ClaimBook()
        self.deletions = DeletionBook()
        """Deletes asked through the API (see engine.deletions), read by each decision."""
        """The folder's PersistentVolumeClaims and the nodes holding their volumes."""
        self._node_infos = NodeInfoBuilder(nodes, cache, desired, self.assumed)
        self.node_lost: Callable[[NodeName | None, DesiredPod | None], LostNode | None] = (
            lambda node, desired: None
        )
        """What a pod's status must say of its node while the node is lost (nodelifecycle)."""
        self.unschedulable = UnschedulablePods()
        self.settled = False
        """Both sides known: every node listed and the folder applied against the pods found
        running. Before, no pod is touched (see decide.pods: knowledge before action)."""

    def inputs(self, key: PodKey) -> PodInputs:
        desired = self._desired.get(key)
        containers = self._cache.containers_for(key)
        volumes = self._cache.volumes_for(key)
        placing = desired is not None and not containers and not volumes
        return PodInputs(
            key=key,
            desired=desired,
            containers=containers,
            volumes=volumes,
            nodes=self._node_infos.build() if placing else (),  # only a new pod is placed
            notes=self._notes.for_key(key),
            now=self._clock.now(),
            new_uid=self._uid_factory(),
            pause_images=self._pause_images,
            backoff=self._backoff,
            image_pull=self._image_pull,
            known_nodes=self._nodes.known() if self.settled else frozenset(),
            may_create=self.settled and self._nodes.all_listed(),
            unlisted_nodes=self._nodes.written_off(),
            draining_nodes=self._nodes.draining(),
            probes=self._probes(),
            claims=self.claims.facts(desired) if placing else ClaimFacts(),
            deletion=self.deletions.current(key, containers),
        )

    async def reconcile(self, key: PodKey) -> Outcome:
        inputs = self.inputs(key)
        if inputs.desired is None and self.protected.covers(inputs.containers):
            return Outcome.after(PROTECTED_RECHECK_SECONDS)  # its manifest is broken: keep it
        plan = compute_pod_plan(inputs)
        self._scheduling_verdict(key, plan.unschedulable)
        if plan.empty:
            if inputs.desired is None and not inputs.containers and not inputs.volumes:
                self._notes.drop(key)
            if plan.requeue_after is not None:
                return Outcome.after(plan.requeue_after)
            return Outcome.done()
        assumed = self.assumed.assume_for(plan, inputs.desired)  # before any await: see placement
        self.claims.note_placed(plan)  # bound now: see engine.claims
        try:
            await self._executor.apply(plan)
        finally:
            self.claims.note_applied(plan, self._clock.now())
            if assumed:  # its sandbox is in the cache now, or creating it failed
                self.assumed.forget(key)
            if _frees_room(plan, inputs.containers):
                self._retry_unschedulable()
        if PlanReason.REPLACE_POD in plan.reasons and _other_version(inputs):
            self._metrics.pod_rescheduled(RescheduleReason.SPEC_CHANGED)
        return Outcome.requeue_now()

    def _retry_unschedulable(self) -> None:
        """A pod stopped or went, freeing its requests and host ports: pods no node could take
        are tried again now, the longest waiting first (kube-scheduler moves them back to its
        active queue the same way)."""
        if self._requeue is not None:
            for waiting in self.unschedulable.waiting():
                self._requeue(waiting)

    def _scheduling_verdict(self, key: PodKey, message: str) -> None:
        """Kubernetes' FailedScheduling, once per new reason (the retries are silent)."""
        if self.unschedulable.update(key, message) and self._on_event is not None:
            self._on_event(key, EventType.WARNING, "FailedScheduling", message)

    def views(self, keys: Iterable[PodKey] | None = None) -> list[PodView]:
        """Every pod the API should show (or those of `keys`): declared ones, and undeclared ones
        still terminating."""
        now = self._clock.now()
        probes = self._probes()
        views = []
        wanted = self._desired.keys() | self._cache.keys() if keys is None else set(keys)
        for key in sorted(wanted):
            desired = self._desired.get(key)
            instances = group_instances(self._cache.containers_for(key))
            current = self._current(desired, instances)
            shown = desired or _undeclared(key, current)
            if shown is None:
                continue
            node = current.node if current else None
            status = self._nodes.get(node) if node else None
            pod_status = compute_pod_status(
                shown,
                current,
                self._notes.for_key(key),
                now,
                status.host_ip if status else None,
                self._backoff,
                self._image_pull,
                probes,
                "" if current else self.unschedulable.get(key),
            )
            lost = self.node_lost(node, desired)
            if lost is not None:
                pod_status = lost_pod_status(pod_status, key.name, lost)
            deletion = self.deletions.get(key)
            if deletion is not None and (current is None or current.ref.uid != deletion.uid):
                deletion = None
            views.append(
                PodView(
                    pod=shown.pod,
                    ref=current.ref if current else None,
                    node=node,
                    status=pod_status,
                    created_at=current.created_at if current else None,
                    deleting=desired is None or deletion is not None,
                    owner=shown.owner or _observed_owner(current),
                    deletion_at=deletion.requested_at + deletion.grace_seconds
                    if deletion
                    else None,
                    deletion_grace_seconds=deletion.grace_seconds if deletion else None,
                )
            )
        return views

    @staticmethod
    def _current(desired: DesiredPod | None, instances: list[Instance]) -> Instance | None:
        if not instances:
            return None
        if desired is not None:
            matching = [i for i in instances if i.spec_hash == desired.spec_hash]
            return matching[-1] if matching else None
        return instances[-1]


def _other_version(inputs: PodInputs) -> bool:
    """The pod torn down ran another version of the spec (not a duplicate of the current one left
    by a crash mid-create)."""
    if inputs.desired is None:
        return False
    return any(
        c.identity.pod_spec_hash != inputs.desired.spec_hash
        for c in inputs.containers
        if c.identity.role is ContainerRole.SANDBOX
    )


def _frees_room(plan: Plan, containers: Iterable[ObservedContainer]) -> bool:
    """The plan stopped or removed a sandbox: its pod is finished or going, and takes no room."""
    sandboxes = {c.id for c in containers if c.is_sandbox}
    for action in plan.actions:
        if isinstance(action, StopContainers) and sandboxes.intersection(action.container_ids):
            return True
        if isinstance(action, RemoveContainer) and action.container_id in sandboxes:
            return True
    return False


def _observed_owner(instance: Instance | None) -> str:
    if instance is None:
        return ""
    return next((c.identity.owner for c in instance.all_containers()), "")


def _undeclared(key: PodKey, instance: Instance | None) -> DesiredPod | None:
    """A stand-in spec for a pod whose manifest is gone but whose containers still terminate."""
    if instance is None or not instance.apps:
        return None
    containers = tuple(
        Container(name=name, image=lineage[-1].image)
        for name, lineage in sorted(instance.apps.items())
    )
    pod = Pod(ObjectMeta(name=key.name, namespace=key.namespace), PodSpec(containers=containers))
    return DesiredPod(pod, instance.spec_hash, {})
