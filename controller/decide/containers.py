"""Pod spec -> Docker-neutral container configs: the sandbox and the containers that join it.

Docker names follow the kubelet's pattern (`podyard_<container>_<pod>_<namespace>_<uid>_<attempt>`),
so a create retried after a crash collides by name instead of making a second container, and users
can read `docker ps` at a glance.

Pod-level resources (`spec.resources`) are the sandbox's limits, and every config of such a pod
says `pod_cgroup`, so the runtime creates the pod's containers inside the sandbox's cgroup (and
refuses them where the node cannot; see runtime.dockercgroups).
"""

from __future__ import annotations

import attrs

from controller.decide.securitycontext import container_security, sandbox_security
from controller.model import labels
from controller.model.claims import docker_volume_name
from controller.model.desired import DesiredPod
from controller.model.lifecycle import LifecycleHandler, handler_to_label
from controller.model.meta import PodRef
from controller.model.observed import (
    DEFAULT_HOST_IP,
    SANDBOX_CONTAINER_NAME,
    ContainerIdentity,
    ContainerRole,
    HostPort,
)
from controller.model.plan import PROJECTED, ContainerConfig, EnvSpec, MountSpec, PortBinding
from controller.model.pod import Container, PodSpec, PullPolicy, StorageMedium

VOLUME_KEEPALIVE_DIR = "/podyard/volumes"
"""Where the sandbox mounts the pod's emptyDirs: it holds tmpfs volumes mounted while the pod lives."""


SANDBOX_STOP_GRACE = 2
"""catatonit -P exits at once on SIGTERM; a short grace only covers a busy engine."""


def docker_name(pod: PodRef, container_name: str, attempt: int) -> str:
    return f"podyard_{container_name}_{pod.name}_{pod.namespace}_{pod.uid}_{attempt}"


def volume_docker_name(pod: PodRef, volume_name: str) -> str:
    return f"podyard_{pod.uid}_{volume_name}"


def pod_hostname(desired: DesiredPod) -> str:
    """spec.hostname, else the pod name cut to a DNS label, as Kubernetes does."""
    return desired.pod.spec.hostname or desired.pod.metadata.name[:63].rstrip("-.")


def _identity(
    desired: DesiredPod,
    pod: PodRef,
    created_at: float,
    name: str,
    role: ContainerRole,
    attempt: int,
    sandbox_attempt: int,
    backoff_seconds: float = 0.0,
) -> ContainerIdentity:
    spec_hash = (
        desired.spec_hash
        if role is ContainerRole.SANDBOX
        else desired.container_hashes.get(name, desired.spec_hash)
    )
    return ContainerIdentity(
        pod=pod,
        container_name=name,
        role=role,
        attempt=attempt,
        spec_hash=spec_hash,
        pod_spec_hash=desired.spec_hash,
        pod_created_at=created_at,
        backoff_seconds=backoff_seconds,
        owner=desired.owner,
        sandbox_attempt=sandbox_attempt,
        grace_seconds=desired.pod.spec.termination_grace_period_seconds,
    )


def pod_host_ports(desired: DesiredPod) -> tuple[HostPort, ...]:
    """The host ports the pod's sandbox will bind (hostIP defaults to loopback)."""
    return tuple(
        sorted(
            {
                HostPort(port.host_ip or DEFAULT_HOST_IP, port.host_port, port.protocol.value)
                for container in desired.pod.spec.all_containers()
                for port in container.ports
                if port.host_port
            }
        )
    )


def sandbox_config(
    desired: DesiredPod,
    pod: PodRef,
    created_at: float,
    attempt: int,
    pause_image: str,
    backoff_seconds: float = 0.0,
) -> ContainerConfig:
    """The pause container; `backoff_seconds` is the wait that preceded it, kept as a label so
    the next sandbox's backoff is computed from the engine's record after a restart."""
    spec = desired.pod.spec
    ports = tuple(
        PortBinding(
            container_port=port.container_port,
            host_port=port.host_port,
            host_ip=port.host_ip or DEFAULT_HOST_IP,
            protocol=port.protocol,
        )
        for container in spec.all_containers()
        for port in container.ports
        if port.host_port
    )
    keepalive = tuple(
        MountSpec("volume", volume_docker_name(pod, v.name), f"{VOLUME_KEEPALIVE_DIR}/{v.name}")
        for v in spec.volumes
        if v.empty_dir is not None
    )
    memory, cpu, cpu_request = _pod_limits(spec)
    return ContainerConfig(
        docker_name=docker_name(pod, SANDBOX_CONTAINER_NAME, attempt),
        identity=_identity(
            desired,
            pod,
            created_at,
            SANDBOX_CONTAINER_NAME,
            ContainerRole.SANDBOX,
            attempt,
            attempt,
            backoff_seconds,
        ),
        image=pause_image,
        pull_policy=PullPolicy.IF_NOT_PRESENT,
        hostname=pod_hostname(desired),
        ports=ports,
        mounts=keepalive,
        memory_limit_bytes=memory,
        cpu_limit_millis=cpu,
        cpu_request_millis=cpu_request,
        pod_cgroup=spec.resources is not None,
        stop_grace_seconds=SANDBOX_STOP_GRACE,
        security=sandbox_security(spec),
        extra_labels={
            # written even when empty: a sandbox without it is read as an older one whose ports
            # come from its manifest
            labels.POD_HOST_PORTS: labels.host_ports_label(pod_host_ports(desired)),
            **{
                key: value
                for key, value in (
                    (labels.POD_MANIFEST, desired.manifest),
                    (labels.POD_SOURCE, desired.source),
                )
                if value
            },
        },
    )


