"""The Deployment controller: rolls a template out through the ReplicaSets it declares.

A Deployment owns ReplicaSets named `<deployment>-<pod-template-hash>`; it declares them to the
ReplicaSet controller (owner `Deployment/<name>`) and changes their replicas, step by step, as the
pure `compute_deployment_plan` says (RollingUpdate bounds, Recreate, history, progress deadline).
Each time one of its ReplicaSets' status changes, it looks again.

Its ReplicaSets live in memory only; their pods are on the engine, labelled with their owner and
`pod-template-hash`, and carry their manifest. After a restart, `recover` rebuilds each Deployment's
ReplicaSets from those pods (template from the pod, replicas = pods alive, revisions in creation
order) before any sync runs, so a rollout in progress continues where it stood.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

import attrs

from controller.decide.deployments.plan import (
    new_replicaset,
    revised_replicaset,
    scaled_replicaset,
)
from controller.decide.deployments.sync import compute_deployment_plan
from controller.decide.replicasets import compute_replicaset_status
from controller.engine.events import EventRecorder
from controller.engine.ports import Clock, MetricsSink
from controller.engine.replicasets import (
    DeclaredReplicaSet,
    ReplicaSetController,
    object_uid,
    rs_key,
)
from controller.engine.stores import DesiredStore, ObservedCache
from controller.engine.workqueue import WorkQueue
from controller.model.events import EventType, ObjectReference
from controller.model.meta import ObjectKey
from controller.model.pod import Pod
from controller.model.telemetry import ControllerName
from controller.model.workload_status import (
    POD_TEMPLATE_HASH_LABEL,
    DeploymentStatus,
    DeploymentView,
    OwnedReplicaSet,
    OwnerRef,
    ProgressState,
)
from controller.model.workloads import Deployment, PodTemplateSpec, ReplicaSet, TemplateMeta
from controller.serde import template_hash, workload_spec_hash

log = logging.getLogger(__name__)

KIND = "Deployment"


@attrs.frozen
class DeclaredDeployment:
    deployment: Deployment
    source: str
    generation: int
    spec_hash: str
    uid: str
    created_at: float = 0.0

    @property
    def owner(self) -> str:
        return str(OwnerRef(KIND, self.deployment.metadata.name))


def deployment_key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey(KIND, namespace, name)


class DeploymentController:
    def __init__(
        self,
        replicasets: ReplicaSetController,
        desired: DesiredStore,
        cache: ObservedCache,
        clock: Clock,
        events: EventRecorder | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._replicasets = replicasets
        self.events = events if events is not None else replicasets.events
        self._desired = desired
        self._cache = cache
        self._clock = clock
        self.queue: WorkQueue[ObjectKey] = WorkQueue(
            clock, name=ControllerName.DEPLOYMENT, metrics=metrics
        )
        self.declared: dict[ObjectKey, DeclaredDeployment] = {}
        self.status: dict[ObjectKey, DeploymentStatus] = {}
        self.revision: dict[ObjectKey, int] = {}
        self._progress: dict[ObjectKey, ProgressState] = {}
        replicasets.on_synced = self._replicaset_synced

    def set_declared(self, items: Iterable[tuple[Deployment, str]]) -> None:
        new: dict[ObjectKey, DeclaredDeployment] = {}
        for deployment, source in items:
            key = deployment_key(deployment.metadata.namespace, deployment.metadata.name)
            held = self.declared.get(key)
            spec_hash = workload_spec_hash(deployment)
            generation = 1 if held is None else held.generation + (held.spec_hash != spec_hash)
            created_at = self._clock.now() if held is None else held.created_at
            new[key] = DeclaredDeployment(
                deployment, source, generation, spec_hash, object_uid(key), created_at
            )
        for key in self.declared.keys() | new.keys():
            if self.declared.get(key) != new.get(key):
                self.queue.add(key)
        self.declared = new

    def _replicaset_synced(self, entry: DeclaredReplicaSet) -> None:
        ref = OwnerRef.parse(entry.owner) if entry.owner else None
        if ref is not None and ref.kind == KIND:
            self.queue.add(deployment_key(entry.rs.metadata.namespace, ref.name))

    def recover(self) -> None:
        """After a restart: rebuild each declared Deployment's ReplicaSets from their pods."""
        for key, entry in self.declared.items():
            recovered = self._recover_one(key, entry)
            if recovered:
                self._replicasets.set_declared(entry.owner, recovered)
                log.info(
                    "%s: recovered ReplicaSets %s", key, [rs.metadata.name for rs, _ in recovered]
                )

    def _recover_one(
        self, key: ObjectKey, entry: DeclaredDeployment
    ) -> list[tuple[ReplicaSet, str]]:
        prefix = f"{entry.deployment.metadata.name}-"
        by_rs: dict[str, list[tuple[float, Pod]]] = defaultdict(list)
        for desired in self._desired.all():
            ref = OwnerRef.parse(desired.owner) if desired.owner else None
            meta = desired.pod.metadata
            if ref is None or ref.kind != "ReplicaSet" or meta.namespace != key.namespace:
                continue
            if not ref.name.startswith(prefix) or POD_TEMPLATE_HASH_LABEL not in meta.labels:
                continue
            created = min(
                (c.identity.pod_created_at for c in self._cache.containers_for(desired.key)),
                default=0.0,
            )
            by_rs[ref.name].append((created, desired.pod))
        recovered: list[tuple[ReplicaSet, str]] = []
        ordered = sorted(by_rs.items(), key=lambda item: min(t for t, _ in item[1]))
        for revision, (name, pods) in enumerate(ordered, start=1):
            pod = pods[0][1]
            labels = dict(pod.metadata.labels)
            pod_hash = labels.pop(POD_TEMPLATE_HASH_LABEL)
            template = PodTemplateSpec(
                TemplateMeta(labels=labels, annotations=dict(pod.metadata.annotations)), pod.spec
            )
            old = attrs.evolve(
                entry.deployment, spec=attrs.evolve(entry.deployment.spec, template=template)
            )
            rs = new_replicaset(old, pod_hash, len(pods), revision).replica_set
            if rs.metadata.name == name:
                recovered.append((rs, entry.source))
        return recovered

    async def reconcile(self, key: ObjectKey) -> float | None:
        entry = self.declared.get(key)
        owner = str(OwnerRef(KIND, key.name))
        if entry is None:
            self._replicasets.set_declared(owner, [])  # cascades to their pods
            for store in (self.status, self.revision, self._progress):
                store.pop(key, None)
            return None
        now = self._clock.now()
        owned = {
            e.rs.metadata.name: e
            for e in self._replicasets.declared.values()
            if e.owner == owner and e.rs.metadata.namespace == key.namespace
        }
        replicasets = [
            OwnedReplicaSet.from_replicaset(
                e.rs,
                compute_replicaset_status(
                    e.rs,
                    rs_key(key.namespace, name),
                    self._replicasets.owned_pods(rs_key(key.namespace, name)),
                    now,
                    generation=e.generation,
                ),
                e.created_at,
            )
            for name, e in owned.items()
        ]
        plan = compute_deployment_plan(
            entry.deployment,
            key,
            replicasets,
            template_hash(entry.deployment.spec.template),
            now,
            self._progress.get(key),
            generation=entry.generation,
        )
        self.status[key] = plan.status
        self.revision[key] = plan.revision
        self._progress[key] = plan.progress
        if not plan.acted:
            return plan.requeue_after
        current = {name: e.rs for name, e in owned.items()}
        if plan.create_replicaset is not None:
            new = plan.create_replicaset.replica_set
            current[new.metadata.name] = new
            if new.spec.replicas:
                self._scaled(key, new.metadata.name, 0, new.spec.replicas)
            log.info(
                "%s: new ReplicaSet %s (revision %d)",
                key,
                new.metadata.name,
                plan.create_replicaset.revision,
            )
        if plan.set_revision is not None:
            name, revision = plan.set_revision
            current[name] = revised_replicaset(current[name], revision)
        for name, replicas in plan.scale:
            if name in current:
                was = current[name].spec.replicas
                current[name] = scaled_replicaset(current[name], replicas, plan)
                self._scaled(key, name, was, current[name].spec.replicas)
        for name in plan.delete_replicasets:
            current.pop(name, None)
        self._replicasets.set_declared(owner, [(rs, entry.source) for rs in current.values()])
        return 0.0

    def _scaled(self, key: ObjectKey, replicaset: str, was: int, now: int) -> None:
        """Kubernetes' ScalingReplicaSet: `Scaled up replica set web-5d8f to 3`."""
        if was == now:
            return
        direction = "up" if now > was else "down"
        obj = ObjectReference(KIND, key.namespace, key.name, object_uid(key))
        message = f"Scaled {direction} replica set {replicaset} to {now}"
        self.events.record(obj, EventType.NORMAL, "ScalingReplicaSet", message)

    def views(self) -> list[DeploymentView]:
        return [
            DeploymentView(
                deployment=entry.deployment,
                status=self.status.get(key, DeploymentStatus()),
                uid=entry.uid,
                generation=entry.generation,
                revision=self.revision.get(key, 0),
                source=entry.source,
                created_at=entry.created_at or None,
            )
            for key, entry in sorted(self.declared.items())
        ]
