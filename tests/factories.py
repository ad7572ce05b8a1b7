"""Small builders for pods in tests, so each test states only what it is about."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs

from controller.model.desired import DesiredPod
from controller.model.meta import ObjectMeta
from controller.model.nodes import NodeResources, NodeView
from controller.model.placement import Taint
from controller.model.pod import (
    Container,
    EmptyDirVolumeSource,
    Pod,
    PodSpec,
    RestartPolicy,
    Volume,
    VolumeMount,
)

IMAGE = "localhost/podyard-busybox:1"


def container(name: str = "app", *command: str, image: str = IMAGE, **fields: object) -> Container:
    return Container(name=name, image=image, command=tuple(command), **fields)  # type: ignore[arg-type]


def pod(
    name: str = "web",
    containers: Sequence[Container] | None = None,
    *,
    namespace: str = "default",
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS,
    grace: int = 30,
    volumes: Sequence[Volume] = (),
    share_pid: bool = False,
) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=PodSpec(
            containers=tuple(containers or (container(),)),
            restart_policy=restart_policy,
            termination_grace_period_seconds=grace,
            volumes=tuple(volumes),
            share_process_namespace=share_pid,
        ),
    )


def scratch_volume(name: str = "scratch") -> Volume:
    return Volume(name=name, empty_dir=EmptyDirVolumeSource())


def mount(name: str = "scratch", path: str = "/scratch") -> VolumeMount:
    return VolumeMount(name=name, mount_path=path)


def _hash(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def desired(p: Pod) -> DesiredPod:
    """DesiredPod with stable test hashes (the product computes them with serde)."""
    return DesiredPod(
        pod=p,
        spec_hash=_hash(p.spec),
        container_hashes={c.name: _hash(c) for c in p.spec.containers},
    )


def with_restart_policy(p: Pod, policy: RestartPolicy) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, restart_policy=policy))


def metrics_node(
    name: str, ready: bool | None, host_ip: str, taints: tuple[Taint, ...] = ()
) -> NodeView:
    """A node as the API and the metrics read it: 2 cores, 4 GiB, 110 pods, created at 1.7e9."""
    resources = NodeResources(cpu_millis=2000, memory_bytes=4 << 30, pods=110)
    return NodeView(
        name=name,
        uid=f"uid-{name}",
        created_at=1_700_000_000.0,
        host_ip=host_ip,
        ready=ready,
        taints=taints,
        capacity=resources,
        allocatable=resources,
    )