def _pod_limits(spec: PodSpec) -> tuple[int | None, int | None, int | None]:
    """(memory bytes, cpu millis, cpu request millis) the sandbox carries for the whole pod: its
    pod-level limits, and shares from the pod's cpu request (as scheduling counts it, so the pod
    weighs against its neighbours what it asked for). Nothing for a pod without `spec.resources`:
    its containers are bounded one by one."""
    if spec.resources is None:
        return None, None, None
    limits, requests = spec.resources.limits, spec.effective_requests()
    return (
        limits.memory.whole() if limits.memory else None,
        limits.cpu.millis() if limits.cpu else None,
        requests.cpu.millis() if requests.cpu else None,
    )


def projection_folder(pod: PodRef, volume_name: str) -> str:
    """Where a pod instance's configMap or secret volume lives, below the projection folder."""
    return f"{pod.uid}/{volume_name}"


def _mounts(desired: DesiredPod, pod: PodRef, container: Container) -> tuple[MountSpec, ...]:
    mounts = []
    for mount in container.volume_mounts:
        volume = desired.pod.spec.volume(mount.name)
        if volume is None:  # refused by validation; skip defensively rather than crash
            continue
        claim = volume.persistent_volume_claim
        read_only = mount.read_only or (claim is not None and claim.read_only)
        if volume.host_path is not None:
            source, kind = volume.host_path.path, "bind"
        elif volume.config_map is not None or volume.secret is not None:
            # files Podyard writes on the engine's host, read-only as the kubelet mounts them
            mounts.append(
                MountSpec(
                    PROJECTED,
                    projection_folder(pod, volume.name),
                    mount.mount_path,
                    True,
                    mount.sub_path,
                    mount.name,
                )
            )
            continue
        elif claim is not None:
            source, kind = docker_volume_name(pod.namespace, claim.claim_name), "volume"
        else:
            source, kind = volume_docker_name(pod, volume.name), "volume"
        mounts.append(
            MountSpec(
                kind,
                source,
                mount.mount_path,
                read_only,
                mount.sub_path,
                mount.name,
                f"{pod.namespace}/{claim.claim_name}" if claim is not None else "",
            )
        )
    return tuple(mounts)


def container_role(spec: PodSpec, container: Container) -> ContainerRole:
    """What a container of the pod is, as its label records it (so teardown knows without the
    manifest which containers are sidecars to stop last)."""
    if container not in spec.init_containers:
        return ContainerRole.APP
    return ContainerRole.SIDECAR if container.is_sidecar else ContainerRole.INIT


def _init_index(spec: PodSpec, container: Container) -> int:
    names = [c.name for c in spec.init_containers]
    return names.index(container.name) if container.name in names else -1


def app_config(
    desired: DesiredPod,
    pod: PodRef,
    created_at: float,
    container: Container,
    attempt: int,
    sandbox_attempt: int,
    backoff_seconds: float,
) -> ContainerConfig:
    limits = container.resources.limits
    requests = container.resources.effective_requests()
    env = EnvSpec(container.env, container.env_from)
    return ContainerConfig(
        docker_name=docker_name(pod, container.name, attempt),
        identity=attrs.evolve(
            _identity(
                desired,
                pod,
                created_at,
                container.name,
                container_role(desired.pod.spec, container),
                attempt,
                sandbox_attempt,
                backoff_seconds,
            ),
            init_index=_init_index(desired.pod.spec, container),
        ),
        image=container.image,
        pull_policy=container.pull_policy(),
        entrypoint=container.command or None,
        command=container.args or None,
        env=env.literal() or (),
        env_spec=None if env.literal() is not None else env,
        working_dir=container.working_dir,
        join_sandbox=docker_name(pod, SANDBOX_CONTAINER_NAME, sandbox_attempt),
        share_pid=desired.pod.spec.share_process_namespace,
        mounts=_mounts(desired, pod, container),
        memory_limit_bytes=limits.memory.whole() if limits.memory else None,
        cpu_limit_millis=limits.cpu.millis() if limits.cpu else None,
        cpu_request_millis=requests.cpu.millis() if requests.cpu else None,
        pod_cgroup=desired.pod.spec.resources is not None,
        stop_grace_seconds=desired.pod.spec.termination_grace_period_seconds,
        post_start=_post_start(container),
        extra_labels=_pre_stop_label(container),
        security=container_security(desired.pod.spec, container),
    )


def _named_ports(container: Container) -> dict[str, int]:
    return {p.name: p.container_port for p in container.ports if p.name}


def _post_start(container: Container) -> LifecycleHandler | None:
    """The postStart the executor runs after the start, a named port resolved."""
    if container.lifecycle is None or container.lifecycle.post_start is None:
        return None
    return container.lifecycle.post_start.with_port_resolved(_named_ports(container))


def _pre_stop_label(container: Container) -> dict[str, str]:
    """The preStop as a label (see model.lifecycle): every stop finds it on the container."""
    if container.lifecycle is None or container.lifecycle.pre_stop is None:
        return {}
    handler = container.lifecycle.pre_stop.with_port_resolved(_named_ports(container))
    return {labels.PRE_STOP: handler_to_label(handler)}


def memory_volume_size(desired: DesiredPod, volume_name: str) -> tuple[bool, int | None]:
    """(is tmpfs, size in bytes): Memory-medium emptyDirs are tmpfs capped at sizeLimit."""
    volume = desired.pod.spec.volume(volume_name)
    if volume is None or volume.empty_dir is None:
        return False, None
    if volume.empty_dir.medium is not StorageMedium.MEMORY:
        return False, None
    limit = volume.empty_dir.size_limit
    return True, limit.whole() if limit else None
